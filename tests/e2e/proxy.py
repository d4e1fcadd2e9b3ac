"""A loopback TCP proxy that can cut every connection once N bytes went upstream.

The browser talks to the proxy instead of the server; ``cut_after(n)`` arms it: when the
browser has sent ``n`` more bytes, every open connection is closed mid-stream and new ones are
refused (accepted and closed at once) for ``down_s`` seconds, as a dropped line would. Threads,
not asyncio, so it runs beside Playwright's sync API.

It also notes the head of every request the browser sends (method, path, ``Upload-Offset``,
``Content-Length``) with the upstream byte count where it began, so a test can tell where a
resumed tus upload continued: its PATCH after the HEAD carries the offset the server reported.
"""

from __future__ import annotations

import contextlib
import re
import socket
import threading
import time
from dataclasses import dataclass
from types import TracebackType

BUF = 256 * 1024
# A request head starts a chunk: HTTP/1.1 without pipelining sends the next request only after
# the previous answer, so a head never follows body bytes in one read.
HEAD = re.compile(rb"([A-Z]+) (\S+) HTTP/1\.1\r\n(.*?)\r\n\r\n", re.DOTALL)
UPLOAD_OFFSET = re.compile(rb"^upload-offset: *(\d+)", re.IGNORECASE | re.MULTILINE)
CONTENT_LENGTH = re.compile(rb"^content-length: *(\d+)", re.IGNORECASE | re.MULTILINE)


@dataclass(frozen=True)
class Request:
    """A request head seen going upstream; ``at``: upstream bytes counted before it."""

    at: int
    method: str
    path: str
    upload_offset: int | None
    content_length: int | None


class CuttingProxy:
    def __init__(self, target_port: int, host: str = "127.0.0.1") -> None:
        self.target = (host, target_port)
        self.listener = socket.create_server((host, 0))
        self.port: int = self.listener.getsockname()[1]
        self.lock = threading.Lock()
        self.sockets: set[socket.socket] = set()
        self.upstream_bytes = 0
        self.requests: list[Request] = []
        self.cut_bytes: int | None = None  # upstream bytes counted when the line was cut
        self.cut_at: int | None = None
        self.down_until = 0.0
        self.down_s = 0.0
        self.cuts = 0
        self.stopped = False
        self.thread = threading.Thread(target=self._accept, name="cutting-proxy", daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def cut_after(self, n: int, down_s: float = 2.0) -> None:
        """Drop every connection once ``n`` more bytes went browser → server."""
        with self.lock:
            self.cut_at = self.upstream_bytes + n
            self.down_s = down_s

    def _accept(self) -> None:
        while not self.stopped:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if time.monotonic() < self.down_until:
                client.close()
                continue
            try:
                server = socket.create_connection(self.target)
            except OSError:
                client.close()
                continue
            with self.lock:
                self.sockets.update((client, server))
            threading.Thread(target=self._pipe, args=(client, server, True), daemon=True).start()
            threading.Thread(target=self._pipe, args=(server, client, False), daemon=True).start()

    def _pipe(self, src: socket.socket, dst: socket.socket, upstream: bool) -> None:
        try:
            while True:
                data = src.recv(BUF)
                if not data:
                    break
                if upstream and self._count(data):
                    return
                dst.sendall(data)
        except OSError:
            pass
        finally:
            self._close(src, dst)

    def _count(self, data: bytes) -> bool:
        """Count upstream bytes; True (after cutting everything) when the limit is passed."""
        head = HEAD.match(data)
        with self.lock:
            if head is not None:
                method, path, headers = head.groups()
                offset = UPLOAD_OFFSET.search(headers)
                length = CONTENT_LENGTH.search(headers)
                self.requests.append(
                    Request(
                        self.upstream_bytes,
                        method.decode(),
                        path.decode(),
                        int(offset.group(1)) if offset else None,
                        int(length.group(1)) if length else None,
                    )
                )
            self.upstream_bytes += len(data)
            if self.cut_at is None or self.upstream_bytes < self.cut_at:
                return False
            self.cut_at = None
            self.cut_bytes = self.upstream_bytes
            self.cuts += 1
            self.down_until = time.monotonic() + self.down_s
            victims = list(self.sockets)
        for sock in victims:
            self._close(sock)
        return True

    def _close(self, *socks: socket.socket) -> None:
        for sock in socks:
            with self.lock:
                self.sockets.discard(sock)
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def close(self) -> None:
        self.stopped = True
        self.listener.close()
        self._close(*list(self.sockets))

    def __enter__(self) -> CuttingProxy:
        return self

    def __exit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
