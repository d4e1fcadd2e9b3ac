"""Real tus clients against a real uvicorn server: tuspy (Python) and tus-js-client (node).

Covers a resume after the server process is killed and restarted mid-upload (same data
folder), and a connection cut in the middle of a PATCH by a TCP proxy; each time the final
file node's SHA-256 must equal the file's.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import os
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tusclient import client as tus_client

from api.archive.models import NODES, UPLOADS
from api.config import Settings
from api.container import Container
from api.kit.ids import new_id
from api.permissions.policy import OrgKind, Subject
from storage.query import Eq, Query
from tests.uploads.support import ROOT, Server

MIB = 1 << 20
JS = ROOT / "tests" / "js"
OPERATOR = Subject(new_id(), "op", new_id(), OrgKind.OPERATOR)


def node_ready() -> bool:
    return shutil.which("node") is not None and (JS / "node_modules" / "tus-js-client").is_dir()


needs_node = pytest.mark.skipif(
    not node_ready(), reason="node or tests/js/node_modules missing (npm ci --prefix tests/js)"
)


def make_file(path: Path, size: int) -> str:
    digest = hashlib.sha256()
    block = os.urandom(MIB)
    with open(path, "wb") as f:
        left = size
        while left:
            part = block[: min(left, MIB)]
            f.write(part)
            digest.update(part)
            left -= len(part)
    return digest.hexdigest()


def run(coro: Any) -> Any:
    return asyncio.run(coro)


async def _insert_work(data_dir: Path) -> str:
    container = Container(Settings(data_dir=data_dir, log_json=False))
    await container.open()
    try:
        work = {"id": new_id(), "title": "道路改良工事", "status": "in_progress", "acl": []}
        await container.records.insert("works", work)
        return str(work["id"])
    finally:
        await container.close()


async def _files(data_dir: Path, work_id: str) -> list[dict[str, Any]]:
    container = Container(Settings(data_dir=data_dir, log_json=False))
    await container.open()
    try:
        page = await container.records.find(
            NODES, Query(where=(Eq("work_id", work_id), Eq("kind", "file")), limit=100)
        )
        states = [u["state"] async for u in container.records.scan(UPLOADS)]
        assert set(states) <= {"done"}, states
        return page.items
    finally:
        await container.close()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[Server, str]]:
    data_dir = tmp_path / "data"
    work_id = run(_insert_work(data_dir))
    srv = Server(data_dir, OPERATOR)
    srv.start()
    try:
        yield srv, work_id
    finally:
        srv.stop()


def endpoint(srv: Server | CutProxy, work_id: str) -> str:
    return f"{srv.base}/api/v1/works/{work_id}/uploads"


class CutProxy:
    """A TCP proxy that cuts the first connection after ``cut_after`` upstream bytes."""

    def __init__(self, target_port: int, cut_after: int) -> None:
        self.target_port = target_port
        self.cut_after = cut_after
        self.cut = threading.Event()
        self.upstream = 0
        self._lock = threading.Lock()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._threads: list[threading.Thread] = []
        self._closed = False
        accept = threading.Thread(target=self._accept, daemon=True)
        accept.start()
        self._threads.append(accept)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _accept(self) -> None:
        while not self._closed:
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.target_port))
            for src, dst, counted in ((conn, upstream, True), (upstream, conn, False)):
                t = threading.Thread(target=self._pump, args=(src, dst, counted), daemon=True)
                t.start()
                self._threads.append(t)

    def _pump(self, src: socket.socket, dst: socket.socket, counted: bool) -> None:
        sent = 0
        try:
            while data := src.recv(65536):
                if counted and not self.cut.is_set() and sent + len(data) > self.cut_after:
                    keep = self.cut_after - sent
                    dst.sendall(data[:keep])
                    with self._lock:
                        self.upstream += keep
                    self.cut.set()
                    break
                dst.sendall(data)
                sent += len(data)
                if counted:
                    with self._lock:
                        self.upstream += len(data)
        except OSError:
            pass
        for s in (src, dst):
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)
            s.close()

    def close(self) -> None:
        self._closed = True
        self._listener.close()


def test_tuspy_upload_in_chunks(server: tuple[Server, str], tmp_path: Path) -> None:
    srv, work_id = server
    path = tmp_path / "現場写真.bin"
    sha = make_file(path, 3 * MIB + 123)
    with open(path, "rb") as stream:  # a stream we close: tuspy leaves file_path open
        uploader = tus_client.TusClient(endpoint(srv, work_id)).uploader(
            file_stream=stream, chunk_size=MIB, metadata={"filename": path.name, "folder": "写真"}
        )
        uploader.upload()
    srv.stop()
    [node] = run(_files(srv.data_dir, work_id))
    assert node["path"] == "/写真/現場写真.bin"
    assert node["sha256"] == sha


def test_tuspy_with_checksums(server: tuple[Server, str], tmp_path: Path) -> None:
    """tuspy's ``upload_checksum=True`` sends ``Upload-Checksum: sha1 ...`` on every PATCH
    (the algorithm the tus checksum extension makes mandatory)."""
    srv, work_id = server
    path = tmp_path / "検査.bin"
    sha = make_file(path, 2 * MIB + 77)
    with open(path, "rb") as stream:
        uploader = tus_client.TusClient(endpoint(srv, work_id)).uploader(
            file_stream=stream,
            chunk_size=MIB,
            metadata={"filename": path.name},
            upload_checksum=True,
        )
        assert uploader.checksum_algorithm_name == "sha1"
        uploader.upload()
    srv.stop()
    [node] = run(_files(srv.data_dir, work_id))
    assert node["sha256"] == sha


def test_tuspy_resumes_after_a_cut_mid_patch(server: tuple[Server, str], tmp_path: Path) -> None:
    srv, work_id = server
    path = tmp_path / "big.bin"
    size = 4 * MIB
    sha = make_file(path, size)
    proxy = CutProxy(srv.port, cut_after=size // 2)
    stream = open(path, "rb")  # noqa: SIM115 - closed below; tuspy leaves file_path open
    try:
        uploader = tus_client.TusClient(endpoint(proxy, work_id)).uploader(
            file_stream=stream,
            chunk_size=size,  # one PATCH for the whole file: the cut lands inside it
            metadata={"filename": path.name},
            retries=5,
            retry_delay=0.5,
        )
        uploader.upload()
    finally:
        stream.close()
        proxy.close()
    assert proxy.cut.is_set()
    # Resumed where the server had stopped, not from zero: about one file's worth was sent.
    assert proxy.upstream < size + size // 4
    srv.stop()
    [node] = run(_files(srv.data_dir, work_id))
    assert node["sha256"] == sha


def _node(args: list[str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        ["node", str(JS / "upload.mjs"), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _events(proc: subprocess.Popen[str]) -> Iterator[dict[str, Any]]:
    assert proc.stdout is not None
    for line in proc.stdout:
        line = line.strip()
        if line.startswith("{"):
            yield json.loads(line)


@needs_node
def test_tus_js_client_resumes_after_a_server_restart(
    server: tuple[Server, str], tmp_path: Path
) -> None:
    srv, work_id = server
    path = tmp_path / "design.bin"
    size = 4 * MIB
    sha = make_file(path, size)
    proc = _node([endpoint(srv, work_id), str(path), "--chunk", str(256 * 1024), "--delay", "40"])
    killed_at = None
    events = []
    try:
        for event in _events(proc):
            events.append(event)
            if killed_at is None and event["event"] == "progress" and event["sent"] >= size // 3:
                killed_at = event["sent"]
                srv.kill()  # SIGKILL: no shutdown, mid-upload
                time.sleep(0.3)
                srv.start()
        assert proc.wait(60) == 0, events[-3:]
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()
    assert killed_at is not None
    assert killed_at < size
    assert events[-1]["event"] == "success"
    srv.stop()
    [node] = run(_files(srv.data_dir, work_id))
    assert node["sha256"] == sha


@needs_node
def test_tus_js_client_resumes_after_a_cut(server: tuple[Server, str], tmp_path: Path) -> None:
    srv, work_id = server
    path = tmp_path / "report.bin"
    size = 3 * MIB
    sha = make_file(path, size)
    proxy = CutProxy(srv.port, cut_after=size // 2)
    # The first retry is immediate: the server's HEAD waits for the cut PATCH to settle.
    args = ["--chunk", str(size), "--retry-delays", "0,300,500,1000,1000,2000"]
    proc = _node([endpoint(proxy, work_id), str(path), *args])
    try:
        events = list(_events(proc))
        assert proc.wait(60) == 0, events[-3:]
    finally:
        proxy.close()
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()
    assert proxy.cut.is_set()
    assert proxy.upstream < size + size // 4
    srv.stop()
    [node] = run(_files(srv.data_dir, work_id))
    assert node["sha256"] == sha


@pytest.mark.slow
@needs_node
def test_tus_js_client_large_file(server: tuple[Server, str], tmp_path: Path) -> None:
    srv, work_id = server
    path = tmp_path / "large.bin"
    sha = make_file(path, 256 * MIB)
    proc = _node([endpoint(srv, work_id), str(path), "--chunk", str(64 * MIB)])
    try:
        events = list(_events(proc))
        assert proc.wait(300) == 0, events[-3:]
    finally:
        if proc.stdout is not None:
            proc.stdout.close()
    rss_mib = srv.peak_rss_kib() / 1024
    assert rss_mib < 200, rss_mib
    srv.stop()
    [node] = run(_files(srv.data_dir, work_id))
    assert node["sha256"] == sha
