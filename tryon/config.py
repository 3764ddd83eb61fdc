"""Settings read from the environment, with defaults that work on a fresh machine.

`Settings.from_env` is the one place that reads our configuration from the environment; everything
else is handed a `Settings`. (tryon/tracking.py sets GLOG_minloglevel before importing MediaPipe:
that configures the C++ library's logging, not tryon, and is the only other use of the environment.)
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
PROJECT_ROOT = PACKAGE_DIR.parent  # a checkout's root (tests, scripts); meaningless in an installed wheel


def package_data(name: str) -> Path:
    """The folder `static` or `assets`: the copy the build puts into the package (an installed wheel),
    else the checkout's top-level folder, which is the source of that copy (a checkout or an
    editable install, where nothing is copied)."""
    built = PACKAGE_DIR / name
    return built if built.is_dir() else PROJECT_ROOT / name


def default_data_dir() -> Path:
    """Where downloaded models and the demo catalogue live unless TRYON_DATA_DIR says otherwise."""
    xdg = os.environ.get("XDG_DATA_HOME")
    base = Path(xdg) if xdg else Path.home() / ".local" / "share"
    return base / "tryon"


STREAMS_PER_CORE = 4


def available_cores() -> int:
    """The CPU cores this process may run on (its affinity, e.g. a container's cpuset), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # not on Linux
        return max(1, os.cpu_count() or 1)


def engines_per_process(processes: int) -> int:
    """TRYON_ENGINE_PROCESSES as set, else the available cores shared out among `processes` server
    processes (rounded up), as scripts/serve.sh and serve-production.sh share them."""
    return int(os.environ.get("TRYON_ENGINE_PROCESSES") or -(-available_cores() // processes))


def default_max_streams() -> int:
    """Live sessions one server process serves at once unless TRYON_MAX_STREAMS says otherwise:
    STREAMS_PER_CORE (4) per available core. A session's frame costs one landmark pass (~9-10 ms on the
    development machine) plus rendering and JPEG (~3 ms), so four sessions share a core at ~20 fps each."""
    return STREAMS_PER_CORE * available_cores()


@dataclass(frozen=True)
class Settings:
    """Runtime configuration.

    data_dir: cache for the face model and the default catalogue (TRYON_DATA_DIR).
    model_path: an explicit face_landmarker.task (TRYON_MODEL_PATH); when unset the cached copy is used.
    assets_dir: built-in product assets (TRYON_ASSETS_DIR), by default the package's assets/.
    max_streams: live sessions served at once by one server process (TRYON_MAX_STREAMS); default 4 per
        available CPU core (default_max_streams).
    max_streams_per_client: live sessions one client address may hold at once (TRYON_MAX_STREAMS_PER_CLIENT,
        default 3); the address is the proxy's X-Forwarded-For entry only when behind_proxy is set.
    stream_idle_s: a live session that sends no camera frame for this long is closed (TRYON_STREAM_IDLE_S,
        default 60 s), freeing its slot.
    stream_send_timeout_s: a send to a shopper that makes no progress for this long, or one message that takes
        twice as long (TRYON_STREAM_SEND_TIMEOUT_S, default 10 s), disconnects the client: one that stops
        reading does not hold its thread.
    database_url: SQLAlchemy URL of the catalogue (TRYON_DATABASE_URL); default a SQLite file in data_dir.
    storage_url: where product images go (TRYON_STORAGE_URL): a directory, or s3://bucket/prefix.
    s3_endpoint: the S3-compatible server of an s3:// storage_url (TRYON_S3_ENDPOINT), e.g. MinIO.
    behind_proxy: trust a TLS proxy's X-Forwarded-Proto/Host/For headers (TRYON_BEHIND_PROXY=1).
    allowed_hosts: the host names the service answers to (TRYON_ALLOWED_HOSTS, comma-separated; ".example.com"
        includes its subdomains); a request naming another Host is a 400, so a page reached through
        someone else's DNS name (DNS rebinding) is never taken for the service's own. Default: loopback.
    secret_key: signs shoppers' session tokens (TRYON_SECRET_KEY); every instance of one service needs the
        same. When unset, a key is made once and kept in data_dir (fine for one machine).
    rate_limits: per-address request limits on the public API and on failed API-key attempts
        (TRYON_RATE_LIMITS, default on; 0 turns them off, for load tests from one address).
    stream_reuse: live sessions run the landmark model only on frames where the face changed
        (TRYON_STREAM_REUSE, default on; 0 runs it on every frame, as before tryon.reuse).
    cv_threads: OpenCV's worker threads in a server process (TRYON_CV_THREADS, default 1; -1 = OpenCV's
        own default, one per core). A server's parallelism is its sessions, one thread each; OpenCV
        splitting each session's small images over all cores on top costs CPU in waking and
        waiting workers (16% of a glasses frame's CPU on 2 cores) and gains no throughput.
    engine_processes: processes that render a server process's live sessions (TRYON_ENGINE_PROCESSES,
        default one per available core; 0 renders them in the server process itself): a Python process
        renders about one core's worth of frames, its sessions taking turns on one interpreter lock
        (tryon.web.engines).
    """

    data_dir: Path
    model_path: Path | None
    assets_dir: Path
    max_streams: int = field(default_factory=default_max_streams)
    database_url: str | None = None
    storage_url: str | None = None
    s3_endpoint: str | None = None
    behind_proxy: bool = False
    max_streams_per_client: int = 3
    stream_idle_s: float = 60.0
    stream_send_timeout_s: float = 10.0
    allowed_hosts: tuple[str, ...] = ("localhost", "127.0.0.1", "::1")
    secret_key: str | None = None
    rate_limits: bool = True
    stream_reuse: bool = True
    cv_threads: int = 1
    engine_processes: int = field(default_factory=available_cores)

    @property
    def database(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'tryon.db'}"

    @classmethod
    def from_env(cls) -> Settings:
        model = os.environ.get("TRYON_MODEL_PATH")
        return cls(
            data_dir=Path(os.environ.get("TRYON_DATA_DIR") or default_data_dir()),
            model_path=Path(model) if model else None,
            assets_dir=Path(os.environ.get("TRYON_ASSETS_DIR") or package_data("assets")),
            max_streams=int(os.environ.get("TRYON_MAX_STREAMS") or default_max_streams()),
            database_url=os.environ.get("TRYON_DATABASE_URL") or None,
            storage_url=os.environ.get("TRYON_STORAGE_URL") or None,
            s3_endpoint=os.environ.get("TRYON_S3_ENDPOINT") or None,
            behind_proxy=os.environ.get("TRYON_BEHIND_PROXY") == "1",
            max_streams_per_client=int(os.environ.get("TRYON_MAX_STREAMS_PER_CLIENT") or 3),
            stream_idle_s=float(os.environ.get("TRYON_STREAM_IDLE_S") or 60),
            stream_send_timeout_s=float(os.environ.get("TRYON_STREAM_SEND_TIMEOUT_S") or 10),
            allowed_hosts=_host_list(os.environ.get("TRYON_ALLOWED_HOSTS")) or cls.allowed_hosts,
            secret_key=os.environ.get("TRYON_SECRET_KEY") or None,
            rate_limits=os.environ.get("TRYON_RATE_LIMITS") != "0",
            stream_reuse=os.environ.get("TRYON_STREAM_REUSE") != "0",
            cv_threads=int(os.environ.get("TRYON_CV_THREADS") or 1),
            engine_processes=engines_per_process(1),
        )


def _host_list(value: str | None) -> tuple[str, ...]:
    """Host names from a comma-separated list (empty for None or blanks)."""
    return tuple(host.strip().lower() for host in (value or "").split(",") if host.strip())
