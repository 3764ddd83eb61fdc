"""Run the production server (gunicorn) as a child process on a loopback port: for end-to-end
tests and the load benchmark, which must exercise the same server the README starts, prepared by
the same `tryon prepare` that scripts/serve.sh runs first."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def local_server(
    env: dict[str, str] | None = None,
    threads: int = 16,
    timeout: float = 60.0,
    python: Path = Path(sys.executable),
    cwd: Path | None = None,
) -> Iterator[tuple[str, int]]:
    """Run `tryon prepare`, then start gunicorn with the app on 127.0.0.1; yields (base URL, server
    pid); stops the server afterwards.

    `python` is the interpreter of the environment tryon is installed in (its `tryon` script beside
    it), by default this one; `cwd` the working directory (gunicorn imports from there first).
    The server runs in a process group of its own (its id is the pid), so a test can kill it and its
    worker at once with os.killpg, as a crash would.
    """
    env = {**os.environ, **(env or {})}
    run_prepare(python, env, cwd)
    port = free_port()
    command = [
        str(python),
        "-m",
        "gunicorn",
        "--worker-class",
        "gthread",
        "--workers",
        "1",
        "--threads",
        str(threads),
        "--bind",
        f"127.0.0.1:{port}",
        "--graceful-timeout",
        "2",
        "tryon.web:create_app()",
    ]
    log = tempfile.TemporaryFile()  # the server's own log lines; it never sees a frame's content
    process = subprocess.Popen(command, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            if process.poll() is not None:
                log.seek(0)
                raise RuntimeError(f"server exited: {log.read().decode(errors='replace')[-2000:]}")
            try:
                with urllib.request.urlopen(f"{base}/api/v1/ready", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        yield base, process.pid
    finally:
        _stop(process)
        log.close()


def run_prepare(python: Path, env: dict[str, str], cwd: Path | None) -> None:
    """`tryon prepare` (schema, demo store, stray blobs), as scripts/serve.sh runs it before gunicorn."""
    result = subprocess.run(
        [str(python.with_name("tryon")), "prepare"], cwd=cwd, env=env, capture_output=True, text=True
    )
    if result.returncode != 0:
        raise RuntimeError(f"tryon prepare failed: {(result.stdout + result.stderr)[-2000:]}")


def _stop(process: subprocess.Popen) -> None:
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=10)
    except ProcessLookupError:
        process.wait()
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
