#!/usr/bin/env bash
# Set up (scripts/setup.sh), lint and type-check (scripts/lint.sh) and run the whole test suite.
# Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
# The end-to-end tests drive Debian's Chromium, and one test runs the catalogue on Debian's
# PostgreSQL; install them when missing and we may (tests needing them are skipped otherwise).
missing=()
command -v chromium >/dev/null && command -v chromedriver >/dev/null || missing+=(chromium chromium-driver)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing+=(postgresql)
command -v nginx >/dev/null || missing+=(nginx-light)  # the production front, in tests/test_front.py
if [ ${#missing[@]} -gt 0 ]; then
    installed=no
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        if apt-get install -y -qq "${missing[@]}" >/dev/null 2>&1 \
            || { apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq "${missing[@]}" >/dev/null 2>&1; }; then
            installed=yes
        fi
    fi
    [ "$installed" = yes ] || echo "note: ${missing[*]} missing; the tests that need them will be skipped" >&2
fi
scripts/lint.sh
exec .venv/bin/python -m pytest "$@"
