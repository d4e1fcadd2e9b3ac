"""Contract suite of the ``RecordStore`` port, run against every adapter (fixture ``records``).

Query results are checked against the reference semantics of ``storage.query.matches`` and a
plain Python sort over a seeded random dataset.
"""

from __future__ import annotations

import functools
import random
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import anyio
import anyio.lowlevel
import pytest

from storage.errors import (
    BackendUnavailable,
    DuplicateKey,
    InvalidQuery,
    NotFound,
    StaleVersion,
)
from storage.ports import IndexSpec, RecordStore
from storage.query import (
    Condition,
    Direction,
    Eq,
    Exists,
    In,
    Query,
    Range,
    Record,
    encode_cursor,
    get_path,
    matches,
)
from tests.support.waits import HANG_GUARD_S

pytestmark = pytest.mark.anyio

C = "works"
STATUSES = ("registered", "in_progress", "completed", "archived")
KINDS = ("construction", "service")
ORGS = ("org1", "org2", "org3")
TAGS = ("road", "bridge", "river", "tunnel", "park")


def ts(day: int, second: int = 0) -> str:
    """A fixed-width UTC timestamp like ``api.kit.clock.to_iso`` makes."""
    return f"2024-{1 + day // 28:02d}-{1 + day % 28:02d}T00:00:{second:02d}.000000Z"


def dataset(n: int = 240, seed: int = 7) -> list[Record]:
    rng = random.Random(seed)
    records = []
    for i in range(n):
        rec: Record = {
            "id": f"w{i:04d}",
            "status": rng.choice(STATUSES),
            "kind": rng.choice(KINDS),
            "orderer_org_id": rng.choice(ORGS),
            "period_start": ts(rng.randrange(300), rng.randrange(3)),
            "price": rng.randrange(5) * 1000,
            "open": rng.random() < 0.5,
            "title": f"道路改良工事 第{i}号",
            "location": {"code": rng.choice(["13101", "13102", "27100"])},
        }
        if rng.random() < 0.7:
            rec["tags"] = rng.sample(TAGS, rng.randrange(0, 3))
        else:
            rec["tags"] = rng.choice(TAGS)  # a scalar in a field other records hold as array
        if rng.random() < 0.8:
            rec["rank"] = rng.randrange(4)
        if rng.random() < 0.1:
            rec["note"] = None
        records.append(rec)
    return records


def _cmp(a: Any, b: Any) -> int:
    if a is None or b is None:
        return (a is not None) - (b is not None)  # missing / null first
    return int(a > b) - int(a < b)


def py_sort(records: Sequence[Record], sort: Sequence[tuple[str, Direction]]) -> list[Record]:
    def compare(x: Record, y: Record) -> int:
        for name, direction in sort:
            c = _cmp(get_path(x, name), get_path(y, name))
            if c:
                return c * direction
        return 0

    return sorted(records, key=functools.cmp_to_key(compare))


def strip(record: Record) -> Record:
    return {k: v for k, v in record.items() if k != "version"}


async def all_pages(
    store: RecordStore, where: tuple[Condition, ...], sort: Any, limit: int
) -> list[Record]:
    out: list[Record] = []
    cursor = None
    for _ in range(1000):
        page = await store.find(C, Query(where=where, sort=sort, limit=limit, cursor=cursor))
        assert len(page.items) <= limit
        out.extend(page.items)
        if page.next_cursor is None:
            return out
        assert len(page.items) == limit
        cursor = page.next_cursor
    raise AssertionError("paging did not end")


# --- basic CRUD -------------------------------------------------------------------------------


async def test_insert_get_get_many(records: RecordStore) -> None:
    stored = await records.insert(C, {"id": "a", "title": "橋梁補修", "n": 1, "version": 99})
    assert stored == {"id": "a", "title": "橋梁補修", "n": 1, "version": 1}
    assert await records.get(C, "a") == stored
    assert await records.get(C, "missing") is None
    assert await records.get("never_created", "a") is None
    await records.insert(C, {"id": "b", "nested": {"x": [1, 2], "y": {"z": True}}})
    got = await records.get_many(C, ["b", "zz", "a", "a"])
    assert sorted(r["id"] for r in got) == ["a", "b"]
    assert all("_id" not in r for r in got)
    assert (await records.get(C, "b")) == {
        "id": "b",
        "nested": {"x": [1, 2], "y": {"z": True}},
        "version": 1,
    }
    assert await records.get_many(C, []) == []


