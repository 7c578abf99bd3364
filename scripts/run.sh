#!/usr/bin/env bash
# make run: the whole app on embedded defaults, demo data loaded and accrued.
# PostgreSQL: Debian's server (installed when missing) with its data kept under var/postgres, so the data
# survives a restart; the broker: kombu's filesystem transport under var/broker (no server).
# Starts the web server on 127.0.0.1:8000 and one Celery worker with embedded beat.
# Ctrl-C (or SIGTERM) stops everything, PostgreSQL included.
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/venv.sh"
source "$REPO_ROOT/scripts/services.sh"
cd "$REPO_ROOT"

HOST=127.0.0.1
PORT=8000
URL="http://$HOST:$PORT/"
DEMO_LOGINS="$REPO_ROOT/var/demo_logins.txt"
READY_TIMEOUT="${READY_TIMEOUT:-60}"
RUN_PG_PORT="${RUN_PG_PORT:-54329}"
export DJANGO_SETTINGS_MODULE=config.settings.local

pids=()

# Each service runs in its own process group (setsid), so we can stop it with all its children.
start_service() {
    local name="$1"
    shift
    setsid "$@" &
    pids+=($!)
    echo "   started $name (pid $!)"
}

stopping=0
stop_all() {
    [ "$stopping" -eq 0 ] || return 0
    stopping=1
    [ "${#pids[@]}" -gt 0 ] || { stop_local_postgres; return 0; }
    section "stopping the web server and the Celery worker"
    local pid
    # The leaders first: Celery's main process stops its own pool children in a warm shutdown.
    for pid in "${pids[@]}"; do
        kill -TERM "$pid" 2>/dev/null || true
    done
    # Give Celery a moment for its warm shutdown, then make sure nothing is left.
    local deadline=$((SECONDS + 15))
    for pid in "${pids[@]}"; do
        while kill -0 -- "-$pid" 2>/dev/null && [ "$SECONDS" -lt "$deadline" ]; do
            sleep 0.2
        done
        kill -KILL -- "-$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    stop_local_postgres
    echo "== stopped"
}
trap stop_all EXIT
trap 'exit 0' INT TERM

port_in_use() {
    "$VENV_PY" - "$HOST" "$PORT" <<'PY'
import socket, sys
with socket.socket() as s:
    sys.exit(0 if s.connect_ex((sys.argv[1], int(sys.argv[2]))) == 0 else 1)
PY
}

# Any HTTP answer (even 404 or a redirect to the login page) means the server is up.
web_is_up() {
    "$VENV_PY" - "$URL" <<'PY'
import sys, urllib.error, urllib.request
try:
    urllib.request.urlopen(sys.argv[1], timeout=2)
except urllib.error.HTTPError:
    pass
except OSError:
    sys.exit(1)
PY
}

ensure_venv
mkdir -p var/broker
ensure_system_packages postgresql
if [ -z "${DATABASE_URL:-}" ]; then
    start_local_postgres "$RUN_PG_PORT"
fi
echo "   DATABASE_URL=$DATABASE_URL"

section "migrate"
"$VENV_PY" manage.py migrate --noinput

section "collectstatic"
"$VENV_PY" manage.py collectstatic --noinput

section "load_demo"
"$VENV_PY" manage.py load_demo | tee "$DEMO_LOGINS"

if port_in_use; then
    die "port $PORT on $HOST is already in use (is another 'make run' still running?)"
fi

section "starting the web server and the Celery worker (with beat)"
start_service "web server" "$VENV_PY" manage.py runserver "$HOST:$PORT" --noreload
start_service "celery worker" "$VENV_DIR/bin/celery" -A config.celery_app worker -B \
    --loglevel=INFO --concurrency=1 \
    --scheduler django_celery_beat.schedulers:DatabaseScheduler

deadline=$((SECONDS + READY_TIMEOUT))
until web_is_up; do
    for pid in "${pids[@]}"; do
        kill -0 "$pid" 2>/dev/null || die "a service exited during start-up (see its output above)"
    done
    [ "$SECONDS" -lt "$deadline" ] || die "the web server did not answer on $URL within ${READY_TIMEOUT}s"
    sleep 0.5
done

section "Rebate desk is running at $URL  (Ctrl-C stops everything)"
cat "$DEMO_LOGINS"
echo
echo "Open $URL"

# Stay up until Ctrl-C, or until one of the services dies (then stop the other one too).
status=0
wait -n "${pids[@]}" || status=$?
echo "ERROR: a service exited (status $status); stopping the rest." >&2
exit 1
