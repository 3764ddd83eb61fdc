"""Run the production server (gunicorn) as a child process on a loopback port: for end-to-end
tests and the load benchmark, which must exercise the same server the README starts, prepared by
the same `tryon prepare` that scripts/serve.sh runs first; and the production front
(scripts/serve-production.sh: nginx in front of that server)."""

from __future__ import annotations

import os
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path


def new_merchant(data_dir: Path, slug: str, name: str) -> str:
    """A merchant in the SQLite catalogue that a local server with TRYON_DATA_DIR=`data_dir` will use
    (made before it starts, as `tryon merchant create` would); returns its API key."""
    from tryon.store.accounts import create_merchant
    from tryon.store.database import Database

    database = Database(f"sqlite:///{data_dir / 'tryon.db'}")
    try:
        database.migrate()
        return create_merchant(database, slug, name=name)[1]
    finally:
        database.close()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def local_server(
    env: dict[str, str] | None = None,
    threads: int = 16,
    timeout: float = 60.0,
    workers: int = 1,
    python: Path = Path(sys.executable),
    cwd: Path | None = None,
    log_path: Path | None = None,
    tls: tuple[Path, Path] | None = None,
    prepare: bool = True,
) -> Iterator[tuple[str, int]]:
    """Run `tryon prepare` (unless `prepare` is False: the caller did), then start gunicorn with the
    app on 127.0.0.1; yields (base URL, server pid); stops the server afterwards.

    `python` is the interpreter of the environment tryon is installed in (its `tryon` script beside
    it), by default this one; `cwd` the working directory (gunicorn imports from there first).
    The server runs in a process group of its own (its id is the pid), so a test can kill it and its
    worker at once with os.killpg, as a crash would. With `log_path` its log (stdout and stderr) goes
    to that file, for the test to read; otherwise to a temporary file. With `tls` (certificate, key)
    gunicorn serves HTTPS itself, as scripts/serve.sh does with TRYON_CERT and TRYON_KEY (the base
    URL is then https://). `workers`: gunicorn's processes (scripts/serve.sh runs one per core; the
    tests one, so that a process's session caps are the server's).
    """
    env = {**os.environ, **(env or {})}
    if prepare:
        run_prepare(python, env, cwd)
    port = free_port()
    command = [
        str(python),
        "-m",
        "gunicorn",
        "--worker-class",
        "gthread",
        "--workers",
        str(workers),
        "--threads",
        str(threads),
        "--bind",
        f"127.0.0.1:{port}",
        "--graceful-timeout",
        "2",
        "tryon.web:create_app()",
    ]
    if tls:
        command[-1:-1] = ["--certfile", str(tls[0]), "--keyfile", str(tls[1])]
    # the server's own log lines; it never sees a frame's content
    log = open(log_path, "w+b") if log_path else tempfile.TemporaryFile()
    process = subprocess.Popen(command, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"{'https' if tls else 'http'}://127.0.0.1:{port}"

    def exit_log() -> str:
        log.seek(0)
        return f"server exited: {log.read().decode(errors='replace')[-2000:]}"

    try:
        _wait_until_ready(process, base, timeout, exit_log)
        yield base, process.pid
    finally:
        _stop(process)
        log.close()


def run_prepare(python: Path, env: dict[str, str], cwd: Path | None) -> None:
    """`tryon prepare` (schema, demo store, stray blobs), as scripts/serve.sh runs it before gunicorn."""
    result = subprocess.run(prepare_command(python), cwd=cwd, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"tryon prepare failed: {(result.stdout + result.stderr)[-2000:]}")


def prepare_command(python: Path = Path(sys.executable)) -> list[str]:
    """The `tryon prepare` command of the environment `python` belongs to."""
    return [str(python.with_name("tryon")), "prepare"]


def _wait_until_ready(process: subprocess.Popen, base: str, timeout: float, exit_log: Callable[[], str]) -> None:
    """Poll `base`/api/v1/ready until it answers 200 (RuntimeError with `exit_log()` if the process
    ends first; the last connection error once `timeout` seconds have passed). TLS certificates are
    not checked: the tests' servers use self-signed ones."""
    context = ssl.create_default_context()
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            raise RuntimeError(exit_log())
        try:
            with urllib.request.urlopen(f"{base}/api/v1/ready", timeout=2, context=context) as response:
                if response.status == 200:
                    return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def _stop(process: subprocess.Popen) -> None:
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=10)
    except ProcessLookupError:
        process.wait()
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


SERVE_PRODUCTION = Path(__file__).resolve().parents[2] / "scripts" / "serve-production.sh"


def install_production_front(timeout: float = 600.0) -> str | None:
    """Have `scripts/serve-production.sh install` install nginx and openssl where they are missing
    (as root, with apt-get); None when both are there, else why not (for a test's skip reason)."""
    try:
        result = subprocess.run(
            ["bash", str(SERVE_PRODUCTION), "install"], capture_output=True, text=True, timeout=timeout
        )
    except subprocess.TimeoutExpired:
        return f"installing nginx took over {timeout:.0f} s"
    if result.returncode != 0:
        return (result.stderr or result.stdout).strip() or f"serve-production.sh install exited {result.returncode}"
    return None


@contextmanager
def production_front(
    run_dir: Path, env: dict[str, str] | None = None, timeout: float = 60.0, upstreams: list[str] | None = None
) -> Iterator[tuple[str, Path]]:
    """Run `scripts/serve-production.sh` (nginx with TLS in front of gunicorn, as the README starts
    it) on free loopback ports, its run directory (rendered config, pid, logs, self-signed
    certificate) in `run_dir`; yields (https base URL, path of the script's own log). The script,
    nginx and gunicorn share a process group, stopped together afterwards. With `upstreams`
    (host:port of app instances already running) only nginx runs, in front of them (UPSTREAMS)."""
    port, upstream = free_port(), free_port()
    env = {
        **os.environ,
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "UPSTREAM_PORT": str(upstream),
        "TRYON_FRONT_DIR": str(run_dir),
        "TRYON_SKIP_SETUP": "1",
        **({"UPSTREAMS": " ".join(upstreams)} if upstreams else {}),
        **(env or {}),
    }
    run_dir.mkdir(parents=True, exist_ok=True)
    log_path = run_dir / "serve.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            ["bash", str(SERVE_PRODUCTION)], env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    base = f"https://127.0.0.1:{port}"
    try:
        _wait_until_ready(
            process,
            base,
            timeout,
            lambda: f"serve-production.sh exited: {log_path.read_text(errors='replace')[-2000:]}",
        )
        yield base, log_path
    finally:
        _stop(process)
