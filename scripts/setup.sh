#!/usr/bin/env bash
# Set up everything tryon needs, idempotently: a virtual environment in .venv with the
# requirements and the package (editable: static/ and assets/ are read from the checkout), and the
# verified face model in the data directory (or the file TRYON_MODEL_PATH names). Safe to run
# again; only missing parts are done. The data itself is prepared by `tryon prepare` (serve.sh).
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
    echo "tryon needs Python 3.11 or newer (found $("$PYTHON" --version 2>&1)); set PYTHON=..." >&2
    exit 1
fi
if [ ! -x .venv/bin/python ]; then
    if ! "$PYTHON" -m venv .venv 2>/dev/null; then
        rm -rf .venv
        if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
            apt-get update -qq && apt-get install -y -qq python3-venv >/dev/null
            "$PYTHON" -m venv .venv
        else
            echo "Python's venv module is missing: sudo apt-get install python3-venv" >&2
            exit 1
        fi
    fi
fi
stamp=.venv/.tryon-requirements
if [ ! -f "$stamp" ] || ! cmp -s requirements.txt "$stamp" || [ pyproject.toml -nt "$stamp" ]; then
    # pip, and the build backend pyproject.toml names: tests/test_wheel.py builds the wheel with it.
    .venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip 'setuptools>=77'
    .venv/bin/python -m pip install --quiet --disable-pip-version-check -r requirements.txt -e .
    cp requirements.txt "$stamp"
fi
if [ -n "${TRYON_MODEL_PATH:-}" ]; then
    .venv/bin/python -c 'from tryon.model_file import resolve_model_path; print("face model:", resolve_model_path())'
else
    echo "face model: $(.venv/bin/tryon fetch-model)"
fi
