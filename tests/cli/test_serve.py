"""``kura serve`` end to end: a real subprocess with a temp KURA_DATA_DIR and a free port."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT_S = 60.0
PASSWORD_LINE = re.compile(r"一時パスワード: (\S+)")
WORKER_LINE = re.compile(r"ワーカーを起動しました \(pid (\d+)\)")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def kura_command(safe_path: bool = False) -> list[str]:
    """``kura`` as a subprocess; ``safe_path``: without the working folder on ``sys.path``,
    as the installed ``kura`` script runs (``python -c`` would put it first)."""
    return [
        sys.executable,
        *(["-P"] if safe_path else []),
        "-c",
        "from api.cli import main; main()",
    ]


def kura_env(data_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KURA_")}
    return {
        **env,
        "PYTHONPATH": str(ROOT),
        "KURA_DATA_DIR": str(data_dir),
        "KURA_LOG_JSON": "false",
        "KURA_AUTH__ARGON2_TIME_COST": "1",
        "KURA_AUTH__ARGON2_MEMORY_KIB": "8192",
        **extra,
    }


class Serve:
    """``kura serve`` running in the background, its output collected line by line."""

    def __init__(self, data_dir: Path, port: int, safe_path: bool = False) -> None:
        self.port = port
        self.out: list[str] = []
        self.err: list[str] = []
        self.proc = subprocess.Popen(
            [*kura_command(safe_path), "serve", "--port", str(port)],
            cwd=data_dir.parent,
            env=kura_env(data_dir),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self._threads = [
            threading.Thread(target=self._read, args=(self.proc.stdout, self.out), daemon=True),
            threading.Thread(target=self._read, args=(self.proc.stderr, self.err), daemon=True),
        ]
        for t in self._threads:
            t.start()

    @staticmethod
    def _read(stream: object, sink: list[str]) -> None:
        for line in stream:  # type: ignore[attr-defined]
            sink.append(line.rstrip("\n"))

    def output(self) -> str:
        return "\n".join(["--- stdout", *self.out[-30:], "--- stderr", *self.err[-30:]])

    def wait_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        base = f"http://127.0.0.1:{self.port}"
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                pytest.fail(f"kura serve exited with {self.proc.returncode}\n{self.output()}")
            try:
                r = httpx.get(f"{base}/healthz", timeout=2)
                if r.status_code == 404:
                    r = httpx.get(f"{base}/openapi.json", timeout=2)
                if r.status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        pytest.fail(f"kura serve not ready in {START_TIMEOUT_S} s\n{self.output()}")

    def worker_pid(self) -> int:
        for line in self.err:
            if m := WORKER_LINE.search(line):
                return int(m.group(1))
        pytest.fail(f"no worker pid announced\n{self.output()}")

    def terminate(self) -> int:
        self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(30)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait(5)
            for t in self._threads:
                t.join(5)
            for stream in (self.proc.stdout, self.proc.stderr):
                if stream is not None:
                    stream.close()
        return code

    def password(self) -> str | None:
        for line in self.out:
            if m := PASSWORD_LINE.search(line):
                return m.group(1)
        return None


def group_alive(pgid: int, wait_s: float = 5.0) -> bool:
    """Whether any process of the worker's group (worker, embedded beat) still runs after
    ``wait_s`` (a process that just exited may take a moment to be reaped)."""
    deadline = time.monotonic() + wait_s
    while True:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return False
        if time.monotonic() > deadline:
            return True
        time.sleep(0.1)


@pytest.mark.slow
def test_serve_starts_api_and_worker_and_stops_both(tmp_path: Path) -> None:
    data_dir = tmp_path / "kura-data"
    first = Serve(data_dir, free_port())
    try:
        first.wait_ready()
        assert data_dir.is_dir()
        assert data_dir.stat().st_mode & 0o777 == 0o700
        health = httpx.get(f"http://127.0.0.1:{first.port}/healthz", timeout=5)
        if health.status_code == 200:
            assert health.json()["backends"]["jobs"]["ok"], health.text
        pid = first.worker_pid()
        assert first.proc.poll() is None
    finally:
        code = first.terminate()
    assert code == 0, first.output()
    assert not group_alive(pid), "worker (or its beat) outlived kura serve"
    password = first.password()

    second = Serve(data_dir, free_port())
    try:
        second.wait_ready()
    finally:
        assert second.terminate() == 0, second.output()
    assert not group_alive(second.worker_pid())

    assert password, f"first run printed no one-time password\n{first.output()}"
    assert len(password) >= 12
    assert second.password() is None, "the one-time password was printed again"
    assert all(password not in line for line in second.out + second.err)


HOSTILE = """\
import pathlib
pathlib.Path(__file__).with_name("IMPORTED").write_text(__name__)
raise SystemExit("a module of the starting folder was imported: " + __name__)
"""


@pytest.mark.slow
def test_worker_never_imports_from_the_starting_folder(tmp_path: Path) -> None:
    """Issue 7 item 17: an ``api.py`` (or ``workers.py``, ``celery.py``) in the folder where
    ``kura serve`` starts once replaced Kura's own package in the worker (``python -m``
    puts the working folder first on ``sys.path``), which then died. The worker runs with
    ``-P`` in the data folder and answers tasks."""
    start = tmp_path / "start"
    start.mkdir()
    for name in ("api.py", "workers.py", "celery.py"):
        (start / name).write_text(HOSTILE)
    data_dir = start / "kura-data"
    serve = Serve(data_dir, free_port(), safe_path=True)
    try:
        serve.wait_ready()
        pong = asyncio.run(_ping(data_dir))
        assert pong == "pong", serve.output()
        assert serve.proc.poll() is None, serve.output()
    finally:
        code = serve.terminate()
    assert code == 0, serve.output()
    assert not (start / "IMPORTED").exists(), (start / "IMPORTED").read_text()


async def _ping(data_dir: Path) -> Any:
    from api.config import Settings
    from api.kit.jobs import CeleryJobQueue

    queue = CeleryJobQueue(Settings(data_dir=data_dir))
    try:
        return await queue.result(await queue.enqueue("system.ping"), START_TIMEOUT_S)
    finally:
        queue.close()


def test_unknown_backend_fails_at_start_naming_choices(tmp_path: Path) -> None:
    data_dir = tmp_path / "kura-data"
    done = subprocess.run(
        [*kura_command(), "serve", "--port", str(free_port())],
        env=kura_env(data_dir, KURA_RECORDS__BACKEND="oracle"),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2, done.stderr
    assert "KURA_RECORDS__BACKEND" in done.stderr
    assert "'sqlite'" in done.stderr
    assert "'mongodb'" in done.stderr
    assert "Traceback" not in done.stderr
    assert not data_dir.exists(), "nothing is created when the settings are wrong"


def test_worker_command_and_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The worker runs with ``-P`` in the data folder, so relative path settings (meant
    relative to where ``kura serve`` started) are made absolute for it."""
    from api.cli.serve import worker_command, worker_env
    from api.config import Settings

    monkeypatch.chdir(tmp_path)
    cmd = worker_command(Settings(data_dir=tmp_path / "d"))
    assert cmd[1:3] == ["-P", "-m"]
    assert "--pool=solo" in cmd
    env = worker_env(
        {"KURA_RECORDS__SQLITE_PATH": "db/kura.sqlite3", "kura_ui_dir": "ui", "OTHER": "x"},
        tmp_path / "d",
    )
    assert env["KURA_DATA_DIR"] == str(tmp_path / "d")
    assert env["KURA_RECORDS__SQLITE_PATH"] == str(tmp_path / "db" / "kura.sqlite3")
    assert env["kura_ui_dir"] == str(tmp_path / "ui")
    assert env["OTHER"] == "x"
