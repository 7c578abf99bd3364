#!/usr/bin/env bash
# The browser tests' JavaScript tools (axe-core, pinned in package.json and package-lock.json), installed by npm
# from the registry into node_modules/. Offline-safe: nothing is fetched when the locked versions are there.
#
# Source it (after venv.sh) and call ensure_node_modules, or run it directly:  bash scripts/node.sh

NODE_MODULES_STAMP_NAME=".package-lock.sha256"

ensure_node_modules() {
    local root="${REPO_ROOT:?}" wanted stamp
    stamp="$root/node_modules/$NODE_MODULES_STAMP_NAME"
    wanted="$(sha256sum "$root/package-lock.json" | cut -d' ' -f1)"
    if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$wanted" ] && [ -f "$root/node_modules/axe-core/axe.min.js" ]; then
        echo "== node_modules is up to date with package-lock.json"
        return 0
    fi
    if ! command -v npm >/dev/null 2>&1; then
        is_root || die "npm is missing; install it with: sudo apt-get install npm"
        section "installing Debian packages: nodejs npm"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update
        apt-get install -y --no-install-recommends nodejs npm
    fi
    section "npm ci (package-lock.json)"
    (cd "$root" && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error)
    echo "$wanted" >"$stamp"
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    set -euo pipefail
    source "$(dirname "${BASH_SOURCE[0]}")/venv.sh"
    ensure_node_modules
fi
