#!/usr/bin/env bash
# Set up (scripts/setup.sh), prepare the data (`tryon prepare`: database schema, demo store, stray
# blobs) and start the service with gunicorn on http://127.0.0.1:8000/
# (HOST, PORT to change; WORKERS: gunicorn's processes, default 1: its live sessions render in
# engine processes, TRYON_ENGINE_PROCESSES, default one per core shared out among the workers, each
# session in the least busy one, so one worker uses every core; more workers take new connections
# by the kernel's chance and each holds its share of the live sessions (TRYON_MAX_STREAMS, default 4
# per core shared out), so one may turn a shopper away while another has room; THREADS per
# process: each live session holds a thread, so the default is the
# process's live sessions plus 8 for page and API requests; TRYON_CERT + TRYON_KEY to serve HTTPS
# directly, which browsers need for the camera on any host but localhost; behind a TLS proxy set
# TRYON_BEHIND_PROXY=1). Facing the internet, use scripts/serve-production.sh: gunicorn alone gives
# each slow client one of its threads.
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
workers=${WORKERS:-1}
streams=${TRYON_MAX_STREAMS:-$(((4 * $(nproc) + workers - 1) / workers))}
engines=${TRYON_ENGINE_PROCESSES:-$((($(nproc) + workers - 1) / workers))}
export TRYON_MAX_STREAMS=$streams TRYON_ENGINE_PROCESSES=$engines MALLOC_ARENA_MAX=${MALLOC_ARENA_MAX:-2}
echo "tryon: serving on $scheme://${HOST:-127.0.0.1}:${PORT:-8000}/ (Ctrl-C to stop)"
exec .venv/bin/gunicorn --worker-class gthread --workers "$workers" --threads "${THREADS:-$((streams + 8))}" \
    "${tls[@]}" --bind "${HOST:-127.0.0.1}:${PORT:-8000}" --access-logfile - 'tryon.web:create_app()'
