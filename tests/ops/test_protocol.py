"""The HTTP protocol ``kura serve`` runs uvicorn with (``api.ops.protocol``): request bodies
reach the app as the bytes each read brought, without uvicorn's two copies, and everything
else of HTTP/1.1 behaves as uvicorn's own protocol does. A real uvicorn server on a free port,
spoken to over a plain socket."""

from __future__ import annotations

import asyncio
import hashlib
import json
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import uvicorn

from api.ops import protocol
from api.ops.protocol import BodyParts, http_protocol
from tests.uploads.support import free_port


def test_body_parts_keep_the_reads_and_join_only_several() -> None:
    parts = BodyParts()
    assert len(parts) == 0
    assert bytes(parts) == b""
    first = b"a" * 1000
    parts += first
    parts += b""  # nothing kept for an empty read
    assert len(parts) == 1000
    assert bytes(parts) is first  # one read: its own bytes, no copy
    parts += b"b" * 24
    assert len(parts) == 1024
    assert bytes(parts) == first + b"b" * 24


def test_the_installed_uvicorn_is_served_with_the_protocol() -> None:
    # A uvicorn whose httptools protocol keeps the body differently gets its own protocol
    # (see the module); this fails then, so the upgrade's cost is seen.
    chosen = http_protocol()
    assert not isinstance(chosen, str)
    assert chosen.__name__ == "KuraHttpProtocol"


def test_a_changed_uvicorn_is_served_with_its_own_protocol(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(protocol, "_ON_BODY_LINE", "self.cycle.body.extend(body)")
    http_protocol.cache_clear()
    try:
        assert http_protocol() == "auto"
    finally:
        http_protocol.cache_clear()


# -- a real server ------------------------------------------------------------------------


class _Seen:
    """What the app received, per request."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.read_ids: set[int] = set()  # ids of the bytes the parser handed the protocol
        self.keep: list[bytes] = []  # keeps those objects alive, so their ids stay unique


SEEN = _Seen()


async def _app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    digest = hashlib.sha256()
    size = 0
    same = 0
    types: set[str] = set()
    disconnected = False
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            disconnected = True
            break
        body = message.get("body", b"")
        types.add(type(body).__name__)
        if id(body) in SEEN.read_ids:
            same += 1
        digest.update(body)
        size += len(body)
        if not message.get("more_body"):
            break
    SEEN.requests.append({"size": size, "disconnected": disconnected, "types": types, "same": same})
    if disconnected:
        return
    answer = json.dumps({"sha": digest.hexdigest(), "size": size}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(answer)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": answer})


@pytest.fixture(scope="module")
def server() -> Iterator[int]:
    chosen = http_protocol()
    assert not isinstance(chosen, str)

    class Recording(chosen):  # type: ignore[misc,valid-type]
        def on_body(self, body: bytes) -> None:
            SEEN.read_ids.add(id(body))
            SEEN.keep.append(body)
            super().on_body(body)

    port = free_port()
    config = uvicorn.Config(
        _app, host="127.0.0.1", port=port, http=Recording, log_level="warning", lifespan="off"
    )
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=lambda: asyncio.run(srv.serve()), daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not srv.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    try:
        yield port
    finally:
        srv.should_exit = True
        thread.join(10)


def _answer(sock: socket.socket) -> tuple[int, dict[str, str], bytes]:
    reader = sock.makefile("rb")
    status = int(reader.readline().split()[1])
    headers: dict[str, str] = {}
    while (line := reader.readline()) not in (b"\r\n", b""):
        key, _, value = line.decode("latin-1").partition(":")
        headers[key.strip().lower()] = value.strip()
    body = reader.read(int(headers.get("content-length", "0")))
    return status, headers, body


def _post(port: int, body: bytes, pieces: int = 1) -> tuple[int, dict[str, Any]]:
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(f"POST /x HTTP/1.1\r\nHost: t\r\nContent-Length: {len(body)}\r\n\r\n".encode())
        step = max(1, len(body) // pieces)
        for at in range(0, len(body), step):
            sock.sendall(body[at : at + step])
        status, _, answer = _answer(sock)
    return status, json.loads(answer)


def test_a_large_body_arrives_whole_in_the_reads_own_bytes(server: int) -> None:
    body = bytes(range(256)) * (16 * 1024 + 3)  # ~4 MiB, not a round size
    SEEN.requests.clear()
    status, answer = _post(server, body, pieces=7)
    assert status == 200
    assert answer == {"sha": hashlib.sha256(body).hexdigest(), "size": len(body)}
    seen = SEEN.requests[-1]
    assert seen["types"] == {"bytes"}  # never the protocol's container
    assert seen["same"] > 0  # bodies handed on as the parser gave them (no copy)


def test_an_empty_and_a_one_byte_body(server: int) -> None:
    for body in (b"", b"x"):
        status, answer = _post(server, body)
        assert status == 200
        assert answer == {"sha": hashlib.sha256(body).hexdigest(), "size": len(body)}


def test_a_chunked_body(server: int) -> None:
    pieces = [b"a" * 70_000, b"b" * 5, b"c" * 300_000]
    wire = b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in pieces) + b"0\r\n\r\n"
    with socket.create_connection(("127.0.0.1", server), timeout=30) as sock:
        sock.sendall(b"POST /x HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n" + wire)
        status, _, answer = _answer(sock)
    whole = b"".join(pieces)
    assert status == 200
    assert json.loads(answer) == {"sha": hashlib.sha256(whole).hexdigest(), "size": len(whole)}


def test_pipelined_requests_on_one_connection_keep_their_own_bodies(server: int) -> None:
    bodies = [b"1" * 300_000, b"2" * 17, b"3" * 1_000_000]
    wire = b"".join(
        b"POST /x HTTP/1.1\r\nHost: t\r\nContent-Length: %d\r\n\r\n%s" % (len(b), b) for b in bodies
    )
    with socket.create_connection(("127.0.0.1", server), timeout=30) as sock:
        sock.sendall(wire)
        reader = sock.makefile("rb")
        for body in bodies:
            assert int(reader.readline().split()[1]) == 200
            length = 0
            while (line := reader.readline()) != b"\r\n":
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            answer = json.loads(reader.read(length))
            assert answer == {"sha": hashlib.sha256(body).hexdigest(), "size": len(body)}


def test_expect_100_continue(server: int) -> None:
    body = b"z" * 200_000
    with socket.create_connection(("127.0.0.1", server), timeout=30) as sock:
        sock.sendall(
            b"POST /x HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\n"
            b"Content-Length: %d\r\n\r\n" % len(body)
        )
        assert sock.recv(100).startswith(b"HTTP/1.1 100 Continue")
        sock.sendall(body)
        status, _, answer = _answer(sock)
    assert status == 200
    assert json.loads(answer)["size"] == len(body)


def test_a_client_gone_mid_body_is_a_disconnect_for_the_app(server: int) -> None:
    SEEN.requests.clear()
    with socket.create_connection(("127.0.0.1", server), timeout=30) as sock:
        sock.sendall(b"POST /x HTTP/1.1\r\nHost: t\r\nContent-Length: 1000000\r\n\r\n")
        sock.sendall(b"q" * 300_000)
        time.sleep(0.2)
    deadline = time.monotonic() + 10
    while not SEEN.requests:
        assert time.monotonic() < deadline, "the app never heard of the disconnect"
        time.sleep(0.02)
    seen = SEEN.requests[-1]
    assert seen["disconnected"]
    assert seen["size"] <= 300_000
