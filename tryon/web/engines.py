"""Live sessions rendered in engine processes, so that a server process's sessions use every core.

A Python process renders about one core's worth of frames however many cores it has: its sessions'
per-frame Python work takes turns on one interpreter lock (four sessions driven in one process: about
115 frames a second on two cores; in four processes: about 208). So the web process keeps the
sockets, the limits and the database, and each session's frames are rendered by a `StreamSession`
in one of a few engine processes (`Settings.engine_processes`, spawned at the first session), the
one with the fewest sessions when it opens. Frames cross a pipe as the JPEG bytes they arrived as:
they stay in memory, here as everywhere.

An engine process that dies, or does not answer a call within its timeout (it is killed then), fails
its sessions' calls with EngineError (the shopper's stream closes with 1011 and the widget
reconnects); the next session gets a new process in its place.
"""

from __future__ import annotations

import itertools
import logging
import multiprocessing
import pickle
import queue
import signal
import threading
from collections.abc import Callable
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from multiprocessing.connection import Connection
from typing import TYPE_CHECKING, Any

import cv2

from tryon.config import Settings
from tryon.errors import EngineError, TryOnError
from tryon.model_file import resolve_model_path
from tryon.sizing import FittingGlasses
from tryon.web.session import FrameResult, StreamSession

if TYPE_CHECKING:
    from tryon.web.services import Services

OPEN_TIMEOUT_S = 120.0  # a cold engine imports MediaPipe and opens the session's graphs first
CALL_TIMEOUT_S = 30.0  # a frame takes milliseconds; this long means the engine is stuck
STOP_WAIT_S = 2.0
SESSION_CALLS = frozenset({"process", "set_products", "measure_with_card", "calibrate_with_white_card"})

log = logging.getLogger(__name__)


class RemoteSession:
    """A StreamSession living in an engine process, used as one: `skus`, `process`, `set_products`,
    `measure_with_card`, `calibrate_with_white_card`, `close`. The fitting glasses it reports are
    passed to `on_fitting` here, in the web process, which holds the database."""

    def __init__(
        self, engine: _Engine, key: int, skus: list[str], on_fitting: Callable[[FittingGlasses], None] | None
    ) -> None:
        self._engine = engine
        self._key = key
        self._on_fitting = on_fitting
        self.skus = skus

    def process(self, jpeg: bytes, frame_id: int) -> FrameResult:
        result, fittings = self._engine.call(self._key, "process", jpeg, frame_id)
        if self._on_fitting is not None:
            for fitting in fittings:
                self._on_fitting(fitting)
        return result

    def set_products(self, skus: list[str]) -> None:
        self.skus = self._engine.call(self._key, "set_products", skus)

    def measure_with_card(self) -> None:
        self._engine.call(self._key, "measure_with_card")

    def calibrate_with_white_card(self) -> None:
        self._engine.call(self._key, "calibrate_with_white_card")

    def close(self) -> None:
        self._engine.release(self._key)


class EnginePool:
    """`processes` engine processes for one server process's sessions, started at the first session
    (a process that died is replaced then too) and stopped by `close`. They are spawned, not forked
    (the web process has threads), so a script that opens sessions needs Python's
    `if __name__ == "__main__":` guard, as gunicorn's and `server.py` have."""

    def __init__(self, settings: Settings, processes: int) -> None:
        self._settings = settings
        self._engines: list[_Engine | None] = [None] * processes
        self._keys = itertools.count(1)
        self._lock = threading.Lock()

    def open(
        self,
        merchant: str,
        skus: list[str],
        *,
        partial: bool,
        reuse: bool,
        on_fitting: Callable[[FittingGlasses], None] | None = None,
    ) -> RemoteSession:
        """A session of `merchant`'s published catalogue in the engine with the fewest sessions; the
        StreamSession's own errors (an unknown product, no face model) are raised here as they are."""
        with self._lock:
            for index, engine in enumerate(self._engines):
                if engine is None or not engine.alive:
                    if engine is not None:
                        engine.stop()  # reaps the dead process
                    self._engines[index] = _Engine(self._settings)
            chosen = min((engine for engine in self._engines if engine is not None), key=lambda e: e.sessions)
            key = next(self._keys)
            chosen.add_session()
        try:
            opened = chosen.call(key, "open", merchant, skus, partial, reuse, timeout_s=OPEN_TIMEOUT_S)
        except BaseException:
            chosen.release(key)
            raise
        return RemoteSession(chosen, key, opened, on_fitting)

    def sessions(self) -> list[int]:
        """Live sessions per engine process (0 for one not started)."""
        with self._lock:
            return [engine.sessions if engine is not None and engine.alive else 0 for engine in self._engines]

    def close(self) -> None:
        """Stop every engine process (their sessions' next calls fail with EngineError)."""
        with self._lock:
            engines, self._engines = self._engines, [None] * len(self._engines)
        for engine in engines:
            if engine is not None:
                engine.stop()


