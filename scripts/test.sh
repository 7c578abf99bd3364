#!/usr/bin/env bash
# make test: lint, then the pytest suite against throwaway PostgreSQL and Redis on loopback.
# Extra arguments are passed to pytest:  bash scripts/test.sh -k accrual
#
# TEST_FAKETIME='+400 days' moves the clock the tests (and what they start: workers, Chromium) see by that
# much: the processes the tests start run under Debian's libfaketime, the pytest process shifts its own
# clock (see tests/conftest.py). PostgreSQL and Redis keep the machine's clock (Redis hangs under
# libfaketime); the suite never asks the database for the time. Any `date -d` offset works: '+45 days',
# '+1 year', '-3 months'.
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/venv.sh"
source "$REPO_ROOT/scripts/services.sh"
source "$REPO_ROOT/scripts/node.sh"
cd "$REPO_ROOT"

# Stop the services and remove their temp dir however we leave (error, Ctrl-C, kill).
trap stop_services EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

ensure_venv

# Lint first: it needs no services and fails fast.
section "ruff check ."
"$VENV_DIR/bin/ruff" check .

ensure_system_packages postgresql redis chromium
ensure_node_modules  # axe-core for the browser tests' accessibility checks
if [ -n "${TEST_FAKETIME:-}" ]; then
    ensure_system_packages faketime
    target="$(date -d "$TEST_FAKETIME" +%s)" || die "TEST_FAKETIME='$TEST_FAKETIME' is no date offset"
    offset=$((target - $(date +%s)))
    # tests/conftest.py shifts the pytest process's own clock by this many seconds and runs every process
    # the tests start (workers, commands, Chromium) under this libfaketime with the same offset.
    export TEST_FAKETIME_SECONDS="$offset" TEST_FAKETIME_LIBRARY="$(faketime_library)"
    echo "== TEST_FAKETIME='$TEST_FAKETIME': the tests' clock reads $(date -d "@$target" +%F)"
fi
start_services

export DJANGO_SETTINGS_MODULE=config.settings.test
export CHROMIUM_PATH=/usr/bin/chromium

section "pytest $*"
status=0
"$VENV_PY" -m pytest "$@" || status=$?
if [ "$status" -eq 5 ]; then
    echo "ERROR: pytest collected no tests (exit code 5); treating that as a failure." >&2
    status=1
fi
exit "$status"
