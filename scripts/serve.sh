#!/usr/bin/env bash
# Set up (scripts/setup.sh), prepare the data (`tryon prepare`: database schema, demo store, stray
# blobs) and start the service with gunicorn on http://127.0.0.1:8000/
# (HOST, PORT, THREADS to change: each live session holds a thread; TRYON_CERT + TRYON_KEY to serve HTTPS directly, which browsers
# need for the camera on any host but localhost; behind a TLS proxy set TRYON_BEHIND_PROXY=1).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
.venv/bin/tryon prepare
tls=()
scheme=http
if [ -n "${TRYON_CERT:-}" ] && [ -n "${TRYON_KEY:-}" ]; then
    tls=(--certfile "$TRYON_CERT" --keyfile "$TRYON_KEY")
    scheme=https
fi
echo "tryon: serving on $scheme://${HOST:-127.0.0.1}:${PORT:-8000}/ (Ctrl-C to stop)"
exec .venv/bin/gunicorn --worker-class gthread --workers 1 --threads "${THREADS:-16}" "${tls[@]}" \
    --bind "${HOST:-127.0.0.1}:${PORT:-8000}" --access-logfile - 'tryon.web:create_app()'
