"""The write path of one local ``put``: its bytes hashed in one thread of its own and (sealed,
then) written in another, while the event loop receives the next chunks.

A durable put of a large object costs at least what its slowest stage costs: SHA-256 runs at
about 1.1-1.6 GB/s on one core (the faster when the bytes are still in the CPU's cache), the
write into the page cache at several GB/s, the AES-GCM of a sealed object at several GB/s, and
the disk takes the bytes at its own pace. Run one after the other per batch (as ``put`` did),
these add up; here each stage is a thread of its own (a lane: ``storage.blobs.lanes``), fed
batch by batch (``submit``), so on two cores the put takes about as long as its slowest stage:

- the **hasher** updates the SHA-256 of the plaintext (``hashlib`` releases the GIL);
- the **writer** seals (if the object is sealed) and writes each batch with plain ``os``
  calls, and asks the kernel to start writing back every few MiB (``sync_file_range`` with
  ``SYNC_FILE_RANGE_WRITE`` on Linux: it starts the writeback and does not wait for it), so
  the disk works while the rest arrives and the closing ``fsync`` finds little left to do.
  That call makes nothing durable by itself; ``put`` still fsyncs the file, the sidecar and
  the folders before it returns.

Memory is bounded: ``submit`` waits while more than ``window`` bytes are queued or in work
(the batches are the caller's own chunks, never copied). A batch hashed soon after it arrived
is hashed from the cache, so the window is kept small.

Ending: ``finish`` waits for both threads and raises the first error (an ``OSError`` of the
writer, disk full or read-only, as the store's error); the file descriptor then belongs to the
caller (the commit).
``abort`` (an exception, a cancelled put) returns at once: it stops both threads after the
batch in hand and the writer closes the descriptor when it stops (a cancelled task may not
await again); ``put`` removes the temp file itself, which is safe while a thread still holds
it open.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import functools
import os
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, cast

from storage.blobs.lanes import Lane, Lanes
from storage.blobs.sealing import Encoder
from storage.errors import from_os_error

_SYNC_FILE_RANGE_WRITE = 2  # linux/fs.h: start writeback of dirty pages, do not wait
_IOV_MAX = 1024
# Page-cache writes of at most this many bytes per call. A larger write makes the kernel
# allocate large folios for it (up to 2 MiB): measured on the 2-core VM of CI, 1 GiB written
# in 2 MiB calls took 1.2-1.8 s of CPU, in 256 KiB calls 0.3-0.5 s (the same bytes).
WRITE_PIECE = 256 << 10
_Batch = list[bytes]


@functools.cache
def _sync_file_range() -> Callable[[int, int, int, int], int] | None:
    """Linux ``sync_file_range(2)`` through the C library (Python has no binding), or None.
    ``ctypes`` releases the GIL during the call."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
        fn = libc.sync_file_range
    except (OSError, AttributeError):
        return None
    fn.argtypes = [ctypes.c_int, ctypes.c_int64, ctypes.c_int64, ctypes.c_uint]
    fn.restype = ctypes.c_int
    return cast(Callable[[int, int, int, int], int], fn)


def start_writeback(fd: int, offset: int, length: int) -> None:
    """Ask the kernel to start writing ``[offset, offset + length)`` of ``fd`` to the disk,
    without waiting (a hint: errors are ignored; the closing fsync reports real ones)."""
    fn = _sync_file_range()
    if fn is not None and length > 0:
        fn(fd, offset, length, _SYNC_FILE_RANGE_WRITE)


def write_all(fd: int, parts: Sequence[bytes | memoryview]) -> int:
    """Write ``parts`` in order, in calls of at most ``WRITE_PIECE`` bytes (``writev`` of
    several small parts at once; short writes continued); the bytes written."""
    total = 0
    for group in _pieces(parts):
        want = sum(len(p) for p in group)
        done = os.writev(fd, group)
        total += done
        if done < want:  # rare on a regular file (a signal, a full disk mid-write)
            rest = memoryview(b"".join(group))[done:]  # a copy, in this rare case only
            while rest:
                n = os.write(fd, rest)
                total += n
                rest = rest[n:]
    return total


