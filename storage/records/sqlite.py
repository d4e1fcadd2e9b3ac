"""The embedded record store: one SQLite file in WAL mode, one table per collection.

Each collection is a table ``(id TEXT PRIMARY KEY, version INTEGER, doc TEXT)`` where ``doc``
holds the record as JSON without ``id`` and ``version``. Query conditions become
``json_extract(doc, '$.a.b')`` expressions with bound values; ``ensure_indexes`` creates
expression indexes on the very same text so the planner can use them.

Threads: one writer connection lives on one dedicated thread (SQLite allows one writer at a
time anyway); reads run on a small pool of reader connections so they never queue behind
writes (WAL readers see the last committed snapshot). A transaction holds the writer for its
whole duration (an asyncio lock), and every operation inside it, reads included, runs on the
writer connection so it sees its own writes.

Arrays: ``Eq``/``In`` must match when an array field *contains* the value (as in MongoDB).
Testing containment needs ``json_each``, which no expression index can serve, so the store
remembers which paths have ever held an array (table ``_kura_arrays``) and uses the containment
form only for those; every other path keeps the plain, indexable ``json_extract(...) = ?``.
When an array path leads an index (e.g. ``acl``), the store also keeps a multikey table
``(value, id)`` for it, as MongoDB keeps a multikey index: a selective ``Eq``/``In`` on that
path then starts from the few matching ids instead of scanning (``_kura_multikey``).

Planner statistics: without them SQLite guesses that an equality on an indexed expression
matches a handful of rows, so ``work_id IN (500 ids) ORDER BY x LIMIT 50`` reads every row of
those works and sorts them (1.3 s over 100,000 proposals) instead of walking the index on
``x`` (0.5 ms). After a commit that inserted into a collection, the store runs a sampled
``ANALYZE`` of it once it holds ``_STATS_MIN`` rows and again each time it has doubled since
(``_analyze_grown``); reader connections opened before are replaced before their next read,
since a connection loads statistics only when it opens (or runs ``ANALYZE`` itself, which a
``query_only`` reader may not). Small collections are never analyzed.
"""

# Table and index names are checked collection names and JSON paths are checked dotted field
# names (``check_collection``, ``storage.query.check_field``); every value is a bound parameter.
# ruff: noqa: S608

from __future__ import annotations

import asyncio
import hashlib
import json
import re
import sqlite3
import threading
import weakref
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager, suppress
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from storage.errors import (
    BackendUnavailable,
    DuplicateKey,
    NotFound,
    StaleVersion,
    StorageFull,
)
from storage.ports import Health, IndexSpec
from storage.query import (
    Condition,
    Direction,
    Eq,
    Exists,
    In,
    Page,
    Query,
    Range,
    Record,
    Scalar,
    check_field,
    decode_cursor,
)
from storage.records import check_collection, index_name, page_of

T = TypeVar("T")

_BUSY_TIMEOUT_MS = 5000
_READERS = 3
_CHUNK = 500  # ids per IN (...) list, well under SQLite's bound-variable limit

_META_SQL = (
    "CREATE TABLE IF NOT EXISTS _kura_arrays ("
    " collection TEXT NOT NULL, path TEXT NOT NULL, PRIMARY KEY (collection, path))",
    "CREATE TABLE IF NOT EXISTS _kura_indexes ("
    " name TEXT PRIMARY KEY, collection TEXT NOT NULL, fields TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS _kura_multikey ("
    " collection TEXT NOT NULL, path TEXT NOT NULL, tbl TEXT NOT NULL,"
    " PRIMARY KEY (collection, path))",
)
# A sorted page starts from a multikey table when the array condition matches at most
# sqrt(_MK_DENSITY * rows) entries: fetching and sorting h candidates costs about h lookups,
# while walking a sort index until ``limit`` matches costs about limit * rows / h JSON checks.
_MK_DENSITY = 20
_MK_DRIVE_MIN = 200
_MK_SCALARS = "je.type NOT IN ('null', 'object', 'array')"
# Planner statistics (see the module docstring): a collection is analyzed from this size on,
# again when it has doubled, sampling this many index entries (a few hundred ms at 100,000).
_STATS_MIN = 1000
_STATS_SAMPLE = 1000


def _dumps(doc: Record) -> str:
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


_SCAN = json.JSONDecoder().scan_once  # type: ignore[attr-defined]  # the C scanner


def _loads(text: str) -> Any:
    """``json.loads`` of the compact JSON SQLite holds and answers, through the decoder's C
    scanner: ``json.loads`` spends more on its Python wrapper (whitespace regexes, checks)
    than the scanner on a small record, and a view decodes thousands of them."""
    try:
        value, end = _SCAN(text, 0)
    except StopIteration:
        return json.loads(text)  # raises the decoder's error with its position
    if end != len(text):
        return json.loads(text)
    return value


def _row_to_record(row: tuple[str, int, str]) -> Record:
    record_id, version, doc = row
    record: Record = {"id": record_id}
    record.update(_loads(doc))
    record["version"] = version
    return record


