"""The MongoDB record store, over PyMongo's async API (``AsyncMongoClient``, not motor).

A record's ``id`` is stored as ``_id``; records come back with ``id`` and without ``_id``.
Optimistic concurrency is one ``find_one_and_update`` filtered on ``{_id, version}``; when it
matches nothing, a second read tells ``NotFound`` from ``StaleVersion``. Transactions use a
client session kept in a context variable, and every operation inside passes ``session=``
(MongoDB needs a replica set for them: docker-compose runs a replica set of one).

Keep to standard operations: the test server is SecantusDB, a MongoDB-wire server.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager, suppress
from contextvars import ContextVar
from typing import Any

from pymongo import ASCENDING, DESCENDING, AsyncMongoClient, ReturnDocument
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import (
    BulkWriteError,
    ConnectionFailure,
    DuplicateKeyError,
    OperationFailure,
    PyMongoError,
    ServerSelectionTimeoutError,
)

from storage.errors import BackendUnavailable, DuplicateKey, NotFound, StaleVersion
from storage.ports import Health, IndexSpec
from storage.query import (
    Condition,
    Direction,
    Eq,
    Exists,
    In,
    Page,
    Query,
    Record,
    Scalar,
    check_field,
    decode_cursor,
)
from storage.records import check_collection, index_name, page_of

Doc = dict[str, Any]

_DUPLICATE = 11000
_WRITE_CONFLICT = 112
_FIELD_KEY_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _path(name: str) -> str:
    return "_id" if name == "id" else check_field(name)


def _condition(cond: Condition) -> Doc:
    path = _path(cond.field)
    if isinstance(cond, Eq):
        return {path: cond.value}
    if isinstance(cond, In):
        return {path: {"$in": list(cond.values)}}
    if isinstance(cond, Exists):
        # Missing or null is "not exists" (storage.query.matches), unlike $exists.
        return {path: {"$ne": None}} if cond.exists else {path: None}
    ops = {
        op: value
        for op, value in (
            ("$gte", cond.gte),
            ("$gt", cond.gt),
            ("$lte", cond.lte),
            ("$lt", cond.lt),
        )
        if value is not None
    }
    return {path: ops or {"$ne": None}}


def _filter(where: Sequence[Condition], extra: Sequence[Doc] = ()) -> Doc:
    parts = [_condition(c) for c in where] + list(extra)
    if not parts:
        return {}
    return parts[0] if len(parts) == 1 else {"$and": parts}


def _keyset(sort: Sequence[tuple[str, Direction]], values: Sequence[Scalar]) -> Doc:
    """Documents strictly after ``values`` in ``sort`` order (null/missing sorts first)."""
    ors: list[Doc] = []
    for k, (name, direction) in enumerate(sort):
        path, v = _path(name), values[k]
        if direction == 1:
            after: Doc = {path: {"$ne": None}} if v is None else {path: {"$gt": v}}
        elif v is None:
            continue  # nothing follows null in descending order
        else:
            after = {"$or": [{path: {"$lt": v}}, {path: None}]}
        prefix = [{_path(p): pv} for (p, _), pv in zip(sort[:k], values[:k], strict=True)]
        ors.append({"$and": [*prefix, after]} if prefix else after)
    return {"$or": ors} if ors else {"_id": {"$in": []}}


def _sort(sort: Sequence[tuple[str, int]]) -> list[tuple[str, int]]:
    return [(_path(n), ASCENDING if d == 1 else DESCENDING) for n, d in sort]


def _to_record(doc: Doc) -> Record:
    record: Record = {"id": doc.pop("_id")}
    record.update(doc)
    return record


def _to_doc(record: Record, version: int) -> Doc:
    record_id = record.get("id")
    if not isinstance(record_id, str) or not record_id:
        raise ValueError("a record needs a non-empty string id")
    doc: Doc = {"_id": record_id}
    doc.update((k, v) for k, v in record.items() if k not in ("id", "_id", "version"))
    doc["version"] = version
    return doc


def _fields_of(details: Any) -> tuple[str, ...] | None:
    if isinstance(details, dict):
        pattern = details.get("keyPattern")
        if isinstance(pattern, dict) and pattern:
            return tuple("id" if k == "_id" else str(k) for k in pattern)
    return None


class MongoRecordStore:
    """``RecordStore`` over MongoDB (or a MongoDB-wire server)."""

    name = "mongodb"

    def __init__(self, uri: str, db: str, timeout_s: float = 5.0) -> None:
        self.uri = uri
        self.db_name = db
        self.timeout_s = timeout_s
        self._client: AsyncMongoClient[Doc] | None = None
        self._index_fields: dict[str, tuple[str, ...]] = {}
        self._session: ContextVar[AsyncClientSession | None] = ContextVar(
            f"kura_mongo_session_{id(self)}", default=None
        )

    # -- lifecycle ----------------------------------------------------------------------------

    async def open(self) -> None:
        """Create the client. Connecting is lazy, so a server that is down does not fail
        here: operations raise ``BackendUnavailable`` and ``health`` reports it. Idempotent."""
        if self._client is not None:
            return
        ms = max(1, int(self.timeout_s * 1000))
        self._client = AsyncMongoClient(
            self.uri,
            serverSelectionTimeoutMS=ms,
            connectTimeoutMS=ms,
            socketTimeoutMS=max(30_000, ms * 6),
            tz_aware=True,
        )

    async def close(self) -> None:
        """Close the client. Idempotent."""
        client, self._client = self._client, None
        if client is not None:
            await client.close()

    async def health(self) -> Health:
        """A ``ping`` within the timeout; never raises."""
        try:
            await self.open()
            await asyncio.wait_for(self._db.command("ping"), timeout=self.timeout_s + 1)
            return Health(ok=True, backend=self.name, detail=self.db_name)
        except Exception as exc:
            return Health(ok=False, backend=self.name, detail=f"{type(exc).__name__}: {exc}")

    async def drop_database(self) -> None:
        """Drop the whole database (tests and benchmarks only)."""
        await self.open()
        assert self._client is not None
        with self._errors(""):
            await self._client.drop_database(self.db_name)

    # -- plumbing -----------------------------------------------------------------------------

    @property
    def _db(self) -> AsyncDatabase[Doc]:
        if self._client is None:
            raise BackendUnavailable(self.name, "store is not open")
        return self._client[self.db_name]

    async def _coll(self, collection: str) -> AsyncCollection[Doc]:
        check_collection(collection)
        await self.open()
        return self._db[collection]

    @contextmanager
    def _errors(self, collection: str) -> Iterator[None]:
        """Translate PyMongo errors into ``storage.errors``."""
        try:
            yield
        except DuplicateKeyError as exc:
            raise self._duplicate(collection, exc.details, str(exc)) from exc
        except BulkWriteError as exc:
            errors = (exc.details or {}).get("writeErrors") or [{}]
            first = errors[0]
            if first.get("code") == _DUPLICATE:
                raise self._duplicate(collection, first, str(first.get("errmsg", ""))) from exc
            raise
        except (ServerSelectionTimeoutError, ConnectionFailure) as exc:
            raise BackendUnavailable(self.name, str(exc).split(",")[0][:200]) from exc
        except OperationFailure as exc:
            if exc.code == _DUPLICATE:
                raise self._duplicate(collection, exc.details, str(exc)) from exc
            if exc.code == _WRITE_CONFLICT or exc.has_error_label("TransientTransactionError"):
                raise BackendUnavailable(self.name, f"write conflict: {exc}") from exc
            raise

    def _duplicate(self, collection: str, details: Any, message: str) -> DuplicateKey:
        fields = _fields_of(details)
        if fields is None:
            m = re.search(r"index: (\S+)", message)
            if m:
                name = m.group(1)
                fields = ("id",) if name == "_id_" else self._index_fields.get(name)
        return DuplicateKey(collection, fields or ())

    @property
    def _s(self) -> AsyncClientSession | None:
        return self._session.get()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[None]:
        """A MongoDB transaction on a session held in a context variable; nested calls join.

        An exception inside aborts it; nothing is written.
        """
        if self._session.get() is not None:
            yield
            return
        await self.open()
        assert self._client is not None
        session = self._client.start_session()
        try:
            with self._errors(""):
                await session.start_transaction()
            token = self._session.set(session)
            try:
                yield
            except BaseException:
                self._session.reset(token)
                with suppress(PyMongoError):
                    await asyncio.shield(
                        asyncio.wait_for(session.abort_transaction(), self.timeout_s + 1)
                    )
                raise
            self._session.reset(token)
            with self._errors(""):
                await session.commit_transaction()
        finally:
            with suppress(PyMongoError):
                await session.end_session()

    # -- schema -------------------------------------------------------------------------------

    async def ensure_indexes(self, collection: str, specs: Sequence[IndexSpec]) -> None:
        """Create the indexes if missing. A unique index skips records missing one of its
        fields (a partial index), like SQLite where a NULL never collides."""
        coll = await self._coll(collection)
        for spec in specs:
            if not spec.fields:
                raise ValueError("an index needs at least one field")
            keys = _sort(spec.fields)
            name = index_name(collection, spec)
            names = tuple(f for f, _ in spec.fields)
            self._index_fields[name] = names
            options: Doc = {"name": name}
            if spec.unique:
                options["unique"] = True
                present = {path: {"$exists": True} for path, _ in keys if path != "_id"}
                if present:
                    options["partialFilterExpression"] = present
            try:
                with self._errors(collection):
                    await coll.create_index(keys, session=self._s, **options)
            except DuplicateKey as exc:
                raise DuplicateKey(collection, names) from exc

    async def drop_collection(self, collection: str) -> None:
        """Drop the collection and its indexes (tests and benchmarks only)."""
        coll = await self._coll(collection)
        with self._errors(collection):
            await coll.drop(session=self._s)

    # -- writes -------------------------------------------------------------------------------

    async def insert(self, collection: str, record: Record) -> Record:
        """Store a new record with version 1; ``DuplicateKey`` on a taken id or unique value."""
        coll = await self._coll(collection)
        doc = _to_doc(record, 1)
        with self._errors(collection):
            await coll.insert_one(doc, session=self._s)
        return _to_record(doc)

    async def insert_many(self, collection: str, records: Sequence[Record]) -> int:
        """Insert in one transaction (joining an open one): all or nothing."""
        coll = await self._coll(collection)
        if not records:
            return 0
        docs = [_to_doc(r, 1) for r in records]
        async with self.transaction():
            with self._errors(collection):
                await coll.insert_many(docs, ordered=True, session=self._s)
        return len(docs)

    async def _missing_or_stale(
        self, coll: AsyncCollection[Doc], collection: str, record_id: str, expected: int
    ) -> Exception:
        with self._errors(collection):
            found = await coll.find_one({"_id": record_id}, {"version": 1}, session=self._s)
        if found is None:
            return NotFound(f"{collection}/{record_id}")
        return StaleVersion(collection, record_id, expected, found.get("version"))

    async def update(
        self, collection: str, record_id: str, changes: Record, expected_version: int
    ) -> Record:
        """``$set``/``$unset`` top-level fields and ``$inc`` the version, if it matches."""
        coll = await self._coll(collection)
        if "id" in changes and changes["id"] != record_id:
            raise ValueError("the id of a record cannot change")
        sets: Doc = {}
        unsets: Doc = {}
        for key, value in changes.items():
            if key in ("id", "_id", "version"):
                continue
            if not _FIELD_KEY_RE.match(key):
                raise ValueError(f"invalid top-level field name: {key!r}")
            if value is None:
                unsets[key] = ""
            else:
                sets[key] = value
        update: Doc = {"$inc": {"version": 1}}
        if sets:
            update["$set"] = sets
        if unsets:
            update["$unset"] = unsets
        with self._errors(collection):
            doc = await coll.find_one_and_update(
                {"_id": record_id, "version": expected_version},
                update,
                return_document=ReturnDocument.AFTER,
                session=self._s,
            )
        if doc is None:
            raise await self._missing_or_stale(coll, collection, record_id, expected_version)
        return _to_record(doc)

    async def replace(self, collection: str, record: Record, expected_version: int) -> Record:
        """Replace the whole document under the same version check as ``update``."""
        coll = await self._coll(collection)
        doc = _to_doc(record, expected_version + 1)
        record_id = doc["_id"]
        body = {k: v for k, v in doc.items() if k != "_id"}
        with self._errors(collection):
            found = await coll.find_one_and_replace(
                {"_id": record_id, "version": expected_version},
                body,
                return_document=ReturnDocument.AFTER,
                session=self._s,
            )
        if found is None:
            raise await self._missing_or_stale(coll, collection, record_id, expected_version)
        return _to_record(found)

    async def delete(self, collection: str, record_id: str, expected_version: int | None) -> None:
        """Remove the record (only the current version when one is given)."""
        coll = await self._coll(collection)
        flt: Doc = {"_id": record_id}
        if expected_version is not None:
            flt["version"] = expected_version
        with self._errors(collection):
            result = await coll.delete_one(flt, session=self._s)
        if result.deleted_count:
            return
        if expected_version is None:
            raise NotFound(f"{collection}/{record_id}")
        raise await self._missing_or_stale(coll, collection, record_id, expected_version)

    # -- reads --------------------------------------------------------------------------------

    async def get(self, collection: str, record_id: str) -> Record | None:
        """The record with this id, or None."""
        coll = await self._coll(collection)
        with self._errors(collection):
            doc = await coll.find_one({"_id": record_id}, session=self._s)
        return None if doc is None else _to_record(doc)

    async def get_many(self, collection: str, ids: Sequence[str]) -> list[Record]:
        """The existing records among ``ids`` (no particular order)."""
        coll = await self._coll(collection)
        unique = list(dict.fromkeys(ids))
        if not unique:
            return []
        with self._errors(collection):
            docs = await coll.find({"_id": {"$in": unique}}, session=self._s).to_list(None)
        return [_to_record(d) for d in docs]

    async def find(self, collection: str, query: Query) -> Page:
        """One keyset page in ``query.full_sort`` order."""
        coll = await self._coll(collection)
        sort = query.full_sort
        extra = []
        if query.cursor is not None:
            extra.append(_keyset(sort, decode_cursor(query.cursor, sort)))
        flt = _filter(query.where, extra)
        names = query.projection
        projection = {n: 1 for n in (*names, "version")} if query.fields else None
        with self._errors(collection):
            cursor = coll.find(flt, projection, session=self._s)
            docs = await cursor.sort(_sort(sort)).limit(query.limit + 1).to_list(None)
        records = [_to_record(d) for d in docs]
        if projection is not None:  # null comes back missing, as from every adapter
            records = [{k: v for k, v in r.items() if v is not None} for r in records]
        return page_of(records, query.limit, sort)

    async def count(self, collection: str, where: Sequence[Condition] = ()) -> int:
        """How many records match all conditions."""
        coll = await self._coll(collection)
        flt = _filter(where)
        with self._errors(collection):
            return await coll.count_documents(flt, session=self._s)

    async def scan(
        self, collection: str, where: Sequence[Condition] = (), batch: int = 1000
    ) -> AsyncIterator[Record]:
        """Every matching record in id order, ``batch`` documents per query."""
        coll = await self._coll(collection)
        for cond in where:
            check_field(cond.field)
        after: str | None = None
        while True:
            extra = [{"_id": {"$gt": after}}] if after is not None else []
            flt = _filter(where, extra)
            with self._errors(collection):
                cursor = coll.find(flt, session=self._s).sort("_id", ASCENDING).limit(batch)
                docs = await cursor.to_list(None)
            if docs:
                after = docs[-1]["_id"]
            for doc in docs:
                yield _to_record(doc)
            if len(docs) < batch:
                return
