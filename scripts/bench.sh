#!/usr/bin/env bash
# make bench: runs every benchmarks/*.py against throwaway PostgreSQL and Redis on loopback.
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/venv.sh"
source "$REPO_ROOT/scripts/services.sh"
cd "$REPO_ROOT"

shopt -s nullglob
# Files starting with _ are helpers the benchmarks run, not benchmarks themselves.
benchmarks=(benchmarks/[!_]*.py)
# BENCH=accrual_run (or several, space-separated) runs just those.
if [ -n "${BENCH:-}" ]; then
    benchmarks=()
    for name in $BENCH; do
        benchmarks+=("benchmarks/${name%.py}.py")
    done
fi
shopt -u nullglob
if [ "${#benchmarks[@]}" -eq 0 ]; then
    echo "no benchmarks yet"
    exit 0
fi

trap stop_services EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

ensure_venv
ensure_system_packages postgresql redis
start_services

export DJANGO_SETTINGS_MODULE=config.settings.test
# Let benchmark scripts `import config` and the apps when run as plain files.
export PYTHONPATH="$REPO_ROOT${PYTHONPATH:+:$PYTHONPATH}"

section "migrating the benchmark database"
"$VENV_PY" manage.py migrate --noinput

failed=()
for bench in "${benchmarks[@]}"; do
    section "benchmark $bench"
    start=$SECONDS
    if "$VENV_PY" "$bench"; then
        echo "   $bench finished in $((SECONDS - start))s"
    else
        echo "   $bench FAILED after $((SECONDS - start))s" >&2
        failed+=("$bench")
    fi
done

if [ "${#failed[@]}" -gt 0 ]; then
    echo "ERROR: failed benchmarks: ${failed[*]}" >&2
    exit 1
fi