def _projected(names: Sequence[str]) -> Callable[[tuple[str, int, Any]], Record]:
    """The record maker of a projected read (``_Select``)."""

    def make(row: tuple[str, int, Any]) -> Record:
        record: Record = {"id": row[0], "version": row[1]}
        if names:
            for name, value in zip(names, _loads(row[2]), strict=False):
                if value is not None:
                    record[name] = value
        return record

    return make


def _select(query: Query) -> tuple[str, Callable[[Any], Record]]:
    """The columns of a ``find`` and the maker of its records: the whole ``doc``, or for a
    projection one ``json_extract`` of several paths, which SQLite answers as one JSON array
    (a single path is asked twice: with one path it would answer the bare value)."""
    names = query.projection
    if not query.fields:
        return "id, version, doc", _row_to_record
    if not names:
        return "id, version, NULL", _projected(())
    paths = [f"'$.{n}'" for n in names] * (2 if len(names) == 1 else 1)
    return f"id, version, json_extract(doc, {', '.join(paths)})", _projected(names)


def _body(record: Record) -> Record:
    return {k: v for k, v in record.items() if k not in ("id", "version")}


def _array_paths(doc: Any, prefix: str = "") -> Iterator[str]:
    """Dotted paths whose value is a list (not descending into lists, like ``get_path``)."""
    if isinstance(doc, dict):
        for key, value in doc.items():
            path = f"{prefix}{key}"
            if isinstance(value, list):
                yield path
            elif isinstance(value, dict):
                yield from _array_paths(value, path + ".")


# --- SQL building -----------------------------------------------------------------------------


def _expr(name: str) -> str:
    """The SQL expression for a dotted field; identical text in queries and indexes."""
    if name in ("id", "version"):
        return name
    return f"json_extract(doc, '$.{check_field(name)}')"


def _type_expr(name: str) -> str:
    return f"json_type(doc, '$.{name}')"


_NUMERIC = "('integer','real')"


class _Sql:
    """Collects SQL fragments and their bound parameters."""

    def __init__(self, arrays: set[str]) -> None:
        self.arrays = arrays
        self.params: list[Any] = []

    def bind(self, value: Any) -> str:
        self.params.append(value)
        return "?"

    # One value against one scalar expression ``x`` whose JSON type is ``t``.
    def _scalar(self, x: str, t: str | None, value: Scalar) -> str:
        if value is None:
            return f"{x} IS NULL"
        if t is None:  # the id / version columns
            return f"{x} = {self.bind(value)}"
        if isinstance(value, bool):
            # json_extract yields 1/0 for true/false; the type test keeps 1 and true apart.
            return f"({x} = {int(value)} AND {t} = '{'true' if value else 'false'}')"
        if isinstance(value, int | float):
            return f"({x} = {self.bind(value)} AND {t} IN {_NUMERIC})"
        return f"{x} = {self.bind(value)}"

    def _in(self, x: str, t: str | None, values: Sequence[Scalar]) -> str:
        strings = [v for v in values if isinstance(v, str)]
        others = [v for v in values if not isinstance(v, str)]
        parts: list[str] = []
        if len(strings) == 1:
            parts.append(f"{x} = {self.bind(strings[0])}")
        elif strings:
            parts.append(f"{x} IN ({', '.join(self.bind(v) for v in strings)})")
        parts.extend(self._scalar(x, t, v) for v in others)
        if not parts:
            return "0"
        return parts[0] if len(parts) == 1 else "(" + " OR ".join(parts) + ")"

    def _range(self, x: str, t: str | None, cond: Range) -> str:
        bounds = [(">=", cond.gte), (">", cond.gt), ("<=", cond.lte), ("<", cond.lt)]
        parts = [f"{x} {op} {self.bind(v)}" for op, v in bounds if v is not None]
        if not parts:
            return f"{x} IS NOT NULL"
        first = next(v for _, v in bounds if v is not None)
        # Compare like with like (MongoDB's type bracketing): a string bound never matches
        # a number, which SQLite would otherwise order before every string.
        if t is not None and isinstance(first, str):
            parts.append(f"{t} = 'text'")
        elif t is not None and isinstance(first, int | float) and not isinstance(first, bool):
            parts.append(f"{t} IN {_NUMERIC}")
        return "(" + " AND ".join(parts) + ")"

    def condition(self, cond: Condition) -> str:
        name = check_field(cond.field)
        x = _expr(name)
        t = None if name in ("id", "version") else _type_expr(name)
        if isinstance(cond, Exists):
            return f"{x} IS {'NOT ' if cond.exists else ''}NULL"
        if name in self.arrays and t is not None:
            # Containment: json_each over a scalar yields that one scalar, over an array
            # its elements, so one EXISTS covers both shapes.
            each = f"json_each(doc, '$.{name}')"
            if isinstance(cond, Eq):
                inner = self._scalar("je.value", "je.type", cond.value)
            elif isinstance(cond, In):
                inner = self._in("je.value", "je.type", cond.values)
            else:
                inner = self._range("je.value", "je.type", cond)
            sql = f"EXISTS (SELECT 1 FROM {each} AS je WHERE {inner})"
            null_wanted = (isinstance(cond, Eq) and cond.value is None) or (
                isinstance(cond, In) and None in cond.values
            )
            return f"({x} IS NULL OR {sql})" if null_wanted else sql
        if isinstance(cond, Eq):
            return self._scalar(x, t, cond.value)
        if isinstance(cond, In):
            return self._in(x, t, cond.values)
        return self._range(x, t, cond)

    def where(self, conds: Sequence[Condition]) -> list[str]:
        return [self.condition(c) for c in conds]

    def keyset(self, sort: Sequence[tuple[str, Direction]], values: Sequence[Scalar]) -> str:
        """Rows strictly after ``values`` in ``sort`` order (NULL sorts first ascending)."""
        ors: list[str] = []
        for k, (name, direction) in enumerate(sort):
            x = _expr(name)
            v = values[k]
            if direction == -1 and v is None:
                continue  # nothing follows NULL in descending order
            # Bind in text order: the prefix equalities first, then the strict step.
            prefix = []
            for (pname, _), pv in zip(sort[:k], values[:k], strict=True):
                px = _expr(pname)
                prefix.append(f"{px} IS NULL" if pv is None else f"{px} = {self.bind(pv)}")
            if direction == 1:
                after = f"{x} IS NOT NULL" if v is None else f"{x} > {self.bind(v)}"
            else:
                after = f"({x} < {self.bind(v)} OR {x} IS NULL)"
            ors.append("(" + " AND ".join([*prefix, after]) + ")")
        return "(" + " OR ".join(ors) + ")" if ors else "0"


