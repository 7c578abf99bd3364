#!/usr/bin/env bash
# Throwaway PostgreSQL and Redis on loopback for the test suite and the benchmarks.
#
# Source after venv.sh, then:
#   ensure_system_packages postgresql redis chromium   # apt-get only what is missing
#   trap stop_services EXIT
#   start_services                                      # exports DATABASE_URL, CELERY_BROKER_URL, REDIS_URL
#
# Everything lives in one temp directory that stop_services removes again.

SERVICES_DIR=""
PG_BIN=""
PG_DATA=""
PG_PORT=""
REDIS_PORT=""
REDIS_PID=""
SERVICE_START_TIMEOUT="${SERVICE_START_TIMEOUT:-30}"
DB_NAME="rebate"
DB_USER="rebate"

# Newest PostgreSQL server bin directory installed by Debian, empty if none.
find_pg_bin() {
    local dir
    dir="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)"
    if [ -n "$dir" ] && [ -x "$dir/initdb" ] && [ -x "$dir/pg_ctl" ]; then
        echo "$dir"
    fi
}

# Debian's multithreaded libfaketime, empty if not installed.
faketime_library() {
    ls /usr/lib/*/faketime/libfaketimeMT.so.1 2>/dev/null | head -1
}

# Args: any of postgresql, redis, chromium, faketime. Installs the missing ones from Debian's archive.
ensure_system_packages() {
    local missing=() want
    for want in "$@"; do
        case "$want" in
            postgresql) [ -n "$(find_pg_bin)" ] || missing+=(postgresql) ;;
            redis) { command -v redis-server && command -v redis-cli; } >/dev/null 2>&1 || missing+=(redis-server) ;;
            chromium) [ -x /usr/bin/chromium ] || missing+=(chromium) ;;
            faketime) [ -n "$(faketime_library)" ] || missing+=(faketime) ;;
            *) die "ensure_system_packages: unknown package '$want'" ;;
        esac
    done
    if [ "${#missing[@]}" -eq 0 ]; then
        echo "== system packages present: $*"
        return 0
    fi

    is_root || die "missing system packages: ${missing[*]}. Install them with: sudo apt-get install ${missing[*]}"
    command -v apt-get >/dev/null 2>&1 || die "missing system packages (${missing[*]}) and apt-get is not available"

    section "installing Debian packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update
    apt-get install -y --no-install-recommends "${missing[@]}"
}

# Prints a free TCP port on 127.0.0.1, the preferred one if it is free.
free_port() {
    "${VENV_PY:-python3}" - "$1" <<'PY'
import socket, sys

def try_bind(port):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return None
        return s.getsockname()[1]

print(try_bind(int(sys.argv[1])) or try_bind(0))
PY
}

# Runs a command as the postgres OS user when we are root (PostgreSQL refuses to run as root).
as_postgres() {
    if is_root; then
        # cd first: the caller's working directory may not be readable by postgres (e.g. under /root).
        (cd "${PG_WORKDIR:-$SERVICES_DIR}" && runuser -u postgres -- "$@")
    else
        "$@"
    fi
}

# Polls a command until it succeeds; dies with a message after SERVICE_START_TIMEOUT seconds.
wait_until() {
    local what="$1" logfile="$2"
    shift 2
    local deadline=$((SECONDS + SERVICE_START_TIMEOUT))
    until "$@" >/dev/null 2>&1; do
        if [ "$SECONDS" -ge "$deadline" ]; then
            echo "ERROR: $what did not become ready within ${SERVICE_START_TIMEOUT}s. Last lines of $logfile:" >&2
            tail -n 30 "$logfile" >&2 || true
            exit 1
        fi
        sleep 0.2
    done
}

start_postgres() {
    PG_BIN="$(find_pg_bin)"
    [ -n "$PG_BIN" ] || die "PostgreSQL server binaries not found under /usr/lib/postgresql/*/bin"
    local version
    version="$(basename "$(dirname "$PG_BIN")")"
    PG_PORT="$(free_port 0)"  # any free port: runs side by side never race for one
    PG_DATA="$SERVICES_DIR/pgdata"

    if is_root && ! id postgres >/dev/null 2>&1; then
        echo "== creating the postgres OS user"
        useradd --system --user-group --no-create-home --home-dir /var/lib/postgresql --shell /bin/sh postgres
    fi
    is_root && chown postgres: "$SERVICES_DIR"

    section "starting PostgreSQL $version on 127.0.0.1:$PG_PORT"
    as_postgres "$PG_BIN/initdb" --pgdata="$PG_DATA" --username=postgres --auth=trust \
        --encoding=UTF8 --locale=C --no-sync >"$SERVICES_DIR/initdb.log" 2>&1 ||
        { cat "$SERVICES_DIR/initdb.log" >&2; die "initdb failed"; }
    cat >>"$PG_DATA/postgresql.conf" <<EOF

# throwaway test cluster: loopback only, durability off for speed
listen_addresses = '127.0.0.1'
port = $PG_PORT
unix_socket_directories = '$SERVICES_DIR'
fsync = off
full_page_writes = off
synchronous_commit = off
EOF
    # pg_ctl puts the server in its own session, so Ctrl-C does not reach it: stop_services stops it.
    as_postgres "$PG_BIN/pg_ctl" --pgdata="$PG_DATA" --log="$SERVICES_DIR/postgres.log" start >/dev/null
    wait_until "PostgreSQL" "$SERVICES_DIR/postgres.log" \
        "$PG_BIN/pg_isready" --host=127.0.0.1 --port="$PG_PORT" --username=postgres

    local psql=("$PG_BIN/psql" --no-psqlrc --quiet --set=ON_ERROR_STOP=1 --host=127.0.0.1 --port="$PG_PORT" --username=postgres --dbname=postgres)
    # Superuser so the test runner can create and drop the test database.
    "${psql[@]}" --command="CREATE ROLE $DB_USER LOGIN SUPERUSER" \
        --command="CREATE DATABASE $DB_NAME OWNER $DB_USER"
    export DATABASE_URL="postgres://$DB_USER@127.0.0.1:$PG_PORT/$DB_NAME"
    echo "   DATABASE_URL=$DATABASE_URL"
}

