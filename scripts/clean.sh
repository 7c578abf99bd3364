#!/usr/bin/env bash
# make clean: stops make run's PostgreSQL if it runs, then deletes var/ (its data, wherever the link points)
# and the collected static files.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/venv.sh"
source "$REPO_ROOT/scripts/services.sh"
cd "$REPO_ROOT"

data="var/postgres"
if [ -f "$data/PG_VERSION" ]; then
    real="$(readlink -f "$data")"
    bin="/usr/lib/postgresql/$(cat "$data/PG_VERSION")/bin"
    if [ -f "$real/postmaster.pid" ] && [ -x "$bin/pg_ctl" ]; then
        PG_WORKDIR="$(dirname "$real")"
        as_postgres "$bin/pg_ctl" --pgdata="$real" --mode=fast --wait stop >/dev/null 2>&1 || true
    fi
    # Data kept outside the checkout (see docs/database.md) goes with the link to it.
    [ -L "$data" ] && rm -rf "$real"
fi
rm -rf var staticfiles
echo "== removed var/ and staticfiles/"
