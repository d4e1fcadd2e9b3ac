"""Threads that each do their own work on every batch of one request, in order (``Lanes``).

A put (``putpipe.PutPipe``) and an append request (``append.Pipeline``) both hash the bytes they
receive and write them (sealed or not): two jobs on the same batches that need not wait for
each other. Each job is a *lane*, a thread of the request taking the batches from its queue in
the order they were submitted, while the event loop receives the next ones; on two cores the
request then costs about its slowest lane, not the sum of all, and a lane may run up to
``window`` bytes behind the event loop (memory: the window plus the batch being gathered).

Threads of their own rather than a hop through the default executor per batch: a hop costs a
wake-up of a pool thread and of the event loop each way, and the writer and the hasher of one
batch would run, and be waited for, in step (measured: an append of 1 GiB in 8 MiB requests
was bound by those hops at half the speed of its SHA-256).

- ``submit`` queues a batch for every lane and waits while more than ``window`` bytes are
  queued or in work; it raises the first error of a lane (a lane stops at its first error
  and skips what is queued after it).
- ``join`` ends the lanes once they have done every batch queued and waits for that.
- ``abort`` (a cancelled put) stops the lanes after the batch in hand, without waiting.
- A lane's work may return a value (the S3 spool: the segments a batch completed); those
  are kept in order and handed out by ``results``.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import threading
from collections.abc import Callable, Sequence
from typing import Any

Batch = list[bytes]
Work = Callable[[Batch], Any]


class Lane:
    """One thread applying ``work`` to the batches queued for it, in order."""

    def __init__(self, owner: Lanes, name: str, work: Work) -> None:
        self._owner = owner
        self._work = work
        self._queue: queue.SimpleQueue[tuple[Batch, int, Work | None] | None] = queue.SimpleQueue()
        self.results: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self.done = 0  # bytes of the batches handled
        self.error: BaseException | None = None
        self.started = False
        self.finished = False
        self.thread = threading.Thread(target=self._run, name=name, daemon=True)

    def push(self, batch: Batch, size: int, work: Work | None = None) -> None:
        """Queue ``batch`` (``size`` bytes of content) for the lane's work, or for ``work``
        instead (a put's header or final segment: written in order with the batches)."""
        self._queue.put((batch, size, work))

    def end(self) -> None:
        self._queue.put(None)

    def _run(self) -> None:
        try:
            while (item := self._queue.get()) is not None:
                if self._owner.aborted:
                    continue  # drain what is queued without work
                batch, size, work = item
                result = (work or self._work)(batch)
                if result is not None:
                    self.results.put(result)
                self.done += size
                self._owner.wake()
        except BaseException as exc:  # handed to the event loop by submit/join
            self.error = exc
        finally:
            self.finished = True
            self._owner.lane_ended(self)


class Lanes:
    """The lanes of one request (see the module); made in the event loop's thread."""

    def __init__(self, works: Sequence[tuple[str, Work]], *, window: int) -> None:
        self.window = window
        self.submitted = 0
        self.aborted = False
        self._loop = asyncio.get_running_loop()
        self._waiter: asyncio.Future[None] | None = None
        self.lanes = [Lane(self, name, work) for name, work in works]

    def start(self) -> None:
        for lane in self.lanes:
            lane.thread.start()
            lane.started = True

    @property
    def started(self) -> bool:
        return any(lane.started for lane in self.lanes)

    # -- the threads ----------------------------------------------------------------

    def wake(self) -> None:
        """From a thread: let the event loop re-check (only when it waits)."""
        waiter = self._waiter
        if waiter is not None:
            with contextlib.suppress(RuntimeError):  # the loop is closed: nobody waits
                self._loop.call_soon_threadsafe(_resolve, waiter)

    def lane_ended(self, lane: Lane) -> None:
        self.wake()

    # -- the event loop ---------------------------------------------------------------

    async def submit(self, batch: Batch, size: int) -> None:
        """Queue ``batch`` (``size`` bytes) for every lane; wait while the window is full.
        Raises a lane's error."""
        self.raise_error()
        self.submitted += size
        for lane in self.lanes:
            lane.push(batch, size)
        if not self._room():
            await self._wait(self._room)
        self.raise_error()

    async def join(self) -> None:
        """End the lanes after every batch queued and wait for them (no error raised: see
        ``raise_error``)."""
        for lane in self.lanes:
            lane.end()
        if self.started:
            await self._wait(self._ended)

    def abort(self) -> None:
        """Stop the lanes after the batch in hand, without waiting."""
        self.aborted = True
        for lane in self.lanes:
            lane.end()

    def results(self) -> list[Any]:
        """The values the lanes' work returned since the last call, lane by lane, in order."""
        out: list[Any] = []
        for lane in self.lanes:
            with contextlib.suppress(queue.Empty):
                while True:
                    out.append(lane.results.get_nowait())
        return out

    def first_error(self) -> BaseException | None:
        """The error of the first lane (in the order given) that failed, if any."""
        return next((lane.error for lane in self.lanes if lane.error is not None), None)

    def raise_error(self) -> None:
        error = self.first_error()
        if error is not None:
            raise error

    async def _wait(self, ready: Callable[[], bool]) -> None:
        """Until ``ready()``; the condition is checked after the waiter is set, so a thread
        that moved on just before (and saw no waiter) is not missed."""
        while True:
            waiter = self._waiter = self._loop.create_future()
            try:
                if ready():
                    return
                await waiter
            finally:
                self._waiter = None

    def _room(self) -> bool:
        if any(lane.error is not None or lane.finished for lane in self.lanes):
            return True  # a lane failed: submit raises its error
        return self.submitted - min(lane.done for lane in self.lanes) <= self.window

    def _ended(self) -> bool:
        return all(lane.finished or not lane.started for lane in self.lanes)


def _resolve(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)
