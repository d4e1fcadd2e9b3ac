"""Sealed objects: AES-256-GCM in fixed-size segments, one data key per scope (issue 12 §1).

Both blob adapters store an object whose key (or append handle) the ``Sealing`` policy names
as belonging to a scope in this format, and give callers the plaintext back: ``get`` with a
range decrypts only the segments the range touches, ``stat`` and ``list`` report plaintext
sizes, the SHA-256 is the plaintext's (computed once, as before). Nothing above the blob port
changes.

Format (version 1)::

    header   40 bytes   b"KSG1" | 16 (log2 of the segment size) | 3 zero bytes
                        | key id (16 bytes: which data key) | object id (16 random bytes)
    segment  i = 0 .. n-2: AES-256-GCM(k_obj, nonce(i, 0), 64 KiB of plaintext, aad=header)
    segment  n-1 (final):  AES-256-GCM(k_obj, nonce(n-1, 1), 0 .. 64 KiB-1 bytes, aad=header)

- ``k_obj = HMAC-SHA256(data key, "kura-blob-segments/1" || object id)``: a key per object, so
  the deterministic nonces never repeat under one key; the data key itself never encrypts.
- ``nonce(i, final) = i (8 bytes, big-endian) || final (1 byte) || 3 zero bytes``: a segment
  moved to another place, another object, or a non-final segment presented as the last one
  (a truncated object) fails its tag; the header (key id, object id) is authenticated data of
  every segment, so an altered header fails too. Every failure raises ``Tampered``.
- The final segment always exists and holds ``size % 64 KiB`` bytes (an empty final segment
  when the size is a multiple, or the object empty), so sizes convert both ways by arithmetic:
  ``stored = 40 + size + (size // 65536 + 1) * 16``. ``list`` needs no header read.
- An append target (tus upload) holds the header and full, non-final segments; the partial
  last segment ("tail", fewer than 64 KiB) lives in the adapter's state sealed under
  ``k_tail = HMAC-SHA256(data key, "kura-blob-tail/1" || object id)`` with a random nonce (it
  is rewritten by every request, so its nonce cannot be derived), and becomes the final
  segment at ``append_finish``.

Algorithms (seed 001 別表3 2(2), CRYPTREC 暗号リスト): AES (128-bit block cipher) in GCM
(authenticated encryption mode), HMAC-SHA256 (message authentication code, used as the
key-derivation PRF as in NIST SP 800-108), SHA-256 for content digests. ``cryptography``'s
``AESGCM`` (OpenSSL) does the AES.

Keys come from a ``KeyRing`` (``api.protect.keys``): the current data key of a scope for new
objects, any key by id for reading; a destroyed key (an erased scope) raises
``KeyDestroyed``, which is what makes erasure irreversible.
"""

from __future__ import annotations

import asyncio
import base64
import contextvars
import hashlib
import hmac
import os
import threading
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from storage.errors import Tampered

MAGIC = b"KSG1"
SEG_LOG2 = 16
SEGMENT = 1 << SEG_LOG2  # plaintext bytes per segment (64 KiB)
TAG = 16
STORED_SEGMENT = SEGMENT + TAG
KEY_ID_BYTES = 16
OBJECT_ID_BYTES = 16
HEADER = 8 + KEY_ID_BYTES + OBJECT_ID_BYTES  # 40
_NONCE_PAD = b"\0\0\0"
_SEGMENT_LABEL = b"kura-blob-segments/1"
_TAIL_LABEL = b"kura-blob-tail/1"


class DataKey:
    """One scope's data key, unwrapped: 32 secret bytes in a ``bytearray`` that ``wipe``
    zeroes (Python cannot promise that no other copy exists; this one at least does not
    outlive its cache entry)."""

    __slots__ = ("_secret", "key_id", "scope")

    def __init__(self, key_id: bytes, secret: bytes | bytearray, scope: str) -> None:
        if len(key_id) != KEY_ID_BYTES or len(secret) != 32:
            raise ValueError("a data key is 32 bytes with a 16-byte id")
        self.key_id = bytes(key_id)
        self.scope = scope
        self._secret = bytearray(secret)

    def derive(self, label: bytes, object_id: bytes) -> bytes:
        """A 32-byte key for one object: HMAC-SHA256(data key, label || object id)."""
        if not any(self._secret):
            raise Tampered("data key was wiped")
        return hmac.new(bytes(self._secret), label + object_id, hashlib.sha256).digest()

    def wipe(self) -> None:
        for i in range(len(self._secret)):
            self._secret[i] = 0

    def __repr__(self) -> str:  # never print the secret
        return f"DataKey({self.key_id.hex()}, scope={self.scope!r})"