async def test_invalid_collection_name(records: RecordStore) -> None:
    with pytest.raises(ValueError, match="collection"):
        await records.insert("Bad-Name", {"id": "a"})


async def test_duplicate_id(records: RecordStore) -> None:
    await records.insert(C, {"id": "a", "v": 1})
    with pytest.raises(DuplicateKey) as info:
        await records.insert(C, {"id": "a", "v": 2})
    assert info.value.fields == ("id",)
    assert (await records.get(C, "a") or {})["v"] == 1


async def test_unique_index(records: RecordStore) -> None:
    spec = IndexSpec((("number", 1), ("orderer_org_id", 1)), unique=True)
    await records.ensure_indexes(C, [spec, IndexSpec((("status", 1),))])
    await records.ensure_indexes(C, [spec])  # idempotent
    await records.insert(C, {"id": "a", "number": "N-1", "orderer_org_id": "o1"})
    await records.insert(C, {"id": "b", "number": "N-1", "orderer_org_id": "o2"})
    with pytest.raises(DuplicateKey) as info:
        await records.insert(C, {"id": "c", "number": "N-1", "orderer_org_id": "o1"})
    assert info.value.fields == ("number", "orderer_org_id")
    assert await records.get(C, "c") is None
    with pytest.raises(DuplicateKey):
        await records.update(C, "b", {"orderer_org_id": "o1"}, 1)
    assert (await records.get(C, "b")) == {
        "id": "b",
        "number": "N-1",
        "orderer_org_id": "o2",
        "version": 1,
    }
    # A unique index over values that already collide is refused, naming the fields.
    await records.insert(C, {"id": "d", "code": "x"})
    await records.insert(C, {"id": "e", "code": "x"})
    with pytest.raises(DuplicateKey) as info:
        await records.ensure_indexes(C, [IndexSpec((("code", 1),), unique=True)])
    assert info.value.fields == ("code",)


async def test_update(records: RecordStore) -> None:
    await records.insert(C, {"id": "a", "title": "t", "status": "registered", "x": {"y": 1}})
    updated = await records.update(C, "a", {"status": "in_progress", "title": None, "n": 2}, 1)
    assert updated == {"id": "a", "status": "in_progress", "x": {"y": 1}, "n": 2, "version": 2}
    assert await records.get(C, "a") == updated
    with pytest.raises(StaleVersion) as info:
        await records.update(C, "a", {"status": "completed"}, 1)
    assert info.value.actual == 2
    assert info.value.expected == 1
    assert await records.get(C, "a") == updated
    with pytest.raises(NotFound):
        await records.update(C, "missing", {"status": "x"}, 1)
    with pytest.raises(NotFound):
        await records.update("nothing_here", "a", {"status": "x"}, 1)
    # Removing an absent field is not an error.
    again = await records.update(C, "a", {"absent": None}, 2)
    assert again["version"] == 3
    assert "absent" not in again


async def test_replace(records: RecordStore) -> None:
    await records.insert(C, {"id": "a", "title": "t", "old": 1})
    new = await records.replace(C, {"id": "a", "title": "u", "version": 1}, 1)
    assert new == {"id": "a", "title": "u", "version": 2}
    assert await records.get(C, "a") == new
    with pytest.raises(StaleVersion) as info:
        await records.replace(C, {"id": "a", "title": "v"}, 1)
    assert info.value.actual == 2
    assert await records.get(C, "a") == new
    with pytest.raises(NotFound):
        await records.replace(C, {"id": "missing", "title": "v"}, 1)


