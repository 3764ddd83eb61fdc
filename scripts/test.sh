#!/usr/bin/env bash
# Set up (scripts/setup.sh) and run the whole test suite. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
# The end-to-end tests drive Debian's Chromium; install it when missing and we may.
if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        apt-get install -y -qq chromium chromium-driver >/dev/null 2>&1 \
            || { apt-get update -qq && apt-get install -y -qq chromium chromium-driver >/dev/null; }
    else
        echo "note: chromium/chromium-driver missing; the browser tests will be skipped" >&2
    fi
fi
exec .venv/bin/python -m pytest "$@"
