"""Byte streams for the blob-store and archive tests."""

from __future__ import annotations

from collections.abc import AsyncIterator


async def chunks(data: bytes) -> AsyncIterator[bytes]:
    """``data`` as a stream of one chunk (what ``BlobStore.put`` reads)."""
    yield data