def append_batch(fd: int, groups: Iterable[Sequence[bytes | memoryview]]) -> int:
    """One batch of an append request written at ``fd``'s position (``write_all`` of each
    group, taken one at a time: a sealed piece is a view valid until the next is asked for),
    then the kernel asked to start writing it back (``start_writeback``): the request ends
    with an fsync, which then finds little left to write instead of the whole request
    (measured: a 1 GiB tus upload in 64 MiB PATCHes 10-15 % faster). The bytes written."""
    start = os.lseek(fd, 0, os.SEEK_CUR)
    written = 0
    for group in groups:
        written += write_all(fd, group)
    start_writeback(fd, start, written)
    return written


def _pieces(parts: Sequence[bytes | memoryview]) -> Iterator[list[bytes | memoryview]]:
    """``parts`` regrouped into lists of at most ``WRITE_PIECE`` bytes (and ``_IOV_MAX``
    parts), larger parts cut."""
    group: list[bytes | memoryview] = []
    size = 0
    for part in parts:
        view = memoryview(part) if len(part) > WRITE_PIECE - size else part
        while len(view) > WRITE_PIECE - size:
            take = WRITE_PIECE - size
            if take:
                group.append(view[:take])
            yield group
            group, size = [], 0
            view = view[take:]
        if len(view):
            group.append(view)
            size += len(view)
        if len(group) >= _IOV_MAX:
            yield group
            group, size = [], 0
    if group:
        yield group


class PutPipe(Lanes):
    """Hasher and writer threads of one put into the open file ``fd`` (see the module)."""

    def __init__(
        self,
        fd: int,
        digest: Any,
        enc: Encoder | None,
        *,
        name: str = "local",
        window: int = 4 << 20,
        writeback_every: int = 8 << 20,
    ) -> None:
        super().__init__(
            [("kura-put-hash", self._hash), ("kura-put-write", self._write)], window=window
        )
        self.fd = fd
        self._name = name
        self._digest = digest
        self._enc = enc
        self._writeback_every = writeback_every
        self._written = 0  # bytes written to fd (sealed: stored bytes)
        self._flushed = 0  # start of the range not yet handed to the writeback
        self._lock = threading.Lock()
        self._fd_closed = False
        self._hasher, self._writer = self.lanes

    def start(self, header: bytes = b"") -> None:
        """Start both threads; ``header`` is written before the first batch."""
        if header:
            self._writer.push([header], 0, self._write_raw)
        super().start()

    # -- the threads ----------------------------------------------------------------

    def _hash(self, batch: _Batch) -> None:
        for chunk in batch:
            self._digest.update(chunk)

    def _write(self, batch: _Batch) -> None:
        if self._enc is None:
            self._write_raw(batch)
        else:
            for piece in self._enc.feed_pieces(batch):
                self._write_raw([piece])

    def _write_final(self, batch: _Batch) -> None:
        """The final segment of a sealed object, sealed after every batch was fed."""
        assert self._enc is not None
        self._write_raw([self._enc.finish()])

    def _write_raw(self, parts: _Batch | list[memoryview]) -> None:
        """``parts`` written as they are (a batch, a sealed piece, a sealed object's header);
        every ``writeback_every`` bytes the kernel is asked to start writing them back."""
        self._written += write_all(self.fd, parts)
        if self._written - self._flushed >= self._writeback_every:
            start_writeback(self.fd, self._flushed, self._written - self._flushed)
            self._flushed = self._written

    def lane_ended(self, lane: Lane) -> None:
        if lane is self._writer:
            with self._lock:
                close = self.aborted and not self._fd_closed
                self._fd_closed = self._fd_closed or close
            if close:
                with contextlib.suppress(OSError):
                    os.close(self.fd)
        self.wake()

    # -- the event loop ---------------------------------------------------------------

    async def finish(self) -> None:
        """Wait for both threads (the writer ends a sealed object with its final segment)
        and raise the first error."""
        if self._enc is not None:
            self._writer.push([], 0, self._write_final)
        await self.join()
        self.raise_error()

    def abort(self) -> None:
        """Stop both threads after the batch in hand, without waiting; the writer closes the
        descriptor when it stops (or here, if it has stopped already)."""
        with self._lock:
            self.aborted = True
            stopped = self._writer.finished or not self._writer.started
            close = stopped and not self._fd_closed
            self._fd_closed = self._fd_closed or close
        super().abort()
        if close:
            with contextlib.suppress(OSError):
                os.close(self.fd)

    def raise_error(self) -> None:
        """The writer's error first: an ``OSError`` (the disk full, read-only, gone) as the
        store's error."""
        for lane in (self._writer, self._hasher):
            error = lane.error
            if isinstance(error, OSError):
                raise from_os_error(self._name, error) from error
            if error is not None:
                raise error
