"""Live sessions in engine processes (tryon.web.engines): placement, answers, errors, a dead engine."""

import dataclasses
import json
import multiprocessing
import os
import signal
import struct
from pathlib import Path

import cv2
import numpy as np
import pytest
import websocket

from bench.procs import process_tree
from tests.conftest import load_face
from tests.support.server import local_server
from tryon.cli import prepare
from tryon.config import Settings
from tryon.errors import EngineError, UnknownMerchantError, UnknownProductError
from tryon.model_file import resolve_model_path
from tryon.web import engines
from tryon.web.engines import EnginePool
from tryon.web.services import Services
from tryon.web.session import StreamSession


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    settings = dataclasses.replace(Settings.from_env(), data_dir=tmp_path_factory.mktemp("engines"))
    prepare(settings)
    return settings


@pytest.fixture(scope="module")
def frame() -> bytes:
    return cv2.imencode(".jpg", load_face("001_neutral.jpg"), [cv2.IMWRITE_JPEG_QUALITY, 85])[1].tobytes()


def test_sessions_go_to_the_least_loaded_engine_and_render_as_they_would_here(settings: Settings, frame: bytes):
    pool = EnginePool(settings, 2)
    try:
        first = pool.open("demo", ["round"], partial=False, reuse=True)
        second = pool.open("demo", ["round"], partial=False, reuse=True)
        assert pool.sessions() == [1, 1]
        remote = first.process(frame, 7)
        local_session = StreamSession(Services(settings).catalog("demo"), resolve_model_path(settings), ["round"])
        try:
            local = local_session.process(frame, 7)
        finally:
            local_session.close()
        assert remote.status["id"] == 7 and remote.status["faces"] == 1
        del remote.status["ms"], local.status["ms"]
        assert remote.status == local.status
        remote_image = cv2.imdecode(np.frombuffer(remote.jpeg, np.uint8), cv2.IMREAD_COLOR)
        local_image = cv2.imdecode(np.frombuffer(local.jpeg, np.uint8), cv2.IMREAD_COLOR)
        assert np.abs(remote_image.astype(int) - local_image).mean() < 0.5

        second.set_products(["ruby-matte"])
        assert second.skus == ["ruby-matte"]
        second.measure_with_card()  # the calibrations start in the engine, and say so in the status
        second.calibrate_with_white_card()
        status = second.process(frame, 8).status
        assert status["card"]["state"] == status["white_card"]["state"] == "looking"
        first.close()
        assert pool.sessions() == [0, 1]
        third = pool.open("demo", [], partial=True, reuse=True)
        assert pool.sessions() == [1, 1]
        second.close()
        third.close()
        assert pool.sessions() == [0, 0]
    finally:
        pool.close()


def test_a_sessions_own_error_comes_back_as_itself_and_frees_its_place(settings: Settings):
    pool = EnginePool(settings, 1)
    try:
        with pytest.raises(UnknownProductError):
            pool.open("demo", ["no-such-product"], partial=True, reuse=True)
        with pytest.raises(UnknownMerchantError):
            pool.open("no-such-merchant", [], partial=True, reuse=True)
        assert pool.sessions() == [0]
        session = pool.open("demo", ["round"], partial=True, reuse=True)
        with pytest.raises(UnknownProductError):
            session.set_products(["no-such-product"])
        assert session.skus == ["round"]
        session.close()
    finally:
        pool.close()


def test_a_dead_engine_fails_its_sessions_and_the_next_session_gets_a_new_one(settings: Settings, frame: bytes):
    pool = EnginePool(settings, 1)
    try:
        session = pool.open("demo", ["round"], partial=True, reuse=True)
        (engine,) = multiprocessing.active_children()
        os.kill(engine.pid or 0, signal.SIGKILL)
        engine.join(10)
        with pytest.raises(EngineError):
            session.process(frame, 1)
        session.close()  # closing a session whose engine died is quiet
        assert pool.sessions() == [0]
        again = pool.open("demo", ["round"], partial=True, reuse=True)
        assert again.process(frame, 2).status["faces"] == 1
        assert multiprocessing.active_children()[0].pid != engine.pid
        again.close()
    finally:
        pool.close()
    assert not multiprocessing.active_children()


def test_a_stuck_engine_is_killed_and_replaced(settings: Settings, frame: bytes, monkeypatch: pytest.MonkeyPatch):
    pool = EnginePool(settings, 1)
    try:
        session = pool.open("demo", ["round"], partial=True, reuse=True)
        (engine,) = multiprocessing.active_children()
        os.kill(engine.pid or 0, signal.SIGSTOP)
        monkeypatch.setattr(engines, "CALL_TIMEOUT_S", 1.0)
        with pytest.raises(EngineError):
            session.process(frame, 1)
        engine.join(10)
        assert engine.exitcode == -signal.SIGKILL
        session.close()
        again = pool.open("demo", ["round"], partial=True, reuse=True)
        assert again.process(frame, 2).status["faces"] == 1
        again.close()
    finally:
        pool.close()


def test_the_server_renders_its_sessions_in_its_engine_processes(frame: bytes):
    env = {"TRYON_MODEL_PATH": str(resolve_model_path()), "TRYON_ENGINE_PROCESSES": "2"}
    with local_server(env) as (base, pid):
        before = set(process_tree(pid))
        url = base.replace("http", "ws", 1) + "/api/v1/stream?products=round&partial=1"
        sockets = [websocket.create_connection(url, timeout=60) for _ in range(2)]
        for index, ws in enumerate(sockets):
            assert json.loads(ws.recv())["type"] == "ready"
            ws.send_binary(struct.pack(">I", index) + frame)
            assert struct.unpack(">I", ws.recv()[:4])[0] == index
            assert json.loads(ws.recv())["faces"] == 1
        engines = [
            process
            for process in set(process_tree(pid)) - before
            if b"spawn_main" in Path(f"/proc/{process}/cmdline").read_bytes()
        ]
        assert len(engines) == 2
        for ws in sockets:
            ws.close()
