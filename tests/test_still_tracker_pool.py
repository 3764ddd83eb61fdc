"""The pool of still-image trackers behind /render survives a missing face model: while the model is
missing every render fails at once with a clear 503 (none waits for a tracker that can never be
created, however many come), and once the model is back in place renders succeed again."""

from __future__ import annotations

import io
import shutil
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from flask import Flask
from werkzeug.test import TestResponse

from tests.conftest import FACES
from tests.support.apps import prepared_app
from tryon.config import PROJECT_ROOT, Settings

PHOTO = (FACES / "009_neutral.jpg").read_bytes()
T = TypeVar("T")


def within(seconds: float, call: Callable[[], T]) -> T:
    """`call()`'s result, failing the test (instead of hanging it) when it takes longer than `seconds`."""
    outcome: dict[str, object] = {}

    def run() -> None:
        try:
            outcome["result"] = call()
        except BaseException as exc:  # noqa: BLE001  (re-raised in the test's thread)
            outcome["error"] = exc

    worker = threading.Thread(target=run, daemon=True)  # a hung request must not keep pytest from exiting
    worker.start()
    worker.join(seconds)
    assert not worker.is_alive(), f"no answer within {seconds} s"
    if "error" in outcome:
        raise outcome["error"]  # type: ignore[misc]
    return outcome["result"]  # type: ignore[return-value]


def render(app: Flask) -> TestResponse:
    """POST /render of a face photo with round glasses, on a client of its own (safe across threads)."""
    data = {"photo": (io.BytesIO(PHOTO), "photo.jpg"), "product": "round"}
    return app.test_client().post("/api/v1/render", data=data, content_type="multipart/form-data")


def concurrent_renders(app: Flask, count: int) -> list[TestResponse]:
    """`count` renders at the same time (more than the pool has trackers, so some wait for a slot)."""
    responses: list[TestResponse] = []
    lock = threading.Lock()

    def one() -> None:
        response = render(app)
        with lock:
            responses.append(response)

    workers = [threading.Thread(target=one, daemon=True) for _ in range(count)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return responses


def test_renders_fail_clearly_while_the_model_is_missing_and_succeed_once_it_is_back(tmp_path: Path, model_path: Path):
    model = tmp_path / "face_landmarker.task"
    settings = Settings(data_dir=tmp_path / "data", model_path=model, assets_dir=PROJECT_ROOT / "assets")
    app = prepared_app(settings, TESTING=True)

    for _ in range(4):  # more than the pool's two trackers: each failed creation must give its slot back
        response = within(30, lambda: render(app))
        assert response.status_code == 503 and response.json["error"]["code"] == "not_ready"
        assert "tryon fetch-model" in response.json["error"]["message"]
    for response in within(60, lambda: concurrent_renders(app, 6)):  # waiting callers are woken, not stranded
        assert response.status_code == 503 and response.json["error"]["code"] == "not_ready"

    shutil.copyfile(model_path, model)
    for _ in range(3):
        response = within(60, lambda: render(app))
        assert response.status_code == 200 and response.headers["X-Faces"] == "1"
    for response in within(120, lambda: concurrent_renders(app, 4)):
        assert response.status_code == 200 and response.headers["X-Faces"] == "1"
