#!/usr/bin/env bash
# Set up (scripts/setup.sh) and start the service on http://localhost:${PORT:-8000}/ with gunicorn.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
echo "tryon: serving on http://${HOST:-127.0.0.1}:${PORT:-8000}/ (Ctrl-C to stop)"
exec .venv/bin/gunicorn --worker-class gthread --workers 1 --threads "${THREADS:-8}" \
    --bind "${HOST:-127.0.0.1}:${PORT:-8000}" --access-logfile - 'server:create_app()'
