"""Upload test support: a real uvicorn server of the app as ``create_app`` builds it.

``Server`` runs ``python -m tests.uploads.server`` (uvicorn on a free port, the same
``KURA_DATA_DIR`` across restarts); its subject is fixed by ``KURA_TEST_SUBJECT`` (the
``optional_subject`` override, test servers only).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import httpx

from api.permissions.policy import OrgKind, Subject

ROOT = Path(__file__).resolve().parents[2]
API = "/api/v1"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def subject_json(subject: Subject) -> str:
    data: dict[str, Any] = asdict(subject)
    data["grants"] = sorted(subject.grants)
    data["org_kind"] = subject.org_kind.value if subject.org_kind else None
    return json.dumps(data)


def subject_from_json(raw: str) -> Subject:
    data = json.loads(raw)
    kind = OrgKind(data["org_kind"]) if data.get("org_kind") else None
    return Subject(
        data["user_id"], data["login_id"], data["org_id"], kind, frozenset(data["grants"])
    )


class Server:
    """``tests.uploads.server`` in a subprocess; ``kill()`` is SIGKILL (a crash)."""

    def __init__(self, data_dir: Path, subject: Subject, extra_env: dict[str, str] | None = None):
        self.data_dir = data_dir
        self.subject = subject
        self.port = free_port()
        self.extra_env = extra_env or {}
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = data_dir.parent / f"server-{self.port}.log"

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 30.0) -> None:
        env = {
            **os.environ,
            "KURA_DATA_DIR": str(self.data_dir),
            "KURA_LOG_JSON": "false",
            "KURA_LOG_LEVEL": "WARNING",
            "KURA_JOBS__EAGER": "true",
            "KURA_TEST_SUBJECT": subject_json(self.subject),
            "KURA_TEST_PORT": str(self.port),
            **self.extra_env,
        }
        log = open(self.log, "ab")  # noqa: SIM115 - owned by the subprocess
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.uploads.server"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited: {self.log.read_text()[-2000:]}")
            try:
                if httpx.get(f"{self.base}/healthz", timeout=1).status_code < 500:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError("server did not start")

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)
        self.proc = None

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()
        self.proc = None

    def peak_rss_kib(self) -> int:
        """VmHWM of the running server (peak resident set), in KiB."""
        assert self.proc is not None
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
        return 0
