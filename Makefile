# Rebate desk developer commands. The logic lives in scripts/.
SHELL := /bin/bash

# Extra pytest arguments:  make test ARGS="-k accrual -x"
ARGS ?=

.PHONY: run test bench lint venv clean

run:
	bash scripts/run.sh

test:
	bash scripts/test.sh $(ARGS)

bench:
	BENCH="$(BENCH)" bash scripts/bench.sh

lint: venv
	.venv/bin/ruff check .

venv:
	bash scripts/venv.sh

clean:
	bash scripts/clean.sh
