"""Unit of work: record writes commit together; index updates and job enqueues run after.

Search must never show what the store does not have (invenio's rule), so services call
``uow.index(doc)`` / ``uow.unindex(id)`` / ``uow.enqueue(task, **kw)`` inside the block and
the effects run only once the record transaction has committed. If an after-commit effect
fails, the records stay committed and the drift is reported by ``kura check`` and repaired by
``kura reindex``; the failure is logged, never raised to the caller whose write succeeded.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from types import TracebackType
from typing import Any

from storage.ports import JobQueue, RecordStore, SearchIndex

log = logging.getLogger("kura.uow")

_current: ContextVar[UnitOfWork | None] = ContextVar("kura_uow", default=None)


class UnitOfWork:
    def __init__(self, records: RecordStore, index: SearchIndex, jobs: JobQueue) -> None:
        self.records = records
        self._index = index
        self._jobs = jobs
        self._upserts: dict[str, dict[str, Any]] = {}
        self._deletes: set[str] = set()
        self._jobs_after: list[tuple[str, dict[str, Any]]] = []
        self._callbacks: list[Callable[[], Awaitable[None]]] = []
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
        try:
            await self._tx.__aexit__(exc_type, exc, tb)
        except BaseException:
            await self._run(self._rollbacks, "rollback")
            raise
        if exc_type is None:
            await self._run_effects()
        else:
            await self._run(self._rollbacks, "rollback")

    def index(self, doc: dict[str, Any]) -> None:
        """Upsert ``doc`` into the search index after commit."""
        self._deletes.discard(doc["id"])
        self._upserts[doc["id"]] = doc

    def unindex(self, doc_id: str) -> None:
        """Remove a document from the search index after commit."""
        self._upserts.pop(doc_id, None)
        self._deletes.add(doc_id)

    def enqueue(self, task: str, **kwargs: Any) -> None:
        """Send a Celery task by name after commit."""
        self._jobs_after.append((task, kwargs))

    def after_commit(self, callback: Callable[[], Awaitable[None]]) -> None:
        """Run ``callback`` once the records have committed (errors are logged)."""
        self._callbacks.append(callback)

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
        for task, kwargs in self._jobs_after:
            try:
                await self._jobs.enqueue(task, **kwargs)
            except Exception:
                log.exception("enqueue of %s after commit failed", task)
        await self._run(self._callbacks, "after-commit")