class KeyRing(Protocol):
    """Where sealed objects get their data keys (implemented by ``api.protect.keys``)."""

    async def current(self, scope: str) -> DataKey:
        """The data key new objects of ``scope`` are sealed with (made on first use).
        ``KeyDestroyed`` if the scope was erased: nothing new may be stored in it."""

    async def by_id(self, key_id: bytes) -> DataKey:
        """The data key with this id; ``KeyDestroyed`` once its scope was erased."""


@dataclass(frozen=True)
class Header:
    key_id: bytes
    object_id: bytes
    raw: bytes

    @classmethod
    def new(cls, key_id: bytes) -> Header:
        object_id = os.urandom(OBJECT_ID_BYTES)
        raw = MAGIC + bytes([SEG_LOG2]) + b"\0\0\0" + key_id + object_id
        return cls(key_id, object_id, raw)

    @classmethod
    def parse(cls, raw: bytes) -> Header:
        if len(raw) < HEADER or raw[:4] != MAGIC or raw[4] != SEG_LOG2 or raw[5:8] != b"\0\0\0":
            raise Tampered("sealed object header is missing or altered")
        raw = bytes(raw[:HEADER])
        return cls(raw[8:24], raw[24:40], raw)


def _nonce(index: int, final: bool) -> bytes:
    return index.to_bytes(8, "big") + (b"\x01" if final else b"\x00") + _NONCE_PAD


class ObjectSeal:
    """Seals and opens the segments (and the append tail) of one object."""

    def __init__(self, key: DataKey, header: Header) -> None:
        if key.key_id != header.key_id:
            raise Tampered("sealed object names another key")
        self.header = header
        self._key = key
        self._aead = AESGCM(key.derive(_SEGMENT_LABEL, header.object_id))
        self._tail_aead: AESGCM | None = None  # only appends need it: made on first use

    @property
    def _tail(self) -> AESGCM:
        if self._tail_aead is None:
            self._tail_aead = AESGCM(self._key.derive(_TAIL_LABEL, self.header.object_id))
        return self._tail_aead

    def seal(self, index: int, data: bytes | bytearray | memoryview, final: bool) -> bytes:
        return self._aead.encrypt(_nonce(index, final), data, self.header.raw)

    def seal_into(
        self, index: int, data: bytes | bytearray | memoryview, final: bool, out: memoryview
    ) -> None:
        """``seal`` into ``out`` (exactly the sealed length: plaintext + 16), no new object."""
        self._aead.encrypt_into(_nonce(index, final), data, self.header.raw, out)

    def open(self, index: int, data: bytes | bytearray | memoryview, final: bool) -> bytes:
        try:
            return self._aead.decrypt(_nonce(index, final), data, self.header.raw)
        except InvalidTag:
            kind = "final " if final else ""
            raise Tampered(f"{kind}segment {index} failed authentication") from None

    def open_into(
        self, index: int, data: bytes | bytearray | memoryview, final: bool, out: memoryview
    ) -> None:
        """``open`` into ``out`` (exactly the plaintext's length), without a new object."""
        try:
            self._aead.decrypt_into(_nonce(index, final), data, self.header.raw, out)
        except InvalidTag:
            kind = "final " if final else ""
            raise Tampered(f"{kind}segment {index} failed authentication") from None

    def seal_tail(self, index: int, data: bytes) -> str:
        """The partial last segment of an append target, for the adapter's state (base64)."""
        nonce = os.urandom(12)
        aad = self.header.raw + index.to_bytes(8, "big")
        return base64.b64encode(nonce + self._tail.encrypt(nonce, data, aad)).decode()

    def open_tail(self, index: int, sealed: str) -> bytes:
        if not sealed:
            return b""
        try:
            blob = base64.b64decode(sealed, validate=True)
            aad = self.header.raw + index.to_bytes(8, "big")
            return self._tail.decrypt(blob[:12], blob[12:], aad)
        except (InvalidTag, ValueError):
            raise Tampered(f"append tail at segment {index} failed authentication") from None


