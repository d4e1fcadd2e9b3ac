"""ClamAV's clamd as the virus scanner of rule 29 (deliverables-and-bonds.md §2.2 rule 29:
"Virus scan hook. The 要領 require a ウイルスチェック [V]").

The clamd protocol (clamd(8), "INSTREAM"): the client sends ``zINSTREAM\\0``, then the file as
chunks each prefixed by its length as a 4-byte big-endian integer, then a zero length; clamd
answers ``stream: OK``, ``stream: <signature> FOUND`` or ``<message> ERROR`` (e.g. when the
stream exceeds its ``StreamMaxLength``), NUL-terminated. One connection per file.

Addresses: ``tcp://host:port`` or ``unix:///path/to/clamd.ctl``. Nothing is scanned unless an
operator configures an address (``KURA_DELIVERABLES__CLAMD_URL``, ``kura validate --clamd``).
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from urllib.parse import urlsplit

from indexer.extract.deliverable.content import ScanResult

MAX_REPLY = 4096


class ClamdScanner:
    name = "ClamAV (clamd)"

    def __init__(self, url: str, timeout_s: float = 60.0) -> None:
        parts = urlsplit(url)
        if parts.scheme == "tcp" and parts.hostname and parts.port:
            self.family = socket.AF_INET
            self.address: str | tuple[str, int] = (parts.hostname, parts.port)
        elif parts.scheme == "unix" and parts.path:
            self.family = socket.AF_UNIX
            self.address = parts.path
        else:
            raise ValueError(f"clamd address must be tcp://host:port or unix:///path: {url}")
        self.timeout_s = timeout_s

    def _connect(self) -> socket.socket:
        sock = socket.socket(self.family, socket.SOCK_STREAM)
        try:
            sock.settimeout(self.timeout_s)
            sock.connect(self.address)
        except OSError:
            sock.close()
            raise
        return sock

    def ping(self) -> bool:
        """Whether clamd answers ``PONG``."""
        try:
            with self._connect() as sock:
                sock.sendall(b"zPING\0")
                return _reply(sock) == "PONG"
        except OSError:
            return False

    def scan(self, chunks: Iterator[bytes]) -> ScanResult:
        """Stream one file to clamd; never raises (a failure is ``error``)."""
        try:
            with self._connect() as sock:
                sock.sendall(b"zINSTREAM\0")
                for chunk in chunks:
                    if chunk:
                        sock.sendall(len(chunk).to_bytes(4, "big") + chunk)
                sock.sendall(b"\0\0\0\0")
                answer = _reply(sock)
        except OSError as exc:
            return ScanResult("error", detail=f"clamdに接続できません（{exc}）")
        if answer.endswith("FOUND"):
            signature = answer.split(":", 1)[-1].strip()[: -len("FOUND")].strip()
            return ScanResult("infected", signature=signature)
        if answer.endswith(": OK") or answer == "OK":
            return ScanResult("clean")
        return ScanResult("error", detail=answer or "clamdから応答がありません")


def _reply(sock: socket.socket) -> str:
    data = b""
    while not data.endswith(b"\0") and len(data) < MAX_REPLY:
        part = sock.recv(1024)
        if not part:
            break
        data += part
    return data.rstrip(b"\0").decode("utf-8", errors="replace").strip()