async def test_delete(records: RecordStore) -> None:
    await records.insert(C, {"id": "a"})
    await records.insert(C, {"id": "b"})
    with pytest.raises(StaleVersion) as info:
        await records.delete(C, "a", 2)
    assert info.value.actual == 1
    assert await records.get(C, "a") is not None
    await records.delete(C, "a", 1)
    assert await records.get(C, "a") is None
    await records.delete(C, "b", None)
    assert await records.count(C) == 0
    with pytest.raises(NotFound):
        await records.delete(C, "a", None)
    with pytest.raises(NotFound):
        await records.delete(C, "a", 1)


# --- queries ----------------------------------------------------------------------------------

CONDITIONS: list[Condition] = [
    Eq("status", "completed"),
    Eq("kind", "service"),
    Eq("open", True),
    Eq("open", False),
    Eq("price", 2000),
    Eq("price", 0),
    Eq("rank", 0),
    Eq("rank", None),
    Eq("note", None),
    Eq("tags", "road"),
    Eq("tags", "park"),
    Eq("location.code", "13101"),
    Eq("location.missing", None),
    Eq("id", "w0003"),
    In("status", ("registered", "archived")),
    In("tags", ("bridge", "tunnel")),
    In("price", (1000, 3000)),
    In("location.code", ("13102", "27100")),
    In("id", ("w0001", "w0002", "nope")),
    In("status", ()),
    Range("period_start", gte=ts(100), lt=ts(200)),
    Range("period_start", gt=ts(100, 1), lte=ts(101, 2)),
    Range("period_start", lt=ts(30)),
    Range("price", gte=1000, lte=3000),
    Range("price", gt=1000),
    Range("rank", lt=2),
    Range("id", gte="w0100", lt="w0110"),
    Exists("rank"),
    Exists("rank", exists=False),
    Exists("note"),
    Exists("note", exists=False),
    Exists("location.code"),
    Exists("location.missing", exists=False),
]


@pytest.fixture
async def loaded(records: RecordStore) -> tuple[RecordStore, list[Record]]:
    data = dataset()
    await records.ensure_indexes(
        C,
        [
            IndexSpec((("status", 1), ("period_start", -1))),
            IndexSpec((("orderer_org_id", 1), ("period_start", -1))),
            IndexSpec((("tags", 1),)),
        ],
    )
    assert await records.insert_many(C, data) == len(data)
    return records, data


@pytest.mark.parametrize("cond", CONDITIONS, ids=repr)
async def test_condition(loaded: tuple[RecordStore, list[Record]], cond: Condition) -> None:
    store, data = loaded
    expected = sorted(r["id"] for r in data if matches(r, cond))
    page = await store.find(C, Query(where=(cond,), limit=1000))
    assert [r["id"] for r in page.items] == expected
    assert page.next_cursor is None
    assert await store.count(C, [cond]) == len(expected)


async def test_conditions_combined(loaded: tuple[RecordStore, list[Record]]) -> None:
    store, data = loaded
    where = (
        In("status", ("registered", "in_progress")),
        Eq("orderer_org_id", "org2"),
        Range("period_start", gte=ts(50)),
        Eq("tags", "road"),
    )
    expected = [r["id"] for r in data if all(matches(r, c) for c in where)]
    assert expected  # the seed gives a non-empty answer
    got = await all_pages(store, where, (("period_start", -1),), 3)
    ordered = py_sort([r for r in data if r["id"] in expected], [("period_start", -1), ("id", 1)])
    assert [r["id"] for r in got] == [r["id"] for r in ordered]


SORTS: list[tuple[tuple[str, Direction], ...]] = [
    (),
    (("period_start", -1),),
    (("period_start", 1),),
    (("status", 1), ("period_start", -1)),
    (("orderer_org_id", -1), ("price", 1), ("period_start", -1)),
    (("rank", 1),),  # missing for some records: they come first ascending
    (("rank", -1), ("status", 1)),  # ... and last descending
    (("location.code", 1), ("id", -1)),
    (("id", -1),),
]