# -- sizes --------------------------------------------------------------------------------


def stored_size(plain: int) -> int:
    """Bytes stored for ``plain`` bytes of content."""
    return HEADER + plain + (plain // SEGMENT + 1) * TAG


def plain_size(stored: int) -> int:
    """Content bytes of a sealed object of ``stored`` bytes; ``Tampered`` when no sealed
    object has that size (cut inside a segment)."""
    body = stored - HEADER - TAG
    if body < 0:
        raise Tampered(f"sealed object too short ({stored} bytes)")
    full, rest = divmod(body, STORED_SEGMENT)
    if rest >= SEGMENT:
        raise Tampered(f"sealed object cut inside a segment ({stored} bytes)")
    return full * SEGMENT + rest


def listed_size(stored: int) -> int:
    """``plain_size`` for listings, which must not fail: a damaged size reads as 0
    (``kura scrub`` names the object)."""
    try:
        return plain_size(stored)
    except Tampered:
        return 0


def appended_size(stored: int) -> int:
    """Full segments in an append target of ``stored`` bytes (header included), rounded down:
    bytes past the last whole segment were never committed."""
    return max(0, stored - HEADER) // STORED_SEGMENT


# -- writing ------------------------------------------------------------------------------


class Encoder:
    """Turns a stream of plaintext into segments. ``feed`` seals every full segment as a
    non-final one (a multiple of 64 KiB ends with an empty final segment, so nothing needs
    holding back); ``finish`` seals what is left as the final one. Between requests of an
    append the leftover (``pending``) is kept sealed as the tail."""

    def __init__(self, seal: ObjectSeal, index: int = 0, pending: bytes = b"") -> None:
        self.seal = seal
        self.index = index
        self.pending = bytearray(pending)
        self.size = index * SEGMENT + len(pending)  # plaintext bytes fed so far

    def _segments(self, batch: list[bytes]) -> Iterator[bytes | bytearray | memoryview]:
        """The full segments ``batch`` completes, in order (the pending bytes first), each
        yielded before the index moves on; what is left of the last chunk stays pending."""
        for data in batch:
            if not data:
                continue
            self.size += len(data)
            view = memoryview(data)
            pos = 0
            if self.pending:
                take = min(SEGMENT - len(self.pending), len(view))
                self.pending += view[:take]
                pos = take
                if len(self.pending) < SEGMENT:
                    continue
                yield self.pending
                self.index += 1
                self.pending = bytearray()
            end = len(view)
            while end - pos >= SEGMENT:
                yield view[pos : pos + SEGMENT]
                self.index += 1
                pos += SEGMENT
            if pos < end:
                self.pending = bytearray(view[pos:])

    def feed(self, data: bytes) -> list[bytes]:
        return self.feed_all([data])

    def feed_all(self, batch: list[bytes]) -> list[bytes]:
        return [self.seal.seal(self.index, segment, False) for segment in self._segments(batch)]

    def feed_pieces(self, batch: list[bytes]) -> Iterator[memoryview]:
        """``feed_all`` into a buffer kept per thread (``scratch``): the sealed segments the
        batch completes, in pieces of at most ``PIECE_SEGMENTS`` segments, each a view valid
        until the next piece (write it before asking for the next, and take them all: the
        batch is fed as they are asked for). No object per segment (a put's writer thread:
        the AES then costs a third less), and the buffer stays the same whatever the batch's
        size: a batch of more than ``SCRATCH_MAX`` bytes would get
        a fresh, zero-filled buffer every time (tus appends gather 2 MiB and more: that
        cost a sealed upload a third of its speed)."""
        full = (len(self.pending) + sum(len(c) for c in batch)) // SEGMENT
        out = scratch("seal", min(full, PIECE_SEGMENTS) * STORED_SEGMENT)
        end = len(out) - len(out) % STORED_SEGMENT
        at = 0
        for segment in self._segments(batch):
            self.seal.seal_into(self.index, segment, False, out[at : at + STORED_SEGMENT])
            at += STORED_SEGMENT
            if at + STORED_SEGMENT > end:
                yield out[:at]
                at = 0
        if at:
            yield out[:at]

    def finish(self) -> bytes:
        """The final segment (the pending bytes, maybe none)."""
        sealed = self.seal.seal(self.index, bytes(self.pending), True)
        self.index += 1
        self.pending = bytearray()
        return sealed

    def tail(self) -> str:
        return self.seal.seal_tail(self.index, bytes(self.pending))


def seal_whole(seal: ObjectSeal, data: bytes) -> bytes:
    """A whole small object sealed at once (``put_many``)."""
    enc = Encoder(seal)
    return b"".join([seal.header.raw, *enc.feed(data), enc.finish()])


# -- reading ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Span:
    """The stored bytes ``[stored_from, stored_to)`` holding plaintext ``[start, end)``."""

    first: int  # first segment index
    segments: int  # segments of the whole object
    stored_from: int
    stored_to: int
    skip: int  # plaintext bytes to drop from the first segment
    take: int  # plaintext bytes to yield in all


def span(start: int, end: int | None, size: int) -> Span | None:
    """Which stored bytes a ranged read of ``[start, end)`` needs (``end`` clamped to the
    size); None when nothing is to be read."""
    stop = size if end is None else min(end, size)
    if start >= stop:
        return None
    segments = size // SEGMENT + 1
    first, last = start // SEGMENT, (stop - 1) // SEGMENT
    last_len = (size - last * SEGMENT) if last == segments - 1 else SEGMENT
    return Span(
        first=first,
        segments=segments,
        stored_from=HEADER + first * STORED_SEGMENT,
        stored_to=HEADER + last * STORED_SEGMENT + last_len + TAG,
        skip=start - first * SEGMENT,
        take=stop - start,
    )


_SCRATCH = threading.local()
SCRATCH_MAX = 2 * SEGMENT + (2 << 20)  # larger buffers are made for one use only
PIECE_SEGMENTS = 32  # sealed segments per piece of ``Encoder.feed_pieces`` (< SCRATCH_MAX)


def scratch(name: str, size: int) -> memoryview:
    """A buffer of at least ``size`` bytes kept per thread and ``name`` (its contents are
    left over from the last use). Reads of sealed objects decrypt into it and copy out only
    the plaintext; a fresh buffer per read would be zero-filled or page-faulted every time,
    which costs as much as the AES (ranged reads: most of their overhead)."""
    if size > SCRATCH_MAX:
        return memoryview(bytearray(size))
    found: bytearray | None = getattr(_SCRATCH, name, None)
    if found is None or len(found) < size:
        found = bytearray(max(size, 1 << 17))
        setattr(_SCRATCH, name, found)
    return memoryview(found)


class SpanReader:
    """Opens the stored bytes of a ``Span`` as they come (``feed``) and gives the plaintext
    of every segment completed so far, cut to the range. Synchronous, so a worker thread can
    read a block and open it in one call. A segment split between two pieces is joined from
    its two parts alone (at most one segment is copied per piece, never the whole piece).

    Segments are decrypted into a buffer kept per thread (``decrypt_into``, ``scratch``),
    and the answer is one copy of the wanted part of it: a fresh megabyte-sized object per segment
    group and a join of sixteen segment objects cost several times the decryption itself
    (measured: 0.8 ms per MiB, the AES 0.3 ms)."""

    def __init__(self, seal: ObjectSeal, plan: Span) -> None:
        self.seal = seal
        self.plan = plan
        self.index = plan.first
        self.skip = plan.skip
        self.left = plan.take
        self._part = bytearray()  # the start of a segment the next piece completes

    @property
    def done(self) -> bool:
        return self.left <= 0

    def _room(self, size: int) -> memoryview:
        return scratch("open", size)

    def _open(self, data: bytes | bytearray | memoryview, out: memoryview, at: int) -> int:
        """Decrypt one stored segment into ``out[at:]``; the plaintext's length."""
        index = self.index
        size = len(data) - TAG
        self.seal.open_into(index, data, index == self.plan.segments - 1, out[at : at + size])
        self.index = index + 1
        return size

    def feed(self, data: bytes | bytearray | memoryview) -> bytes:
        """The plaintext of the segments ``data`` completes (b"" when none)."""
        view = memoryview(data)
        out = self._room(len(view) + SEGMENT)  # the plaintext of the part and of ``data``
        pos = made = 0
        if self._part and self.left > 0:
            want = _want(self.index, self.plan)
            take = want - len(self._part)
            self._part += view[:take]
            pos = min(take, len(view))
            if len(self._part) < want:
                return b""
            made = self._open(self._part, out, 0)
            self._part = bytearray()
        while made - self.skip < self.left:
            want = _want(self.index, self.plan)
            if len(view) - pos < want:
                self._part = bytearray(view[pos:])
                break
            made += self._open(view[pos : pos + want], out, made)
            pos += want
        if made <= self.skip:  # nothing of the range yet (or nothing completed)
            self.skip -= made
            return b""
        end = min(made, self.skip + self.left)
        plain = bytes(out[self.skip : end])
        self.left -= end - self.skip
        self.skip = 0
        return plain

    def finish(self) -> None:
        """``Tampered`` unless the whole range was opened (the stored bytes ended early)."""
        if self.left > 0:
            raise Tampered("sealed object is shorter than its size says")


async def rechunk(blocks: AsyncIterator[bytes], chunk_size: int) -> AsyncGenerator[bytes, None]:
    """``blocks`` as pieces of exactly ``chunk_size`` bytes (the last one shorter). A block of
    exactly that size passes as it is (a read aligned to segments copies nothing here)."""
    out: list[bytes] = []
    pending = 0
    try:
        async for block in blocks:
            if not block:
                continue
            if not out and len(block) == chunk_size:
                yield block
                continue
            out.append(block)
            pending += len(block)
            while pending >= chunk_size:
                joined = b"".join(out) if len(out) > 1 else out[0]
                yield joined[:chunk_size] if len(joined) > chunk_size else joined
                rest = joined[chunk_size:]
                out, pending = ([rest] if rest else []), len(rest)
        if out:
            yield b"".join(out)
    finally:
        # A consumer that stops early closes ``blocks`` now (its file or connection), not
        # whenever the garbage collector finalizes it.
        await _aclose(blocks)


async def _aclose(source: AsyncIterator[bytes]) -> None:
    close = getattr(source, "aclose", None)
    if close is not None:
        await close()


Step = Callable[[], tuple[bytes, bool]]


async def read_ahead(step: Step, close: Callable[[], None]) -> AsyncGenerator[bytes, None]:
    """The blocks ``step`` returns (blocking: read stored bytes and open them; with whether
    more follow), each call in a worker thread, the next call already running while the
    consumer handles the current block: reading and decrypting overlap with sending (or
    writing) the plaintext, so they add little to a download's time.

    ``close`` (release the file or connection) runs once, after the last call has finished:
    a call still running when the consumer stops is waited for in a worker thread (a lock),
    never raced, and a call not started yet does nothing."""
    lock = threading.Lock()
    closed = False

    def guarded() -> tuple[bytes, bool]:
        with lock:
            if closed:
                return b"", False
            return step()

    def shut() -> None:
        nonlocal closed
        with lock:
            if not closed:
                closed = True
                close()

    loop = asyncio.get_running_loop()

    def submit() -> asyncio.Future[tuple[bytes, bool]]:
        # Handed to a worker thread now, not when the loop next runs a task: the consumer
        # usually works on the block just yielded without giving the loop a turn (hashing
        # it, say), and that is when the next call should run, not later while the consumer
        # writes (both would then want the GIL at once).
        return loop.run_in_executor(None, contextvars.copy_context().run, guarded)

    ahead: asyncio.Future[tuple[bytes, bool]] | None = None
    try:
        call = ahead = submit()
        while True:
            block, more = await call
            ahead = None
            if more:
                call = ahead = submit()
            if block:
                yield block
            if not more:
                return
    finally:
        if ahead is None or ahead.done():
            if ahead is not None:
                ahead.add_done_callback(_ignore)  # its outcome is of no use now
            shut()  # no call in flight: nothing to wait for
        else:
            ahead.cancel()
            ahead.add_done_callback(_ignore)
            await asyncio.to_thread(shut)  # waits for the call still running


def _ignore(task: asyncio.Future[tuple[bytes, bool]]) -> None:
    if not task.cancelled():
        task.exception()


async def open_stream(
    seal: ObjectSeal, plan: Span, stored: AsyncIterator[bytes], chunk_size: int
) -> AsyncIterator[bytes]:
    """Decrypt ``stored`` (the bytes of ``plan``) segment by segment and yield the plaintext
    range in pieces of ``chunk_size``. A short read is ``Tampered``."""
    reader = SpanReader(seal, plan)

    async def blocks() -> AsyncIterator[bytes]:
        try:
            async for data in stored:
                plain = reader.feed(data)
                if plain:
                    yield plain
                if reader.done:
                    break
        finally:
            await _aclose(stored)
        reader.finish()

    async for piece in rechunk(blocks(), chunk_size):
        yield piece


def open_block(seal: ObjectSeal, data: bytes, index: int, segments: int) -> bytes:
    """Decrypt whole consecutive stored segments (starting at ``index``; the last one may be
    the final, shorter one) in one call: what a reader running in a worker thread does with
    a block it read, without going back to the event loop per segment."""
    view = memoryview(data)
    out: list[bytes] = []
    pos = 0
    while pos < len(view):
        want = min(STORED_SEGMENT, len(view) - pos)
        out.append(seal.open(index, view[pos : pos + want], index == segments - 1))
        pos += want
        index += 1
    return out[0] if len(out) == 1 else b"".join(out)


def _want(index: int, plan: Span) -> int:
    if index == plan.segments - 1:
        return plan.stored_to - (HEADER + index * STORED_SEGMENT)
    return STORED_SEGMENT


async def plain_digest(
    seal: ObjectSeal, size: int, stored: Callable[[int, int], AsyncIterator[bytes]]
) -> tuple[str, int]:
    """SHA-256 and size of a sealed object's plaintext, reading it through ``stored(from,
    to)`` (an append finished after a restart has no running hash)."""
    digest = hashlib.sha256()
    plan = span(0, None, size)
    if plan is None:
        # An empty object: its final segment still has to authenticate.
        data = b"".join([c async for c in stored(HEADER, HEADER + TAG)])
        seal.open(0, data, True)
        return digest.hexdigest(), 0
    async for piece in open_stream(seal, plan, stored(plan.stored_from, plan.stored_to), 1 << 20):
        digest.update(piece)
    return digest.hexdigest(), size


# -- policy -------------------------------------------------------------------------------

ScopeOf = Callable[[str], "str | None"]


class Sealing:
    """What the adapters seal and with which keys: ``scope_of_key(key)`` and
    ``scope_of_handle(handle)`` name the scope of an object or append target (None: stored
    as is, e.g. objects written before sealing was turned on); the key ring gives keys."""

    def __init__(self, keys: KeyRing, scope_of_key: ScopeOf, scope_of_handle: ScopeOf) -> None:
        self.keys = keys
        self.scope_of_key = scope_of_key
        self.scope_of_handle = scope_of_handle

    def sealed_key(self, key: str) -> bool:
        return self.scope_of_key(key) is not None

    def sealed_handle(self, handle: str) -> bool:
        return self.scope_of_handle(handle) is not None

    async def new_seal(self, scope: str) -> ObjectSeal:
        key = await self.keys.current(scope)
        return ObjectSeal(key, Header.new(key.key_id))

    async def open_seal(self, raw_header: bytes) -> ObjectSeal:
        header = Header.parse(raw_header)
        return ObjectSeal(await self.keys.by_id(header.key_id), header)


async def read_header(read: Callable[[int, int], Awaitable[bytes]]) -> bytes:
    data = await read(0, HEADER)
    if len(data) < HEADER:
        raise Tampered("sealed object header is missing")
    return data
