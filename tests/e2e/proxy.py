"""A loopback TCP proxy that can cut every connection once N bytes went upstream.

The browser talks to the proxy instead of the server; ``cut_after(n)`` arms it: when the
browser has sent ``n`` more bytes, every open connection is closed mid-stream and new ones are
refused (accepted and closed at once) for ``down_s`` seconds, as a dropped line would. Threads,
not asyncio, so it runs beside Playwright's sync API.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from types import TracebackType

BUF = 256 * 1024


class CuttingProxy:
    def __init__(self, target_port: int, host: str = "127.0.0.1") -> None:
        self.target = (host, target_port)
        self.listener = socket.create_server((host, 0))
        self.port: int = self.listener.getsockname()[1]
        self.lock = threading.Lock()
        self.sockets: set[socket.socket] = set()
        self.upstream_bytes = 0
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
                if upstream and self._count(len(data)):
                    return
                dst.sendall(data)
        except OSError:
            pass
        finally:
            self._close(src, dst)

    def _count(self, n: int) -> bool:
        """Count upstream bytes; True (after cutting everything) when the limit is passed."""
        with self.lock:
            self.upstream_bytes += n
            if self.cut_at is None or self.upstream_bytes < self.cut_at:
                return False
            self.cut_at = None
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
