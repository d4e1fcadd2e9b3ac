"""The HTTP protocol the API is served with: uvicorn's httptools protocol without its two
copies of every request-body byte.

uvicorn (0.55) gathers the body bytes a read brought into a ``bytearray`` (``cycle.body +=
body``: a copy) and hands the app ``bytes(cycle.body)`` (a second copy) at each ``receive``.
For an upload that is two more passes over every byte in the event loop's thread, on top of
the socket read's and the parser's: measured on the 2-core machine of ``bench/bench_tus``,
receiving 2 GiB through uvicorn into an app that only counts the bytes took 2.2-2.3 s of wall
time and 2.4-2.5 s of CPU with the stock protocol, 0.9 s and 1.5 s with this one. In a tus
upload of 1 GiB (``bench_tus``, plain, runs of each in turns) the event loop's thread spent
1.16-1.38 CPU seconds with the stock protocol and 0.95-1.2 s with this one.

``KuraHttpProtocol`` keeps uvicorn's protocol as it is (parsing, flow control, keep-alive,
``Expect: 100-continue``, disconnects) and only puts a ``BodyParts`` where uvicorn keeps the
body: ``+=`` keeps a reference to the read's ``bytes``, ``len`` is their total (uvicorn's
flow control compares it with its high-water mark) and ``bytes()`` gives the one ``bytes`` a
read brought as it is (a ``join`` when several reads came before the app asked).

The protocol depends on those two lines of uvicorn, so it is used only where the installed
uvicorn has them (``http_protocol``: checked in its source once); otherwise the API is served
with uvicorn's own protocol, as before (``tests/ops/test_protocol.py`` fails then, so the
change is seen).
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import logging
from typing import Any

logger = logging.getLogger(__name__)

# The lines of uvicorn's httptools protocol this one relies on (``_compatible``).
_ON_BODY_LINE = "self.cycle.body += body"
_RECEIVE_LINE = "bytes(self.body)"


class BodyParts:
    """The body bytes that arrived since the app last received, kept as they came."""

    __slots__ = ("parts", "size")

    def __init__(self) -> None:
        self.parts: list[bytes] = []
        self.size = 0

    def __iadd__(self, data: bytes) -> BodyParts:
        if data:
            self.parts.append(data)
            self.size += len(data)
        return self

    def __len__(self) -> int:
        return self.size

    def __bytes__(self) -> bytes:
        parts = self.parts
        if len(parts) == 1:
            return parts[0]  # the read's own bytes: no copy
        return b"".join(parts)


def _protocol_class(base: type[Any]) -> type[asyncio.Protocol]:
    class KuraHttpProtocol(base):  # type: ignore[misc]
        """uvicorn's httptools protocol, the body kept in a ``BodyParts`` (see the module)."""

        def on_body(self, body: bytes) -> None:
            cycle: Any = self.cycle  # its ``body`` is typed as uvicorn's bytearray
            if type(cycle.body) is not BodyParts:
                # uvicorn starts every request, and restarts after every receive, with an
                # empty bytearray.
                parts = BodyParts()
                parts += bytes(cycle.body)
                cycle.body = parts
            super().on_body(body)

    return KuraHttpProtocol


def _compatible(protocol: type[Any], cycle: type[Any]) -> bool:
    """Whether the installed uvicorn keeps the body as this module expects."""
    try:
        on_body = inspect.getsource(protocol.on_body)
        receive = inspect.getsource(cycle.receive)
    except (OSError, TypeError):  # no source to read
        return False
    return _ON_BODY_LINE in on_body and _RECEIVE_LINE in receive


@functools.cache
def http_protocol() -> type[asyncio.Protocol] | str:
    """What to pass uvicorn as ``http``: ``KuraHttpProtocol`` where the installed uvicorn
    allows it, else ``"auto"`` (uvicorn's choice, as without this module)."""
    try:
        from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol, RequestResponseCycle
    except ImportError:  # no httptools (uvicorn falls back to h11): nothing to improve
        return "auto"
    if not _compatible(HttpToolsProtocol, RequestResponseCycle):
        logger.warning(
            "uvicorn's httptools protocol changed: request bodies are received with its own "
            "protocol (two more copies per byte)"
        )
        return "auto"
    return _protocol_class(HttpToolsProtocol)