@pytest.mark.parametrize("sort", SORTS, ids=repr)
async def test_sort_and_cursor_paging(
    loaded: tuple[RecordStore, list[Record]], sort: tuple[tuple[str, Direction], ...]
) -> None:
    store, data = loaded
    full = Query(sort=sort).full_sort
    expected = [r["id"] for r in py_sort(data, full)]
    got = await all_pages(store, (), sort, 17)
    assert [r["id"] for r in got] == expected
    assert {r["id"] for r in got} == {r["id"] for r in data}
    # The same with a filter, page size 1 and an array condition.
    where: tuple[Condition, ...] = (In("tags", ("road", "river")),)
    expected_f = [r["id"] for r in py_sort([r for r in data if matches(r, where[0])], full)]
    got_f = await all_pages(store, where, sort, 4)
    assert [r["id"] for r in got_f] == expected_f


async def test_page_is_full_records(loaded: tuple[RecordStore, list[Record]]) -> None:
    store, data = loaded
    page = await store.find(C, Query(sort=(("id", 1),), limit=5))
    assert [strip(r) for r in page.items] == data[:5]
    assert all(r["version"] == 1 for r in page.items)
    assert page.next_cursor is not None


@pytest.mark.parametrize(
    ("fields", "sort"),
    [
        (("title", "tags"), (("period_start", -1),)),
        (("rank", "note", "location"), (("location.code", 1), ("id", -1))),
        (("price",), ()),
        (("version",), (("status", 1),)),
    ],
    ids=repr,
)
async def test_projection_returns_only_the_fields_asked(
    loaded: tuple[RecordStore, list[Record]],
    fields: tuple[str, ...],
    sort: tuple[tuple[str, Direction], ...],
) -> None:
    """``Query.fields``: id, version, the fields asked and the sort fields' roots (a cursor
    is made of them); a missing or null field comes back missing; paging works as usual."""
    store, data = loaded
    where: tuple[Condition, ...] = (In("status", ("registered", "completed")),)
    keep = {*fields, *(name.split(".")[0] for name, _ in sort)}
    wanted = py_sort([r for r in data if matches(r, where[0])], Query(sort=sort).full_sort)
    expected = [
        {"id": r["id"], **{k: v for k, v in r.items() if k in keep and v is not None}}
        for r in wanted
    ]
    got: list[Record] = []
    cursor = None
    while True:
        page = await store.find(
            C, Query(where=where, sort=sort, limit=7, cursor=cursor, fields=fields)
        )
        got.extend(page.items)
        cursor = page.next_cursor
        if cursor is None:
            break
    assert all(r.pop("version") == 1 for r in got)
    assert got == expected
    with pytest.raises(InvalidQuery):
        Query(fields=("location.code",))


async def test_bad_cursor(loaded: tuple[RecordStore, list[Record]]) -> None:
    store, data = loaded
    for cursor in ("garbage!!", "eyJ4Ijox", ""):
        with pytest.raises(InvalidQuery):
            await store.find(C, Query(sort=(("status", 1),), cursor=cursor))
    other = encode_cursor(data[0], (("title", 1), ("id", 1)))
    with pytest.raises(InvalidQuery):
        await store.find(C, Query(sort=(("status", 1),), cursor=other))
    with pytest.raises(InvalidQuery):
        await store.find(C, Query(where=(Eq("bad field", 1),)))


async def test_find_empty_collection(records: RecordStore) -> None:
    page = await records.find("empty_one", Query(where=(Eq("a", 1),), sort=(("b", -1),)))
    assert page.items == []
    assert page.next_cursor is None
    assert await records.count("empty_one") == 0
    assert [r async for r in records.scan("empty_one")] == []


async def test_count_and_scan(loaded: tuple[RecordStore, list[Record]]) -> None:
    store, data = loaded
    assert await store.count(C) == len(data)
    ids = [r["id"] async for r in store.scan(C, batch=7)]
    assert ids == sorted(r["id"] for r in data)
    where = [Eq("kind", "service"), Eq("tags", "road")]
    scanned = [r async for r in store.scan(C, where, batch=5)]
    assert [r["id"] for r in scanned] == sorted(
        r["id"] for r in data if all(matches(r, c) for c in where)
    )
    assert all(r["version"] == 1 and "_id" not in r for r in scanned)


async def test_drop_collection(records: RecordStore) -> None:
    await records.insert(C, {"id": "a"})
    await records.drop_collection(C)
    assert await records.count(C) == 0
    await records.insert(C, {"id": "a"})
    assert await records.count(C) == 1


