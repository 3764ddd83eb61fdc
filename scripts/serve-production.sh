#!/usr/bin/env bash
# The production front: nginx (deploy/nginx.conf: TLS, the WebSocket upgrade, request timeouts and
# limits, buffering both ways) in front of gunicorn, so slow clients wait on nginx, not on gunicorn's
# threads. Sets up (scripts/setup.sh), prepares the data (`tryon prepare`), then runs gunicorn on a
# loopback port (TRYON_BEHIND_PROXY=1) and nginx in the foreground, both as the user running this
# script; Ctrl-C or SIGTERM stops both, and any one exiting stops the others.
#
#   HOST, PORT            where nginx listens: default 127.0.0.1:8443 (HOST=0.0.0.0 for other machines;
#                         ports under 1024 need root or CAP_NET_BIND_SERVICE)
#   UPSTREAM_PORT         gunicorn's port on 127.0.0.1 (default 8000)
#   INSTANCES             gunicorn processes (default one per core), on UPSTREAM_PORT, UPSTREAM_PORT+1, ...,
#                         each one worker with its own live-session cap (TRYON_MAX_STREAMS, default 4 per
#                         core shared out among them), per-address cap and engine processes rendering its
#                         sessions (TRYON_ENGINE_PROCESSES, default the cores shared out among them);
#                         nginx gives each new connection to the one with the fewest
#   UPSTREAMS             app instances running elsewhere, host:port separated by spaces or commas (e.g. the
#                         replicas of compose.yaml): only nginx runs, in front of them; no setup, no
#                         `tryon prepare`, no gunicorn here
#   THREADS               gunicorn threads per process (default: the process's live sessions plus 8 for page
#                         and API requests)
#   MALLOC_ARENA_MAX      glibc malloc arenas per process (default 2: each thread would otherwise get one, up to
#                         8 per core, and hold the memory it freed)
#   TRYON_CERT, TRYON_KEY the TLS certificate (chain) and key; without them a self-signed pair for
#                         HOST is made once in the run directory (browsers warn about it)
#   TRYON_FRONT_DIR       the run directory: rendered nginx.conf, nginx.pid, logs/, tmp/, tls/
#                         (default: <data dir>/front, the data dir being TRYON_DATA_DIR or ~/.local/share/tryon)
#   TRYON_ALLOWED_HOSTS   the host name(s) the site is reached by, comma-separated (default: loopback
#                         only; any other Host is answered 400)
#   TRYON_SKIP_SETUP=1    skip scripts/setup.sh (an environment set up already, e.g. the tests')
#
# `scripts/serve-production.sh install` only installs what is missing (nginx, openssl; as root with
# apt-get) and exits: 0 when both are there, 69 when they are not and cannot be installed.
set -euo pipefail
cd "$(dirname "$0")/.."

find_nginx() {
    command -v nginx 2>/dev/null || { [ -x /usr/sbin/nginx ] && echo /usr/sbin/nginx; } || true
}

apt_install() {
    apt-get install -y -qq "$@" >/dev/null 2>&1 \
        || { apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq "$@" >/dev/null 2>&1; }
}

install_missing() {
    if [ -z "$(find_nginx)" ] || ! command -v openssl >/dev/null; then
        if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
            command -v openssl >/dev/null || apt_install openssl || true
            [ -n "$(find_nginx)" ] || apt_install nginx-light || apt_install nginx || true
        fi
    fi
    if [ -z "$(find_nginx)" ] || ! command -v openssl >/dev/null; then
        echo "tryon: the production front needs nginx and openssl: sudo apt-get install nginx-light openssl" >&2
        return 69
    fi
}

if [ "${1:-}" = install ]; then
    install_missing || exit $?
    exit 0
fi
install_missing || exit $?
nginx=$(find_nginx)

host=${HOST:-127.0.0.1}
port=${PORT:-8443}
upstream_port=${UPSTREAM_PORT:-8000}
instances=${INSTANCES:-$(nproc)}
data_dir=${TRYON_DATA_DIR:-${XDG_DATA_HOME:-$HOME/.local/share}/tryon}
front=${TRYON_FRONT_DIR:-$data_dir/front}
streams=${TRYON_MAX_STREAMS:-$(((4 * $(nproc) + instances - 1) / instances))}
threads=${THREADS:-$((streams + 8))}
engines=${TRYON_ENGINE_PROCESSES:-$((($(nproc) + instances - 1) / instances))}
upstreams=()
if [ -n "${UPSTREAMS:-}" ]; then
    read -ra upstreams <<<"${UPSTREAMS//,/ }"
else
    [ "${TRYON_SKIP_SETUP:-}" = 1 ] || scripts/setup.sh
    .venv/bin/tryon prepare
    for ((i = 0; i < instances; i++)); do upstreams+=("127.0.0.1:$((upstream_port + i))"); done
fi
servers=$(printf 'server %s; ' "${upstreams[@]}")
mkdir -p "$front/logs" "$front/tmp" "$front/tls"
chmod 755 "$front" "$front/logs" "$front/tmp"  # nginx's workers may run as another user when started as root
chmod 700 "$front/tls"

if [ -n "${TRYON_CERT:-}" ] && [ -n "${TRYON_KEY:-}" ]; then
    cert=$TRYON_CERT
    key=$TRYON_KEY
else
    cert=$front/tls/self-signed.crt
    key=$front/tls/self-signed.key
    if [ ! -s "$cert" ] || [ ! -s "$key" ]; then
        name=$host
        [ "$name" = 0.0.0.0 ] && name=$(hostname)
        san="DNS:localhost,IP:127.0.0.1"
        if [[ $name =~ ^[0-9.]+$ ]]; then san="$san,IP:$name"; else san="$san,DNS:$name"; fi
        openssl req -x509 -newkey rsa:2048 -sha256 -days 365 -nodes -subj "/CN=$name" \
            -addext "subjectAltName=$san" -keyout "$key" -out "$cert" 2>/dev/null
        chmod 600 "$key"
        echo "tryon: made a self-signed certificate for $name in $front/tls (set TRYON_CERT and TRYON_KEY for a real one)"
    fi
fi

listen=$host:$port
[[ $host == *:* ]] && listen="[$host]:$port"
sed -e "s|@LISTEN@|$listen|" -e "s|@SERVERS@|$servers|" \
    -e "s|@CERT@|$cert|" -e "s|@KEY@|$key|" deploy/nginx.conf >"$front/nginx.conf"
"$nginx" -t -q -p "$front/" -c nginx.conf

children=()
stop() {
    trap - EXIT INT TERM
    for pid in "${children[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    wait || true
}
trap stop EXIT INT TERM

if [ -z "${UPSTREAMS:-}" ]; then
    for upstream in "${upstreams[@]}"; do
        TRYON_BEHIND_PROXY=1 TRYON_MAX_STREAMS=$streams TRYON_ENGINE_PROCESSES=$engines MALLOC_ARENA_MAX=${MALLOC_ARENA_MAX:-2} \
            .venv/bin/gunicorn --worker-class gthread --workers 1 --threads "$threads" --bind "$upstream" \
            --graceful-timeout 5 --access-logfile - 'tryon.web:create_app()' &
        children+=($!)
    done
fi
"$nginx" -p "$front/" -c nginx.conf &
children+=($!)
echo "tryon: serving on https://$listen/ through nginx in front of ${upstreams[*]} (logs in $front/logs; Ctrl-C to stop)"
wait -n