# The PostgreSQL that `make run` keeps between runs: Debian's server with its data under var/postgres (or,
# when the postgres user cannot reach the checkout, under /var/lib/rebate-desk/ keyed by the checkout's path,
# with var/postgres pointing there). Starts it if it is not running, creates the role and database once, and
# exports DATABASE_URL. Args: the port. stop_local_postgres stops it again.
LOCAL_PG_DATA=""
LOCAL_PG_STARTED=""
PG_WORKDIR=""
start_local_postgres() {
    local port="$1" var="$REPO_ROOT/var/postgres"
    # An existing cluster runs on the major version that made it, not on a newer one installed since.
    if [ -f "$var/PG_VERSION" ] && [ -x "/usr/lib/postgresql/$(cat "$var/PG_VERSION")/bin/pg_ctl" ]; then
        PG_BIN="/usr/lib/postgresql/$(cat "$var/PG_VERSION")/bin"
    else
        PG_BIN="$(find_pg_bin)"
    fi
    [ -n "$PG_BIN" ] || die "PostgreSQL server binaries not found under /usr/lib/postgresql/*/bin"
    if is_root && ! id postgres >/dev/null 2>&1; then
        useradd --system --user-group --no-create-home --home-dir /var/lib/postgresql --shell /bin/sh postgres
    fi
    mkdir -p "$REPO_ROOT/var"
    if [ -L "$var" ] || ! is_root || runuser -u postgres -- test -x "$REPO_ROOT/var"; then
        LOCAL_PG_DATA="$var"
    else
        LOCAL_PG_DATA="/var/lib/rebate-desk/$(printf '%s' "$REPO_ROOT" | sha256sum | cut -c1-16)/postgres"
        ln -sfn "$LOCAL_PG_DATA" "$var"
    fi
    LOCAL_PG_DATA="$(readlink -f "$var" 2>/dev/null || echo "$LOCAL_PG_DATA")"
    mkdir -p "$LOCAL_PG_DATA"
    if is_root; then
        chown postgres: "$LOCAL_PG_DATA"
        chmod 700 "$LOCAL_PG_DATA"
    fi
    PG_WORKDIR="$(dirname "$LOCAL_PG_DATA")"  # as_postgres runs from here
    if [ ! -f "$LOCAL_PG_DATA/PG_VERSION" ]; then
        section "creating the PostgreSQL cluster in $var"
        as_postgres "$PG_BIN/initdb" --pgdata="$LOCAL_PG_DATA" --username=postgres --auth=trust \
            --encoding=UTF8 --locale=C >"$PG_WORKDIR/initdb.log" 2>&1 ||
            { cat "$PG_WORKDIR/initdb.log" >&2; die "initdb failed"; }
        cat >>"$LOCAL_PG_DATA/postgresql.conf" <<CONF

# make run's cluster: loopback only
listen_addresses = '127.0.0.1'
unix_socket_directories = ''
CONF
    fi
    local psql=("$PG_BIN/psql" --no-psqlrc --quiet --set=ON_ERROR_STOP=1 --host=127.0.0.1 --port="$port"
        --username=postgres --dbname=postgres)
    if as_postgres "$PG_BIN/pg_ctl" --pgdata="$LOCAL_PG_DATA" status >/dev/null 2>&1; then
        # Running already (another make run of this checkout): it must be on the port asked for.
        local running_port
        running_port="$(sed -n 4p "$LOCAL_PG_DATA/postmaster.pid" 2>/dev/null)"
        [ "$running_port" = "$port" ] ||
            die "this checkout's PostgreSQL runs on port $running_port, not $port: stop it or set RUN_PG_PORT=$running_port"
    else
        # Another server on the port would be another checkout's database: never use it by mistake.
        "$PG_BIN/pg_isready" --host=127.0.0.1 --port="$port" >/dev/null 2>&1 &&
            die "port $port is taken by another PostgreSQL (another checkout's 'make run'?); set RUN_PG_PORT"
        section "starting PostgreSQL $(basename "$(dirname "$PG_BIN")") on 127.0.0.1:$port (data in $var)"
        as_postgres "$PG_BIN/pg_ctl" --pgdata="$LOCAL_PG_DATA" --log="$LOCAL_PG_DATA/postgres.log" \
            -o "-p $port" start >/dev/null
        LOCAL_PG_STARTED=1
        wait_until "PostgreSQL" "$LOCAL_PG_DATA/postgres.log" \
            "$PG_BIN/pg_isready" --host=127.0.0.1 --port="$port" --username=postgres
    fi
    if [ -z "$("${psql[@]}" --tuples-only --command="SELECT 1 FROM pg_roles WHERE rolname = '$DB_USER'")" ]; then
        "${psql[@]}" --command="CREATE ROLE $DB_USER LOGIN CREATEDB"
    fi
    if [ -z "$("${psql[@]}" --tuples-only --command="SELECT 1 FROM pg_database WHERE datname = '$DB_NAME'")" ]; then
        "${psql[@]}" --command="CREATE DATABASE $DB_NAME OWNER $DB_USER"
    fi
    export DATABASE_URL="postgres://$DB_USER@127.0.0.1:$port/$DB_NAME"
}