# --- transactions and bulk --------------------------------------------------------------------


async def test_transaction_commit(records: RecordStore) -> None:
    await records.insert(C, {"id": "x", "n": 0})
    async with records.transaction():
        await records.insert(C, {"id": "a", "n": 1})
        await records.update(C, "x", {"n": 5}, 1)
        # Reads inside see the transaction's own writes.
        assert (await records.get(C, "a") or {})["n"] == 1
        assert await records.count(C) == 2
        assert len((await records.find(C, Query(where=(Eq("n", 5),)))).items) == 1
    assert (await records.get(C, "a") or {})["n"] == 1
    assert (await records.get(C, "x") or {})["version"] == 2


async def test_transaction_rollback(records: RecordStore) -> None:
    await records.insert(C, {"id": "x", "n": 0})

    class Boom(Exception):
        pass

    async def body() -> None:
        async with records.transaction():
            await records.insert(C, {"id": "a", "n": 1})
            await records.insert("other_coll", {"id": "b", "tags": ["t"]})
            await records.update(C, "x", {"n": 5}, 1)
            await records.delete(C, "x", 2)
            raise Boom

    with pytest.raises(Boom):
        await body()
    assert await records.get(C, "a") is None
    assert await records.get("other_coll", "b") is None
    assert await records.get(C, "x") == {"id": "x", "n": 0, "version": 1}
    # The store still works after the rollback, including in the collection made inside.
    await records.insert("other_coll", {"id": "b", "tags": ["t"]})
    assert await records.count("other_coll", [Eq("tags", "t")]) == 1


async def test_transaction_error_from_store_rolls_back(records: RecordStore) -> None:
    await records.insert(C, {"id": "x"})

    async def body() -> None:
        async with records.transaction():
            await records.insert(C, {"id": "a"})
            await records.insert(C, {"id": "x"})

    with pytest.raises(DuplicateKey):
        await body()
    assert await records.get(C, "a") is None


async def test_nested_transaction_joins(records: RecordStore) -> None:
    async with records.transaction():
        await records.insert(C, {"id": "a"})
        async with records.transaction():
            await records.insert(C, {"id": "b"})
    assert await records.count(C) == 2

    async def outer_fails() -> None:
        async with records.transaction():
            await records.insert(C, {"id": "c"})
            async with records.transaction():
                await records.insert(C, {"id": "d"})
            raise RuntimeError("outer fails after inner finished")

    with pytest.raises(RuntimeError):
        await outer_fails()
    assert await records.get_many(C, ["c", "d"]) == []

    async def inner_fails() -> None:
        async with records.transaction():
            await records.insert(C, {"id": "e"})
            async with records.transaction():
                await records.insert(C, {"id": "f"})
                raise RuntimeError("inner fails")

    with pytest.raises(RuntimeError):
        await inner_fails()
    assert await records.get_many(C, ["e", "f"]) == []


async def test_reads_outside_do_not_see_or_wait_for_open_transaction(
    records: RecordStore,
) -> None:
    await records.insert(C, {"id": "x", "n": 0})
    inside = anyio.Event()
    checked = anyio.Event()
    seen: list[Any] = []

    async def reader() -> None:
        await inside.wait()
        with anyio.fail_after(3):
            seen.append(await records.get(C, "a"))
            seen.append((await records.get(C, "x") or {}).get("n"))
        checked.set()

    async with anyio.create_task_group() as tg:
        tg.start_soon(reader)
        async with records.transaction():
            await records.insert(C, {"id": "a"})
            await records.update(C, "x", {"n": 1}, 1)
            inside.set()
            await checked.wait()
    assert seen == [None, 0]
    assert await records.get(C, "a") is not None


