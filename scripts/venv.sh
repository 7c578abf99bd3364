#!/usr/bin/env bash
# Shared helpers: repository root, logging, and the project virtualenv.
#
# Source it from the other scripts:  source "$(dirname "$0")/venv.sh"
# Or run it directly to just create/update .venv:  bash scripts/venv.sh

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV_DIR="$REPO_ROOT/.venv"
VENV_PY="$VENV_DIR/bin/python"
REQUIREMENTS="$REPO_ROOT/requirements.txt"
# Holds the sha256 of the requirements.txt that was last installed successfully.
REQUIREMENTS_STAMP="$VENV_DIR/.requirements.sha256"

section() { printf '\n== %s\n' "$*"; }
die() { printf 'ERROR: %s\n' "$*" >&2; exit 1; }
is_root() { [ "$(id -u)" -eq 0 ]; }

# The interpreter used to create .venv: python3.11 if present, else python3 (must be >= 3.11).
find_base_python() {
    local candidate
    for candidate in python3.11 python3; do
        if command -v "$candidate" >/dev/null 2>&1 &&
            "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
            command -v "$candidate"
            return 0
        fi
    done
    die "Python 3.11 not found (tried python3.11 and python3)"
}

# Debian's python3 ships without ensurepip/venv unless python3-venv is installed.
ensure_python_venv_module() {
    local python="$1"
    if "$python" -c 'import ensurepip, venv' >/dev/null 2>&1; then
        return 0
    fi
    if is_root && command -v apt-get >/dev/null 2>&1; then
        section "installing python3-venv (needed to create .venv)"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update
        apt-get install -y --no-install-recommends python3-venv
    else
        die "$python cannot create virtualenvs; install python3-venv (apt-get install python3-venv)"
    fi
}

requirements_hash() {
    sha256sum "$REQUIREMENTS" | cut -d' ' -f1
}

# Create .venv if missing and pip install requirements.txt when it changed since the last install.
ensure_venv() {
    [ -f "$REQUIREMENTS" ] || die "requirements.txt not found in $REPO_ROOT"

    if [ ! -x "$VENV_PY" ]; then
        local base_python
        base_python="$(find_base_python)"
        ensure_python_venv_module "$base_python"
        section "creating .venv with $("$base_python" --version 2>&1)"
        "$base_python" -m venv "$VENV_DIR"
    fi

    local wanted
    wanted="$(requirements_hash)"
    if [ -f "$REQUIREMENTS_STAMP" ] && [ "$(cat "$REQUIREMENTS_STAMP")" = "$wanted" ]; then
        echo "== .venv is up to date with requirements.txt"
        return 0
    fi

    section "installing requirements.txt into .venv"
    "$VENV_PY" -m pip install --disable-pip-version-check --no-input --quiet -r "$REQUIREMENTS"
    echo "$wanted" >"$REQUIREMENTS_STAMP"
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    set -euo pipefail
    ensure_venv
fi
