#!/usr/bin/env bash
# make test: lint, then the pytest suite against throwaway PostgreSQL and Redis on loopback.
# Extra arguments are passed to pytest:  bash scripts/test.sh -k accrual
#
# TEST_FAKETIME='+400 days' moves the clock the tests (and what they start: workers, Chromium) see by that
# much, through Debian's libfaketime. PostgreSQL and Redis keep the machine's clock (Redis hangs under
# libfaketime); the suite never asks the database for the time. Any `date -d` offset works: '+45 days',
# '+1 year', '-3 months'.
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/venv.sh"
source "$REPO_ROOT/scripts/services.sh"
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
faketime=()
if [ -n "${TEST_FAKETIME:-}" ]; then
    ensure_system_packages faketime
    offset=$(($(date -d "$TEST_FAKETIME" +%s) - $(date +%s))) || die "TEST_FAKETIME='$TEST_FAKETIME' is no date offset"
    # A signed offset in seconds keeps every process the suite starts on the same shifted clock. Monotonic
    # clocks stay real: a timed wait in Python would otherwise wait for the shifted deadline (the browser
    # fixture lets Chromium have them shifted, as it hangs without).
    faketime=(env "LD_PRELOAD=$(faketime_library)" "FAKETIME=$(printf '%+d' "$offset")" FAKETIME_DONT_FAKE_MONOTONIC=1)
    echo "== TEST_FAKETIME='$TEST_FAKETIME': the tests' clock reads $(date -d "$TEST_FAKETIME" +%F)"
fi
start_services

export DJANGO_SETTINGS_MODULE=config.settings.test
export CHROMIUM_PATH=/usr/bin/chromium

section "pytest $*"
status=0
"${faketime[@]}" "$VENV_PY" -m pytest "$@" || status=$?
if [ "$status" -eq 5 ]; then
    echo "ERROR: pytest collected no tests (exit code 5); treating that as a failure." >&2
    status=1
fi
exit "$status"