async def test_concurrent_writes(records: RecordStore) -> None:
    await records.insert(C, {"id": "x", "n": 0})
    results: list[str] = []

    async def bump(i: int) -> None:
        try:
            await records.update(C, "x", {"n": i}, 1)
            results.append("ok")
        except StaleVersion:
            results.append("stale")

    async def add(i: int) -> None:
        async with records.transaction():
            await records.insert(C, {"id": f"t{i}"})
            await anyio.lowlevel.checkpoint()
            await records.insert(C, {"id": f"u{i}"})

    async with anyio.create_task_group() as tg:
        for i in range(5):
            tg.start_soon(bump, i)
            tg.start_soon(add, i)
    assert sorted(results) == ["ok", "stale", "stale", "stale", "stale"]
    assert await records.count(C) == 11


async def test_insert_many_all_or_nothing(records: RecordStore) -> None:
    await records.insert(C, {"id": "w0005"})
    data = dataset(20)
    with pytest.raises(DuplicateKey):
        await records.insert_many(C, data)
    assert await records.count(C) == 1
    with pytest.raises(DuplicateKey):
        await records.insert_many(C, [{"id": "n1"}, {"id": "n2"}, {"id": "n1"}])
    assert await records.count(C) == 1
    assert await records.insert_many(C, []) == 0
    assert await records.insert_many(C, [r for r in data if r["id"] != "w0005"]) == 19


async def test_health(records: RecordStore) -> None:
    health = await records.health()
    assert health.ok
    assert health.backend == records.name


# --- adapter-specific -------------------------------------------------------------------------


async def test_mongo_unreachable() -> None:
    from storage.records.mongo import MongoRecordStore

    store = MongoRecordStore(
        "mongodb://127.0.0.1:1/?directConnection=true", "kura_nowhere", timeout_s=0.3
    )
    await store.open()  # connecting is lazy: open does not fail or hang
    # how fast each call gives up is bench/bench_unreachable.py's measurement; the guard only
    # stops a hang
    try:
        with anyio.fail_after(HANG_GUARD_S):
            with pytest.raises(BackendUnavailable) as info:
                await store.get(C, "a")
            assert info.value.backend == "mongodb"
            with pytest.raises(BackendUnavailable):
                await store.insert(C, {"id": "a"})
            with pytest.raises(BackendUnavailable):
                async with store.transaction():
                    await store.insert(C, {"id": "a"})
            health = await store.health()
        assert not health.ok
        assert health.backend == "mongodb"
    finally:
        await store.close()


async def test_sqlite_filtered_sorted_page_uses_index(tmp_path: Path) -> None:
    from storage.records.sqlite import SqliteRecordStore

    store = SqliteRecordStore(tmp_path / "plan.sqlite3")
    try:
        await store.ensure_indexes(
            C,
            [
                IndexSpec((("status", 1), ("period_start", -1))),
                IndexSpec((("orderer_org_id", 1), ("period_start", -1))),
            ],
        )
        await store.insert_many(C, dataset(2000))
        query = Query(where=(Eq("status", "completed"),), sort=(("period_start", -1),))
        plan = " ".join(await store.explain(C, query))
        assert "USING INDEX ix_works__status_period_start" in plan
        assert "TEMP B-TREE" not in plan
        page = await store.find(C, query)
        plan2 = " ".join(
            await store.explain(
                C, Query(where=query.where, sort=query.sort, cursor=page.next_cursor)
            )
        )
        assert "USING INDEX ix_works__status_period_start" in plan2
        assert "TEMP B-TREE" not in plan2
    finally:
        await store.close()


async def test_sqlite_statistics_follow_growth(tmp_path: Path) -> None:
    """A filter matching most rows through a long ``In`` list walks the sort index once the
    store has statistics (taken when the collection reached 1,000 rows), in connections
    opened before as well; without them SQLite reads every match and sorts it."""
    from storage.records.sqlite import SqliteRecordStore

    store = SqliteRecordStore(tmp_path / "stats.sqlite3")
    rng = random.Random(3)
    orgs = [f"org{i:03d}" for i in range(100)]

    def batch(start: int, n: int) -> list[Record]:
        return [
            {
                "id": f"r{i:06d}",
                "orderer_org_id": rng.choice(orgs),
                "period_start": ts(rng.randrange(300), rng.randrange(3)),
            }
            for i in range(start, start + n)
        ]

    try:
        await store.ensure_indexes(
            C,
            [
                IndexSpec((("orderer_org_id", 1), ("price", 1))),
                IndexSpec((("period_start", 1),)),
            ],
        )
        await store.insert_many(C, batch(0, 900))
        query = Query(where=(In("orderer_org_id", tuple(orgs)),), sort=(("period_start", 1),))
        before = " ".join(await store.explain(C, query))  # a reader connection opens here
        assert "TEMP B-TREE" in before  # no statistics yet: a small collection stays as is
        await store.insert_many(C, batch(900, 300))
        after = " ".join(await store.explain(C, query))
        assert "USING INDEX ix_works__period_start" in after
        assert "TEMP B-TREE" not in after
        page = await store.find(C, query)
        assert [r["period_start"] for r in page.items] == sorted(
            r["period_start"] for r in page.items
        )
    finally:
        await store.close()


