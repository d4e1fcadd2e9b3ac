"""Unit of work: record writes commit together; index updates and job enqueues run after.

Search must never show what the store does not have (invenio's rule), so services call
``uow.index(doc)`` / ``uow.unindex(id)`` / ``uow.enqueue(task, **kw)`` inside the block and
the effects run only once the record transaction has committed. If an after-commit effect
fails, the records stay committed and the drift is reported by ``kura check`` and repaired by
``kura reindex``; the failure is logged, never raised to the caller whose write succeeded.

Jobs are the exception that must not be lost: ``enqueue`` writes a job record *inside* the
transaction (``api.jobs.ledger``, a transactional outbox), so the change and its job commit
together; after the commit the job is sent at once, and if that send or the worker fails,
the sweeper sends it again from the record.

Clean-up whose loss costs nothing but space (``after_commit(..., background=True)``, e.g.
deleting the redundant copy of content a scope held already) runs off the caller's answer
through the container's ``spawn``, which a closing container waits for; if the process stops
first, the orphan sweep (``api.archive.orphans``) reclaims the space.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Coroutine
from contextvars import ContextVar
from types import TracebackType
from typing import TYPE_CHECKING, Any

from storage.ports import RecordStore, SearchIndex

if TYPE_CHECKING:
    from api.jobs.ledger import JobLedger

log = logging.getLogger("kura.uow")

_current: ContextVar[UnitOfWork | None] = ContextVar("kura_uow", default=None)


class UnitOfWork:
    def __init__(
        self,
        records: RecordStore,
        index: SearchIndex,
        ledger: JobLedger,
        spawn: Callable[[Coroutine[Any, Any, None]], object] | None = None,
    ) -> None:
        self.records = records
        self._index = index
        self._ledger = ledger
        self._upserts: dict[str, dict[str, Any]] = {}
        self._deletes: set[str] = set()
        self._jobs_after: list[dict[str, Any]] = []
        self._callbacks: list[Callable[[], Awaitable[None]]] = []
        self._background: list[Callable[[], Awaitable[None]]] = []
        self._spawn = spawn
        self._rollbacks: list[Callable[[], Awaitable[None]]] = []
        self._tx: Any = None
        self._outer: UnitOfWork | None = None

    async def __aenter__(self) -> UnitOfWork:
        self._outer = _current.get()
        if self._outer is not None:
            # Nested: join the outer unit; its commit runs our effects.
            return self._outer
        self._tx = self.records.transaction()
        await self._tx.__aenter__()
        self._token = _current.set(self)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._outer is not None:
            return
        _current.reset(self._token)
        failed: BaseException | None = None
        if exc is None and self._jobs_after:
            try:
                # The outbox: the jobs commit with the change, or neither does.
                await self._ledger.add(self._jobs_after)
            except BaseException as err:
                failed = err
                exc_type, exc, tb = type(err), err, err.__traceback__
        try:
            await self._tx.__aexit__(exc_type, exc, tb)
        except BaseException:
            await self._run(self._rollbacks, "rollback")
            raise
        if exc is None:
            await self._run_effects()
        else:
            await self._run(self._rollbacks, "rollback")
            if failed is not None:
                raise failed

    def index(self, doc: dict[str, Any]) -> None:
        """Upsert ``doc`` into the search index after commit."""
        self._deletes.discard(doc["id"])
        self._upserts[doc["id"]] = doc

    def unindex(self, doc_id: str) -> None:
        """Remove a document from the search index after commit."""
        self._upserts.pop(doc_id, None)
        self._deletes.add(doc_id)

    def enqueue(self, task: str, **kwargs: Any) -> str:
        """Record the job ``task(**kwargs)`` with this unit's records and send it after commit
        (by name, JSON arguments); returns the job id. Delivery is durable: see
        ``api.jobs.ledger``."""
        job = self._ledger.new(task, kwargs)
        self._jobs_after.append(job)
        return str(job["id"])

    def after_commit(
        self, callback: Callable[[], Awaitable[None]], *, background: bool = False
    ) -> None:
        """Run ``callback`` once the records have committed (errors are logged).

        ``background``: run it after the unit's other effects without the caller waiting (in
        order, one task per unit); only for clean-up that the orphan sweep would redo if the
        process stopped first. Without a ``spawn`` it runs in line."""
        (self._background if background else self._callbacks).append(callback)

    def on_rollback(self, callback: Callable[[], Awaitable[None]]) -> None:
        """Run ``callback`` if the unit rolls back, e.g. to delete an object written for it."""
        self._rollbacks.append(callback)

    @staticmethod
    async def _run(callbacks: list[Callable[[], Awaitable[None]]], when: str) -> None:
        for callback in callbacks:
            try:
                await callback()
            except Exception:
                log.exception("%s callback failed", when)

    async def _run_effects(self) -> None:
        try:
            if self._upserts:
                await self._index.upsert(list(self._upserts.values()))
            if self._deletes:
                await self._index.delete(sorted(self._deletes))
            if self._upserts or self._deletes:
                await self._index.refresh()
        except Exception:
            log.exception("index update after commit failed; run `kura reindex`")
        try:
            await self._ledger.dispatch(self._jobs_after)
        except Exception:
            log.exception("sending jobs after commit failed; the sweeper sends them")
        await self._run(self._callbacks, "after-commit")
        if self._background:
            later = self._run(self._background, "background after-commit")
            if self._spawn is None:
                await later
            else:
                self._spawn(later)


def current_uow() -> UnitOfWork | None:
    """The unit of work open in this task, if any (helpers that add to the caller's unit)."""
    return _current.get()