def _order_by(sort: Sequence[tuple[str, Direction]]) -> str:
    return ", ".join(f"{_expr(n)} {'ASC' if d == 1 else 'DESC'}" for n, d in sort)


# --- the store --------------------------------------------------------------------------------


@dataclass
class _Tx:
    """State of the transaction open in this context: caches to publish on commit."""

    tables: set[str] = field(default_factory=set)
    arrays: set[tuple[str, str]] = field(default_factory=set)
    inserted: set[str] = field(default_factory=set)


def _translate(exc: sqlite3.Error) -> Exception:
    if isinstance(exc, sqlite3.OperationalError | sqlite3.DatabaseError) and not isinstance(
        exc, sqlite3.IntegrityError
    ):
        if getattr(exc, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL:
            return StorageFull("sqlite", str(exc))
        return BackendUnavailable("sqlite", str(exc))
    return exc


class SqliteRecordStore:
    """``RecordStore`` over one SQLite file (the embedded default)."""

    name = "sqlite"

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._writer: ThreadPoolExecutor | None = None
        self._readers: ThreadPoolExecutor | None = None
        self._wconn: sqlite3.Connection | None = None
        self._rconns: list[sqlite3.Connection] = []
        self._local = threading.local()
        self._conn_lock = threading.Lock()
        self._tables: set[str] = set()
        self._arrays: set[tuple[str, str]] = set()
        # collection -> its size when last analyzed (planner statistics); readers opened
        # before the latest analysis (their generation is older) reconnect
        self._analyzed: dict[str, int] = {}
        self._stats_gen = 0
        self._locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = (
            weakref.WeakKeyDictionary()
        )
        self._tx: ContextVar[_Tx | None] = ContextVar(f"kura_sqlite_tx_{id(self)}", default=None)
        self._open_lock = threading.Lock()
        # Set once the writer has created the file and its bookkeeping tables, so a reader
        # started by a concurrent first call never finds a half-made file.
        self._ready = threading.Event()

    # -- lifecycle ----------------------------------------------------------------------------

    async def open(self) -> None:
        """Create the file, switch it to WAL and create the bookkeeping tables. Idempotent."""
        if self._writer is not None:
            return
        with self._open_lock:
            if self._writer is not None:
                return
            writer = ThreadPoolExecutor(1, thread_name_prefix="kura-sqlite-w")
            readers = ThreadPoolExecutor(_READERS, thread_name_prefix="kura-sqlite-r")
            self._writer, self._readers = writer, readers
        try:
            await self._in_writer(self._connect_writer)
        except BaseException:
            await self.close()
            raise

    def _connect_writer(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        try:
            conn.execute(f"PRAGMA busy_timeout = {_BUSY_TIMEOUT_MS}")
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.execute("PRAGMA foreign_keys = OFF")
            # Deleted content is overwritten, not left in free pages (issue 12 §2: an erased
            # scope's records cannot be read from the database file).
            conn.execute("PRAGMA secure_delete = ON")
            for sql in _META_SQL:
                conn.execute(sql)
            rows = conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
            self._tables = {r[0] for r in rows}
            self._arrays = {
                (r[0], r[1]) for r in conn.execute("SELECT collection, path FROM _kura_arrays")
            }
            self._analyzed = {}
            if "sqlite_stat1" in self._tables:
                for table, stat in conn.execute("SELECT tbl, stat FROM sqlite_stat1"):
                    size = int(str(stat).split(" ", 1)[0] or 0)
                    self._analyzed[str(table)] = max(size, self._analyzed.get(str(table), 0))
        except BaseException:
            conn.close()
            raise
        self._wconn = conn
        self._ready.set()

    async def checkpoint(self) -> bool:
        """Copy the write-ahead log into the database and truncate it, so page versions
        from before a deletion are gone from the WAL file too (issue 12 §2). False when a
        reader kept it from completing (it is retried by the next erasure or checkpoint)."""

        def run() -> bool:
            assert self._wconn is not None
            busy = self._wconn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0]
            return not busy

        return await self._in_writer(run)

    async def close(self) -> None:
        """Close every connection and stop the threads. Idempotent."""
        writer, readers = self._writer, self._readers
        self._writer = self._readers = None
        if writer is None and readers is None:
            return
        self._ready.clear()

        def shutdown() -> None:
            if writer is not None:
                writer.shutdown(wait=True)
            if readers is not None:
                readers.shutdown(wait=True)
            with self._conn_lock:
                conns = [*self._rconns, *([self._wconn] if self._wconn else [])]
                self._rconns, self._wconn = [], None
                self._local = threading.local()
            for conn in conns:
                with suppress(sqlite3.Error):
                    conn.close()

        await asyncio.to_thread(shutdown)

    async def health(self) -> Health:
        """Whether the file answers a trivial query within two seconds; never raises."""
        try:
            await self.open()
            await asyncio.wait_for(
                self._in_reader(lambda c: c.execute("SELECT 1").fetchone()), timeout=2.0
            )
            return Health(ok=True, backend=self.name, detail=str(self.path))
        except Exception as exc:
            return Health(ok=False, backend=self.name, detail=f"{type(exc).__name__}: {exc}")

    # -- plumbing -----------------------------------------------------------------------------

    def _lock(self) -> asyncio.Lock:
        loop = asyncio.get_running_loop()
        lock = self._locks.get(loop)
        if lock is None:
            lock = self._locks[loop] = asyncio.Lock()
        return lock

    async def _in_writer(self, fn: Callable[[], T]) -> T:
        if self._writer is None:
            await self.open()
        assert self._writer is not None
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._writer, fn)
        except sqlite3.Error as exc:
            raise _translate(exc) from exc

    def _reader_conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is not None and getattr(self._local, "gen", 0) != self._stats_gen:
            with self._conn_lock:
                if conn in self._rconns:
                    self._rconns.remove(conn)
            with suppress(sqlite3.Error):
                conn.close()
            conn = self._local.conn = None
        if conn is None:
            gen = self._stats_gen  # before connecting: a later analysis reconnects again
            if not self._ready.wait(timeout=_BUSY_TIMEOUT_MS / 1000):
                raise BackendUnavailable("sqlite", "store did not open in time")
            conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            conn.execute(f"PRAGMA busy_timeout = {_BUSY_TIMEOUT_MS}")
            conn.execute("PRAGMA query_only = 1")
            with self._conn_lock:
                self._rconns.append(conn)
            self._local.conn = conn
            self._local.gen = gen
        return conn

    async def _in_reader(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run a read: on the writer inside a transaction (read your writes), else a reader."""
        if self._tx.get() is not None:
            return await self._in_writer(lambda: fn(self._w))
        if self._readers is None:
            await self.open()
        assert self._readers is not None
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._readers, lambda: fn(self._reader_conn()))
        except sqlite3.Error as exc:
            raise _translate(exc) from exc

    @property
    def _w(self) -> sqlite3.Connection:
        assert self._wconn is not None, "store is closed"
        return self._wconn

    async def _write(self, fn: Callable[[sqlite3.Connection, _Tx], T]) -> T:
        """Run ``fn`` on the writer atomically: inside the open transaction, or in its own."""
        tx = self._tx.get()
        if tx is not None:
            return await self._in_writer(lambda: fn(self._w, tx))
        async with self._lock():
            own = _Tx()

            def atomic() -> T:
                conn = self._w
                conn.execute("BEGIN IMMEDIATE")
                try:
                    result = fn(conn, own)
                    conn.execute("COMMIT")
                except BaseException:
                    if conn.in_transaction:
                        conn.execute("ROLLBACK")
                    raise
                self._publish(own)
                return result

            return await self._in_writer(atomic)

    def _publish(self, tx: _Tx) -> None:
        """After a commit, on the writer: publish the caches, refresh planner statistics."""
        self._tables |= tx.tables
        self._arrays |= tx.arrays
        if tx.inserted:
            self._analyze_grown(self._w, sorted(tx.inserted))

    def _analyze_grown(self, conn: sqlite3.Connection, collections: Sequence[str]) -> None:
        """Analyze (sampled) the collections that reached ``_STATS_MIN`` rows or doubled since
        their last analysis; reader connections then reconnect to load the statistics."""
        done = False
        for collection in collections:
            (rows,) = conn.execute(f'SELECT max(rowid) FROM "{collection}"').fetchone()
            rows = int(rows or 0)
            last = self._analyzed.get(collection)
            if rows < _STATS_MIN or (last is not None and rows < 2 * max(last, 1)):
                continue
            conn.execute(f"PRAGMA analysis_limit = {_STATS_SAMPLE}")
            conn.execute(f'ANALYZE "{collection}"')
            self._analyzed[collection] = rows
            done = True
        if done:
            self._stats_gen += 1  # readers reconnect to load the new statistics

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[None]:
        """One ``BEGIN IMMEDIATE ... COMMIT`` around the block; an exception rolls it back.

        A nested call joins the transaction already open in this context.
        """
        if self._tx.get() is not None:
            yield
            return
        async with self._lock():
            await self._in_writer(lambda: self._w.execute("BEGIN IMMEDIATE"))
            tx = _Tx()
            token = self._tx.set(tx)
            try:
                yield
            except BaseException:
                self._tx.reset(token)
                await asyncio.shield(self._in_writer(self._rollback))
                raise
            self._tx.reset(token)

            def commit() -> None:
                try:
                    self._w.execute("COMMIT")
                except BaseException:
                    self._rollback()
                    raise
                self._publish(tx)

            await asyncio.shield(self._in_writer(commit))

    def _rollback(self) -> None:
        if self._w.in_transaction:
            self._w.execute("ROLLBACK")

    # -- schema -------------------------------------------------------------------------------

    def _ensure_table(self, conn: sqlite3.Connection, tx: _Tx, collection: str) -> None:
        if collection in self._tables or collection in tx.tables:
            return
        conn.execute(
            f'CREATE TABLE IF NOT EXISTS "{collection}" '
            "(id TEXT PRIMARY KEY, version INTEGER NOT NULL, doc TEXT NOT NULL)"
        )
        tx.tables.add(collection)

    def _register_arrays(
        self, conn: sqlite3.Connection, tx: _Tx, collection: str, doc: Record
    ) -> None:
        for path in _array_paths(doc):
            key = (collection, path)
            if key in self._arrays or key in tx.arrays:
                continue
            cur = conn.execute(
                "INSERT OR IGNORE INTO _kura_arrays (collection, path) VALUES (?, ?)", key
            )
            tx.arrays.add(key)
            if cur.rowcount == 1 and path in self._leading_fields(conn, collection):
                self._ensure_multikey(conn, collection, path)

    @staticmethod
    def _leading_fields(conn: sqlite3.Connection, collection: str) -> set[str]:
        rows = conn.execute("SELECT fields FROM _kura_indexes WHERE collection = ?", (collection,))
        return {json.loads(r[0])[0] for r in rows}

    @staticmethod
    def _multikeys_of(conn: sqlite3.Connection, collection: str) -> dict[str, str]:
        rows = conn.execute(
            "SELECT path, tbl FROM _kura_multikey WHERE collection = ?", (collection,)
        )
        return {r[0]: r[1] for r in rows}

    def _ensure_multikey(self, conn: sqlite3.Connection, collection: str, path: str) -> None:
        """Create and fill the multikey table of an indexed array path (once)."""
        if path in self._multikeys_of(conn, collection):
            return
        digest = hashlib.sha1(path.encode(), usedforsecurity=False).hexdigest()[:10]
        tbl = f"_kura_mk_{collection}_{digest}"
        conn.execute(
            f'CREATE TABLE IF NOT EXISTS "{tbl}" '
            "(value NOT NULL, id TEXT NOT NULL, PRIMARY KEY (value, id)) WITHOUT ROWID"
        )
        conn.execute(f'CREATE INDEX IF NOT EXISTS "{tbl}_id" ON "{tbl}" (id)')
        conn.execute(
            f'INSERT OR IGNORE INTO "{tbl}" (value, id) SELECT je.value, t.id '
            f"FROM \"{collection}\" AS t, json_each(t.doc, '$.{check_field(path)}') AS je "
            f"WHERE {_MK_SCALARS}"
        )
        conn.execute(
            "INSERT INTO _kura_multikey (collection, path, tbl) VALUES (?, ?, ?)",
            (collection, path, tbl),
        )

    def _mk_write(
        self,
        conn: sqlite3.Connection,
        collection: str,
        rows: Sequence[tuple[str, str]],
        *,
        replace: bool,
    ) -> None:
        """Keep the multikey tables in step with ``rows`` of (id, doc JSON)."""
        for path, tbl in self._multikeys_of(conn, collection).items():
            if replace:
                conn.executemany(f'DELETE FROM "{tbl}" WHERE id = ?', [(r[0],) for r in rows])
            conn.executemany(
                f'INSERT OR IGNORE INTO "{tbl}" (value, id) SELECT je.value, ? '
                f"FROM json_each(?, '$.{path}') AS je WHERE {_MK_SCALARS}",
                rows,
            )

    @staticmethod
    def _table_exists(conn: sqlite3.Connection, collection: str) -> bool:
        row = conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (collection,)
        ).fetchone()
        return row is not None

    def _known(self, conn: sqlite3.Connection, collection: str) -> bool:
        """Whether the table exists (cached once seen, since tables are only created)."""
        # Runs on an executor thread, where the transaction context variable is not visible;
        # inside a transaction the writer connection sees its own uncommitted tables anyway.
        if collection in self._tables:
            return True
        return self._table_exists(conn, collection)

    @staticmethod
    def _arrays_of(conn: sqlite3.Connection, collection: str) -> set[str]:
        # Read from the table, not the cache: another process may have added a path.
        rows = conn.execute("SELECT path FROM _kura_arrays WHERE collection = ?", (collection,))
        return {r[0] for r in rows}

    async def ensure_indexes(self, collection: str, specs: Sequence[IndexSpec]) -> None:
        """Expression indexes on ``json_extract``; non-unique ones end with ``id`` so the
        ``id`` tie-breaker of every sort is served by the index too."""
        check_collection(collection)

        def run(conn: sqlite3.Connection, tx: _Tx) -> None:
            self._ensure_table(conn, tx, collection)
            for spec in specs:
                if not spec.fields:
                    raise ValueError("an index needs at least one field")
                cols = [f"{_expr(f)} {'ASC' if d == 1 else 'DESC'}" for f, d in spec.fields]
                names = [f for f, _ in spec.fields]
                if not spec.unique and "id" not in names:
                    cols.append("id ASC")
                name = index_name(collection, spec)
                unique = "UNIQUE " if spec.unique else ""
                try:
                    conn.execute(
                        f'CREATE {unique}INDEX IF NOT EXISTS "{name}" '
                        f'ON "{collection}" ({", ".join(cols)})'
                    )
                except sqlite3.IntegrityError as exc:
                    raise DuplicateKey(collection, tuple(names)) from exc
                conn.execute(
                    "INSERT OR REPLACE INTO _kura_indexes (name, collection, fields) "
                    "VALUES (?, ?, ?)",
                    (name, collection, json.dumps(names)),
                )
                if names[0] in self._arrays_of(conn, collection):
                    self._ensure_multikey(conn, collection, names[0])

        await self._write(run)

    def _duplicate(
        self, conn: sqlite3.Connection, collection: str, exc: sqlite3.IntegrityError
    ) -> DuplicateKey:
        """Name the fields of the unique index an IntegrityError is about."""
        msg = str(exc)
        if msg.endswith(f"{collection}.id"):
            return DuplicateKey(collection, ("id",))
        m = re.search(r"index '([^']+)'", msg)
        if m:
            row = conn.execute(
                "SELECT fields FROM _kura_indexes WHERE name = ?", (m.group(1),)
            ).fetchone()
            if row:
                return DuplicateKey(collection, tuple(json.loads(row[0])))
        return DuplicateKey(collection)

    # -- writes -------------------------------------------------------------------------------

    def _insert_rows(
        self, conn: sqlite3.Connection, tx: _Tx, collection: str, records: Sequence[Record]
    ) -> None:
        self._ensure_table(conn, tx, collection)
        tx.inserted.add(collection)
        rows = []
        for record in records:
            record_id = record.get("id")
            if not isinstance(record_id, str) or not record_id:
                raise ValueError("a record needs a non-empty string id")
            body = _body(record)
            self._register_arrays(conn, tx, collection, body)
            rows.append((record_id, _dumps(body)))
        try:
            conn.executemany(
                f'INSERT INTO "{collection}" (id, version, doc) VALUES (?, 1, ?)', rows
            )
        except sqlite3.IntegrityError as exc:
            raise self._duplicate(conn, collection, exc) from exc
        self._mk_write(conn, collection, rows, replace=False)

    async def insert(self, collection: str, record: Record) -> Record:
        """Store a new record with version 1; ``DuplicateKey`` on a taken id or unique value."""
        check_collection(collection)
        await self._write(lambda conn, tx: self._insert_rows(conn, tx, collection, [record]))
        return {"id": record["id"], **_body(record), "version": 1}

    async def insert_many(self, collection: str, records: Sequence[Record]) -> int:
        """All records in one statement batch inside one transaction: all or nothing."""
        check_collection(collection)
        if not records:
            return 0
        await self._write(lambda conn, tx: self._insert_rows(conn, tx, collection, records))
        return len(records)

    def _current_version(
        self, conn: sqlite3.Connection, collection: str, record_id: str
    ) -> int | None:
        if not self._known(conn, collection):
            return None
        row = conn.execute(f'SELECT version FROM "{collection}" WHERE id = ?', (record_id,))
        found = row.fetchone()
        return None if found is None else int(found[0])

    def _checked_load(
        self, conn: sqlite3.Connection, collection: str, record_id: str, expected: int
    ) -> Record:
        if not self._known(conn, collection):
            raise NotFound(f"{collection}/{record_id}")
        row = conn.execute(
            f'SELECT id, version, doc FROM "{collection}" WHERE id = ?', (record_id,)
        ).fetchone()
        if row is None:
            raise NotFound(f"{collection}/{record_id}")
        if row[1] != expected:
            raise StaleVersion(collection, record_id, expected, int(row[1]))
        return _row_to_record(row)

    def _store(
        self, conn: sqlite3.Connection, tx: _Tx, collection: str, record: Record, version: int
    ) -> Record:
        body = _body(record)
        self._register_arrays(conn, tx, collection, body)
        doc = _dumps(body)
        try:
            conn.execute(
                f'UPDATE "{collection}" SET version = ?, doc = ? WHERE id = ?',
                (version, doc, record["id"]),
            )
        except sqlite3.IntegrityError as exc:
            raise self._duplicate(conn, collection, exc) from exc
        self._mk_write(conn, collection, [(record["id"], doc)], replace=True)
        return {"id": record["id"], **body, "version": version}

    async def update(
        self, collection: str, record_id: str, changes: Record, expected_version: int
    ) -> Record:
        """Set top-level fields (None removes one) under the optimistic version check."""
        check_collection(collection)
        if "id" in changes and changes["id"] != record_id:
            raise ValueError("the id of a record cannot change")

        def run(conn: sqlite3.Connection, tx: _Tx) -> Record:
            current = self._checked_load(conn, collection, record_id, expected_version)
            for key, value in changes.items():
                if key in ("id", "version"):
                    continue
                if value is None:
                    current.pop(key, None)
                else:
                    current[key] = value
            return self._store(conn, tx, collection, current, expected_version + 1)

        return await self._write(run)

    async def replace(self, collection: str, record: Record, expected_version: int) -> Record:
        """Replace the whole body under the optimistic version check."""
        check_collection(collection)
        record_id = record.get("id")
        if not isinstance(record_id, str) or not record_id:
            raise ValueError("a record needs a non-empty string id")

        def run(conn: sqlite3.Connection, tx: _Tx) -> Record:
            self._checked_load(conn, collection, record_id, expected_version)
            return self._store(conn, tx, collection, record, expected_version + 1)

        return await self._write(run)

    async def delete(self, collection: str, record_id: str, expected_version: int | None) -> None:
        """Remove the record (only the current version when one is given)."""
        check_collection(collection)

        def run(conn: sqlite3.Connection, tx: _Tx) -> None:
            actual = self._current_version(conn, collection, record_id)
            if actual is None:
                raise NotFound(f"{collection}/{record_id}")
            if expected_version is not None and actual != expected_version:
                raise StaleVersion(collection, record_id, expected_version, actual)
            conn.execute(f'DELETE FROM "{collection}" WHERE id = ?', (record_id,))
            for tbl in self._multikeys_of(conn, collection).values():
                conn.execute(f'DELETE FROM "{tbl}" WHERE id = ?', (record_id,))

        await self._write(run)

    async def drop_collection(self, collection: str) -> None:
        """Drop the table, its indexes and bookkeeping (tests and benchmarks only)."""
        check_collection(collection)

        def run(conn: sqlite3.Connection, tx: _Tx) -> None:
            conn.execute(f'DROP TABLE IF EXISTS "{collection}"')
            for tbl in self._multikeys_of(conn, collection).values():
                conn.execute(f'DROP TABLE IF EXISTS "{tbl}"')
            conn.execute("DELETE FROM _kura_multikey WHERE collection = ?", (collection,))
            conn.execute("DELETE FROM _kura_arrays WHERE collection = ?", (collection,))
            conn.execute("DELETE FROM _kura_indexes WHERE collection = ?", (collection,))
            self._tables.discard(collection)
            tx.tables.discard(collection)
            tx.inserted.discard(collection)
            self._analyzed.pop(collection, None)
            self._arrays = {a for a in self._arrays if a[0] != collection}
            tx.arrays = {a for a in tx.arrays if a[0] != collection}

        await self._write(run)

    # -- reads --------------------------------------------------------------------------------

    async def get(self, collection: str, record_id: str) -> Record | None:
        """The record with this id, or None."""
        check_collection(collection)

        def run(conn: sqlite3.Connection) -> Record | None:
            if not self._known(conn, collection):
                return None
            row = conn.execute(
                f'SELECT id, version, doc FROM "{collection}" WHERE id = ?', (record_id,)
            ).fetchone()
            return None if row is None else _row_to_record(row)

        return await self._in_reader(run)

    async def get_many(self, collection: str, ids: Sequence[str]) -> list[Record]:
        """The existing records among ``ids`` (no particular order)."""
        check_collection(collection)
        unique = list(dict.fromkeys(ids))
        if not unique:
            return []

        def run(conn: sqlite3.Connection) -> list[Record]:
            if not self._known(conn, collection):
                return []
            out: list[Record] = []
            for i in range(0, len(unique), _CHUNK):
                chunk = unique[i : i + _CHUNK]
                marks = ", ".join("?" * len(chunk))
                rows = conn.execute(
                    f'SELECT id, version, doc FROM "{collection}" WHERE id IN ({marks})', chunk
                )
                out.extend(_row_to_record(r) for r in rows)
            return out

        return await self._in_reader(run)

    def _plan(
        self,
        conn: sqlite3.Connection,
        collection: str,
        where: Sequence[Condition],
        sorted_page: bool = False,
    ) -> tuple[_Sql, str, list[str]]:
        """The FROM source and WHERE clauses of ``where``.

        An ``Eq``/``In`` on an array path with a multikey table drives the query from the
        matching ids (for a sorted page only when they are few; otherwise the planner walks
        a sort index and stops after ``limit`` rows).
        """
        arrays = self._arrays_of(conn, collection) if where else set()
        sql = _Sql(arrays)
        source = f'"{collection}"'
        multikeys = self._multikeys_of(conn, collection) if arrays else {}
        for cond in where:
            tbl = multikeys.get(cond.field)
            if tbl is None or cond.field not in arrays or not isinstance(cond, Eq | In):
                continue
            values = [cond.value] if isinstance(cond, Eq) else list(cond.values)
            if not values or any(v is None for v in values):
                continue
            hits = most = 0
            if sorted_page:
                (rows,) = conn.execute(f'SELECT max(rowid) FROM "{collection}"').fetchone()
                most = max(_MK_DRIVE_MIN, int((_MK_DENSITY * (rows or 0)) ** 0.5))
                marks = ", ".join("?" * len(values))
                (hits,) = conn.execute(
                    f'SELECT count(*) FROM (SELECT 1 FROM "{tbl}" WHERE value IN ({marks}) '
                    f"LIMIT {most + 1})",
                    values,
                ).fetchone()
            if not sorted_page or hits <= most:
                binds = ", ".join(sql.bind(v) for v in values)
                source = (
                    f'(SELECT DISTINCT id AS mk_id FROM "{tbl}" WHERE value IN ({binds})) AS mk '
                    f'CROSS JOIN "{collection}" ON "{collection}".id = mk.mk_id'
                )
            break
        # The exact condition stays in WHERE: the multikey table only narrows the candidates.
        return sql, source, sql.where(where)

    def find_sql(
        self, conn: sqlite3.Connection, collection: str, query: Query
    ) -> tuple[str, list[Any]]:
        """The SELECT for one page (``limit + 1`` rows to learn whether more follow)."""
        sort = query.full_sort
        sql, source, clauses = self._plan(conn, collection, query.where, sorted_page=True)
        if query.cursor is not None:
            clauses.append(sql.keyset(sort, decode_cursor(query.cursor, sort)))
        where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
        columns, _ = _select(query)
        text = (
            f"SELECT {columns} FROM {source}{where} "
            f"ORDER BY {_order_by(sort)} LIMIT {query.limit + 1}"
        )
        return text, sql.params

    async def find(self, collection: str, query: Query) -> Page:
        """One keyset page in ``query.full_sort`` order."""
        check_collection(collection)
        sort = query.full_sort
        if query.cursor is not None:
            decode_cursor(query.cursor, sort)  # InvalidQuery before touching the file

        def run(conn: sqlite3.Connection) -> Page:
            if not self._known(conn, collection):
                return Page()
            text, params = self.find_sql(conn, collection, query)
            _, make = _select(query)
            return page_of([make(r) for r in conn.execute(text, params)], query.limit, sort)

        return await self._in_reader(run)

    async def count(self, collection: str, where: Sequence[Condition] = ()) -> int:
        """How many records match all conditions."""
        check_collection(collection)
        for cond in where:
            check_field(cond.field)

        def run(conn: sqlite3.Connection) -> int:
            if not self._known(conn, collection):
                return 0
            sql, source, clauses = self._plan(conn, collection, where)
            text = f"SELECT count(*) FROM {source}"
            if clauses:
                text += f" WHERE {' AND '.join(clauses)}"
            return int(conn.execute(text, sql.params).fetchone()[0])

        return await self._in_reader(run)

    async def scan(
        self, collection: str, where: Sequence[Condition] = (), batch: int = 1000
    ) -> AsyncIterator[Record]:
        """Every matching record in id order, ``batch`` rows per read."""
        check_collection(collection)
        for cond in where:
            check_field(cond.field)
        after: str | None = None
        while True:

            def run(conn: sqlite3.Connection, after: str | None = after) -> list[Record]:
                if not self._known(conn, collection):
                    return []
                sql, source, clauses = self._plan(conn, collection, where)
                if after is not None:
                    clauses.append(f"id > {sql.bind(after)}")
                text = f"SELECT id, version, doc FROM {source}"
                if clauses:
                    text += f" WHERE {' AND '.join(clauses)}"
                text += f" ORDER BY id LIMIT {int(batch)}"
                return [_row_to_record(r) for r in conn.execute(text, sql.params)]

            rows = await self._in_reader(run)
            for record in rows:
                yield record
            if len(rows) < batch:
                return
            after = rows[-1]["id"]

    async def explain(self, collection: str, query: Query) -> list[str]:
        """``EXPLAIN QUERY PLAN`` details of ``find`` (tests and benchmarks)."""
        check_collection(collection)

        def run(conn: sqlite3.Connection) -> list[str]:
            text, params = self.find_sql(conn, collection, query)
            return [str(r[3]) for r in conn.execute("EXPLAIN QUERY PLAN " + text, params)]

        return await self._in_reader(run)