async def test_sqlite_locked_database_is_backend_unavailable(tmp_path: Path) -> None:
    import sqlite3

    from storage.records import sqlite as sqlite_module
    from storage.records.sqlite import SqliteRecordStore

    path = tmp_path / "locked.sqlite3"
    store = SqliteRecordStore(path)
    await store.insert(C, {"id": "a"})
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")
    original = sqlite_module._BUSY_TIMEOUT_MS
    try:
        await store.close()
        sqlite_module._BUSY_TIMEOUT_MS = 100  # keep the test fast
        with pytest.raises(BackendUnavailable) as info:
            await store.insert(C, {"id": "b"})
        assert "locked" in info.value.reason
        await store.health()  # never raises
    finally:
        sqlite_module._BUSY_TIMEOUT_MS = original
        other.execute("ROLLBACK")
        other.close()
        await store.close()
    store2 = SqliteRecordStore(path)
    try:
        assert [r["id"] async for r in store2.scan(C)] == ["a"]
    finally:
        await store2.close()


async def test_sqlite_multikey_table_follows_every_write(tmp_path: Path) -> None:
    """An array path leading an index gets a (value, id) table; it must follow every write."""
    from storage.records.sqlite import SqliteRecordStore

    store = SqliteRecordStore(tmp_path / "mk.sqlite3")
    rng = random.Random(3)
    try:
        data = dataset(300)
        await store.insert_many(C, data[:150])
        # Index made after data (backfill), then more data (maintained on insert).
        await store.ensure_indexes(C, [IndexSpec((("tags", 1), ("period_start", -1)))])
        await store.insert_many(C, data[150:])
        current = {r["id"]: dict(r) for r in data}
        for rec_id in rng.sample(sorted(current), 40):
            new_tags = rng.sample(TAGS, rng.randrange(0, 3))
            updated = await store.update(C, rec_id, {"tags": new_tags}, 1)
            current[rec_id] = strip(updated)
        for rec_id in rng.sample(sorted(current), 20):
            rec = await store.get(C, rec_id)
            assert rec is not None
            await store.delete(C, rec_id, rec["version"])
            del current[rec_id]
        survivor = sorted(current)[0]
        rec = await store.get(C, survivor)
        assert rec is not None
        replaced = await store.replace(C, {"id": survivor, "tags": ["solo"]}, rec["version"])
        current[survivor] = strip(replaced)

        async def rolled_back() -> None:
            async with store.transaction():
                await store.insert(C, {"id": "ghost", "tags": ["solo", "road"]})
                raise RuntimeError("undo")

        with pytest.raises(RuntimeError):
            await rolled_back()

        conds: list[Condition] = [
            Eq("tags", "solo"),
            Eq("tags", "road"),
            In("tags", ("park", "river")),
        ]
        for cond in conds:
            expected = sorted(i for i, r in current.items() if matches(r, cond))
            assert await store.count(C, [cond]) == len(expected)
            got = await all_pages(store, (cond,), (("period_start", -1),), 25)
            assert sorted(r["id"] for r in got) == expected
            assert [r["id"] async for r in store.scan(C, [cond], batch=10)] == expected
        plan = " ".join(await store.explain(C, Query(where=(Eq("tags", "solo"),))))
        assert "_kura_mk_works_" in plan
    finally:
        await store.close()