class _Engine:
    """One engine process and the web process's end of its pipe: calls are sent from the sessions'
    threads and their answers matched to them by a reader thread."""

    def __init__(self, settings: Settings) -> None:
        context = multiprocessing.get_context("spawn")  # never fork a process full of threads
        self._conn, child = context.Pipe()
        self._process = context.Process(target=_engine_main, args=(child, settings), name="tryon-engine", daemon=True)
        self._process.start()
        child.close()
        self.sessions = 0  # opened and not yet released
        self.alive = True
        self._pending: dict[int, Future[tuple[bool, Any]]] = {}
        self._ids = itertools.count()
        self._lock = threading.Lock()
        self._send_lock = threading.Lock()
        threading.Thread(target=self._read, name="tryon-engine-reader", daemon=True).start()

    def call(self, key: int, op: str, *args: Any, timeout_s: float | None = None) -> Any:
        """Run `op` on session `key` in the engine and return its answer, or raise its error; wait at
        most `timeout_s` (default CALL_TIMEOUT_S)."""
        future: Future[tuple[bool, Any]] = Future()
        with self._lock:
            if not self.alive:
                raise EngineError("the engine process rendering this session stopped")
            request = next(self._ids)
            self._pending[request] = future
        try:
            with self._send_lock:
                self._conn.send((request, key, op, args))
            ok, value = future.result(CALL_TIMEOUT_S if timeout_s is None else timeout_s)
        except (OSError, ValueError, FutureTimeout) as exc:
            with self._lock:
                self._pending.pop(request, None)
            if isinstance(exc, FutureTimeout):
                self._process.kill()  # stuck: its sessions end now and the next session gets a new one
            raise EngineError("the engine process rendering this session does not answer") from exc
        if not ok:
            raise value
        return value

    def add_session(self) -> None:
        with self._lock:
            self.sessions += 1

    def release(self, key: int) -> None:
        """End session `key` in the engine (whatever state the engine is in) and uncount it."""
        try:
            self.call(key, "close")
        except EngineError:
            pass
        finally:
            with self._lock:
                self.sessions -= 1

    def stop(self) -> None:
        self._conn.close()  # the engine sees the end of its pipe and exits
        self._process.join(STOP_WAIT_S)
        if self._process.is_alive():
            self._process.kill()
            self._process.join(STOP_WAIT_S)

    def _read(self) -> None:
        while True:
            try:
                request, ok, value = self._conn.recv()
            except (EOFError, OSError):
                break
            with self._lock:
                future = self._pending.pop(request, None)
            if future is not None:
                future.set_result((ok, value))
        with self._lock:
            self.alive = False
            pending, self._pending = self._pending, {}
        for future in pending.values():
            future.set_result((False, EngineError("the engine process rendering this session stopped")))


def _engine_main(conn: Connection, settings: Settings) -> None:
    """An engine process: a thread per session, each running its session's calls in order, until the
    web process closes its end of the pipe (it ends with its web process, so Ctrl-C to the process
    group is the web process's to handle)."""
    from tryon.web.services import Services  # it imports this module

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    cv2.setNumThreads(settings.cv_threads)
    shared = Services(settings)
    send_lock = threading.Lock()
    sessions: dict[int, queue.SimpleQueue[tuple[int, str, tuple] | None]] = {}

    def answer(request: int, ok: bool, value: Any) -> None:
        with send_lock:
            try:
                conn.send((request, ok, value))
            except (OSError, ValueError):  # the web process is gone; the main loop ends too
                pass

    while True:
        try:
            request, key, op, args = conn.recv()
        except (EOFError, OSError):
            break
        if op == "open":
            sessions[key] = queue.SimpleQueue()
            threading.Thread(target=_serve_session, args=(sessions[key], shared, answer), daemon=True).start()
        calls = sessions.pop(key, None) if op == "close" else sessions.get(key)
        if calls is None:
            answer(request, op == "close", None if op == "close" else EngineError("no such session"))
            continue
        calls.put((request, op, args))
    for calls in sessions.values():
        calls.put(None)


def _serve_session(
    calls: queue.SimpleQueue[tuple[int, str, tuple] | None], shared: Services, answer: Callable[[int, bool, Any], None]
) -> None:
    """Run one session's calls: "open" (merchant, skus, partial, reuse), then SESSION_CALLS, then "close"."""
    session: StreamSession | None = None
    fittings: list[FittingGlasses] = []
    try:
        while (call := calls.get()) is not None:
            request, op, args = call
            try:
                if op == "close":
                    answer(request, True, None)
                    return
                if op == "open":
                    merchant, skus, partial, reuse = args
                    catalog = shared.catalog(merchant)
                    model = resolve_model_path(shared.settings)
                    session = StreamSession(
                        catalog, model, skus, partial=partial, reuse=reuse, on_fitting=fittings.append
                    )
                    answer(request, True, session.skus)
                elif session is None or op not in SESSION_CALLS:
                    answer(request, False, EngineError(f"{op!r} on a session that is not open"))
                elif op == "process":
                    result = session.process(*args)
                    answer(request, True, (result, fittings[:]))
                    fittings.clear()
                else:
                    getattr(session, op)(*args)
                    answer(request, True, session.skus)
            except Exception as exc:  # the session's own error (a bad product id) or a bug: the caller's to handle
                if not isinstance(exc, TryOnError):
                    log.exception("live session %s failed in its engine", op)
                answer(request, False, _picklable(exc))
    finally:
        if session is not None:
            session.close()


def _picklable(exc: Exception) -> Exception:
    """The exception itself when it survives the pipe, else one that says what it was."""
    try:
        pickle.loads(pickle.dumps(exc))
    except Exception:  # noqa: BLE001  (any failure to pickle means: send a plain one)
        return RuntimeError(f"{type(exc).__name__}: {exc}")
    return exc
