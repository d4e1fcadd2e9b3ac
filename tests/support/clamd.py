"""A clamd stand-in for tests: speaks the INSTREAM and PING commands of clamd(8) on a local
TCP port and reports the EICAR test signature. Real ClamAV needs a signature database
downloaded from the internet (freshclam), which the test machines cannot fetch; the client
(``indexer.extract.deliverable.clamd``) is tested against this protocol peer instead."""

from __future__ import annotations

import socket
import socketserver
import threading
from collections.abc import Iterator
from contextlib import contextmanager

EICAR_MARK = b"EICAR-STANDARD-ANTIVIRUS-TEST-FILE"


class _Handler(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        sock: socket.socket = self.request
        command = b""
        while not command.endswith(b"\0"):
            part = sock.recv(1)
            if not part:
                return
            command += part
        if command == b"zPING\0":
            sock.sendall(b"PONG\0")
            return
        if command != b"zINSTREAM\0":
            sock.sendall(b"UNKNOWN COMMAND\0")
            return
        data = b""
        while True:
            size = int.from_bytes(_exact(sock, 4), "big")
            if size == 0:
                break
            data += _exact(sock, size)
            if len(data) > self.server.limit:  # type: ignore[attr-defined]
                sock.sendall(b"INSTREAM size limit exceeded. ERROR\0")
                return
        self.server.scanned += 1  # type: ignore[attr-defined]
        if EICAR_MARK in data:
            sock.sendall(b"stream: Win.Test.EICAR_HDB-1 FOUND\0")
        else:
            sock.sendall(b"stream: OK\0")


def _exact(sock: socket.socket, n: int) -> bytes:
    out = b""
    while len(out) < n:
        part = sock.recv(n - len(out))
        if not part:
            raise ConnectionError("short read")
        out += part
    return out


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    scanned = 0
    limit = 25 << 20


@contextmanager
def fake_clamd(limit: int = 25 << 20) -> Iterator[tuple[str, _Server]]:
    """``tcp://127.0.0.1:<port>`` of a running stand-in, and the server (``scanned``)."""
    server = _Server(("127.0.0.1", 0), _Handler)
    server.limit = limit
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        host, port = server.server_address[:2]
        yield f"tcp://{host}:{port}", server
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