# Stops the cluster only when start_local_postgres started it (not one another make run is using).
stop_local_postgres() {
    [ -n "$LOCAL_PG_STARTED" ] && [ -f "$LOCAL_PG_DATA/postmaster.pid" ] || return 0
    as_postgres "$PG_BIN/pg_ctl" --pgdata="$LOCAL_PG_DATA" --mode=fast --wait stop >/dev/null 2>&1 ||
        echo "warning: stopping PostgreSQL failed" >&2
    LOCAL_PG_DATA=""
    LOCAL_PG_STARTED=""
}

start_redis() {
    REDIS_PORT="$(free_port 0)"
    section "starting Redis $(redis-server --version | sed -n 's/.* v=\([^ ]*\).*/\1/p') on 127.0.0.1:$REDIS_PORT"
    redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no --daemonize no \
        --dir "$SERVICES_DIR" --logfile "$SERVICES_DIR/redis.log" &
    REDIS_PID=$!
    wait_until "Redis" "$SERVICES_DIR/redis.log" redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping
    export CELERY_BROKER_URL="redis://127.0.0.1:$REDIS_PORT/0"
    export REDIS_URL="$CELERY_BROKER_URL"
    echo "   CELERY_BROKER_URL=$CELERY_BROKER_URL"
}

start_services() {
    SERVICES_DIR="$(mktemp -d /tmp/rebate-services.XXXXXX)"
    chmod 755 "$SERVICES_DIR"
    start_postgres
    start_redis
}

# Safe to call more than once and after a partial start.
stop_services() {
    [ -n "$SERVICES_DIR" ] || return 0
    section "stopping PostgreSQL and Redis"
    if [ -n "$PG_DATA" ] && [ -f "$PG_DATA/postmaster.pid" ]; then
        as_postgres "$PG_BIN/pg_ctl" --pgdata="$PG_DATA" --mode=immediate --wait stop >/dev/null 2>&1 ||
            echo "warning: pg_ctl stop failed" >&2
    fi
    if [ -n "$REDIS_PID" ] && kill -0 "$REDIS_PID" 2>/dev/null; then
        kill "$REDIS_PID" 2>/dev/null || true
        wait "$REDIS_PID" 2>/dev/null || true
    fi
    rm -rf "$SERVICES_DIR"
    SERVICES_DIR=""
    REDIS_PID=""
}
