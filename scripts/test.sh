#!/usr/bin/env bash
# make test: lint, then the pytest suite against throwaway PostgreSQL and Redis on loopback.
# Extra arguments are passed to pytest:  bash scripts/test.sh -k accrual
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
