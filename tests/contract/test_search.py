"""Contract suite of ``storage.ports.SearchIndex``: every adapter must pass it identically.

tantivy always runs; Elasticsearch runs against the OpenSearch-API test server
(``KURA_TEST_ES_URL``) in a fresh index per test, deleted afterwards.
"""

from __future__ import annotations

import itertools
import random
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anyio
import pytest
import tantivy

from indexer.backends import FACET_SIZE, text_value
from indexer.backends.elasticsearch import ElasticsearchIndex
from indexer.backends.embedded import TantivyIndex, _build_schema
from indexer.documents import TEXT_FIELDS, normalize
from indexer.query import DateRange, IntRange, SearchQuery
from storage.errors import BackendUnavailable, InvalidQuery
from storage.ports import SearchIndex
from tests.conftest import server_env
from tests.support.waits import HANG_GUARD_S

pytestmark = pytest.mark.anyio

SHIM = "tests.support.es_shim:AsyncPlainJsonNode"

DOCS: list[dict[str, Any]] = [
    {
        "id": "w1",
        "work_id": "w1",
        "type": "work",
        "title": "広島県道路改良工事",
        "body": "舗装と側溝の改修",
        "category": "road",
        "work_kind": "construction",
        "acl": ["org:a"],
        "period_start": "2024-04-01",
        "updated_at": "2024-05-01T00:00:00.000000Z",
        "stamp": 1,
    },
    {
        "id": "w2",
        "work_id": "w2",
        "type": "work",
        "title": "ｺｳｼﾞ 設計業務",
        "category": "design",
        "work_kind": "service",
        "acl": ["org:b"],
        "period_start": "2024-04-02T09:00:00.000000Z",
        "stamp": 2,
    },
    {
        "id": "f1",
        "work_id": "w1",
        "type": "file",
        "title": "コウジ写真",
        "body": "こうじの記録 ABC",
        "category": "road",
        "acl": ["org:a", "user:u1"],
        "doc_date": "2023-12-31",
        "stamp": 3,
    },
    {
        "id": "f2",
        "work_id": "w9",
        "type": "file",
        "title": "橋梁補修",
        "names": ["点検調書.pdf", "写真帳.pdf"],
        "category": "bridge",
        "acl": ["org:c"],
        "stamp": 4,
    },
]


@pytest.fixture(params=["tantivy", "elasticsearch"])
async def index(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[SearchIndex]:
    if request.param == "tantivy":
        tantivy_index = TantivyIndex(tmp_path / "index")
        await tantivy_index.open()
        yield tantivy_index
        await tantivy_index.close()
        return
    url = server_env("KURA_TEST_ES_URL")
    es = ElasticsearchIndex([url], f"kura-test-{uuid.uuid4().hex[:12]}", node_class=SHIM)
    await es.open()
    try:
        yield es
    finally:
        await es.drop()
        await es.close()


async def loaded(index: SearchIndex) -> SearchIndex:
    await index.upsert(DOCS)
    await index.refresh()
    return index


async def ids(index: SearchIndex, **kw: Any) -> list[str]:
    kw.setdefault("acl", None)
    kw.setdefault("limit", 100)
    result = await index.search(SearchQuery(**kw))
    assert result.total == len(result.hits)
    return [h.id for h in result.hits]


async def id_set(index: SearchIndex, **kw: Any) -> set[str]:
    return set(await ids(index, **kw))


async def test_upsert_replace_delete(index: SearchIndex) -> None:
    assert isinstance(index, SearchIndex)
    await loaded(index)
    assert await id_set(index) == {"w1", "w2", "f1", "f2"}
    hit = (await index.search(SearchQuery(text="道路改良", acl=None))).hits[0]
    assert hit.doc == DOCS[0]
    await index.upsert([{**DOCS[0], "title": "岡山県橋梁補修", "stamp": 5}])
    await index.refresh()
    assert await id_set(index, text="道路改良") == set()
    assert await id_set(index, text="岡山") == {"w1"}
    assert await id_set(index) == {"w1", "w2", "f1", "f2"}
    await index.delete(["w1", "absent"])
    await index.refresh()
    assert await id_set(index) == {"w2", "f1", "f2"}
    await index.delete([])
    await index.upsert([])


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("道路改良", {"w1"}),
        ("改良", {"w1"}),
        ("県道", {"w1"}),
        ("改", {"w1"}),
        ("道改", set()),
        ("広島県道路改良工事", {"w1"}),
        ("広島県道路改良工事です", set()),
        ("ｺｳｼﾞ", {"w2", "f1"}),
        ("コウジ", {"w2", "f1"}),
        ("こうじ", {"w2", "f1"}),
        ("abc", {"f1"}),
        ("ＡＢＣ", {"f1"}),
        ("こうじ 記録", {"f1"}),
        ("こうじ 橋梁", set()),
        ("点検", {"f2"}),
        ("写真", {"f1", "f2"}),
        ("側溝", {"w1"}),
    ],
)
async def test_japanese_exact_substrings(index: SearchIndex, text: str, expected: set[str]) -> None:
    await loaded(index)
    assert await id_set(index, text=text) == expected


async def test_fields_restrict_text(index: SearchIndex) -> None:
    await loaded(index)
    assert await id_set(index, text="写真", fields=("title",)) == {"f1"}
    assert await id_set(index, text="写真", fields=("names",)) == {"f2"}
    with pytest.raises(InvalidQuery):
        await index.search(SearchQuery(text="x", fields=("nope",)))


async def test_keyword_filters_and_types(index: SearchIndex) -> None:
    await loaded(index)
    assert await id_set(index, filters={"category": ("road",)}) == {"w1", "f1"}
    assert await id_set(index, filters={"category": ("road", "bridge")}) == {"w1", "f1", "f2"}
    assert await id_set(index, types=("file",)) == {"f1", "f2"}
    assert await id_set(index, types=("file",), filters={"category": ("road",)}) == {"f1"}
    assert await id_set(index, filters={"category": ()}) == set()
    assert await id_set(index, text="こうじ", filters={"work_kind": ("service",)}) == {"w2"}
    with pytest.raises(InvalidQuery):
        await index.search(SearchQuery(filters={"nope": ("x",)}))


async def test_excluded_keyword_values(index: SearchIndex) -> None:
    """``exclude`` leaves out documents carrying a value (a package's management files, issue
    8 §3 item 2); documents without the field stay; alone it filters the whole index."""
    await loaded(index)
    assert await id_set(index, exclude={"category": ("road",)}) == {"w2", "f2"}
    assert await id_set(index, types=("file",), exclude={"category": ("road",)}) == {"f2"}
    assert await id_set(index, text="こうじ", exclude={"work_kind": ("service",)}) == {"f1"}
    assert await id_set(index, exclude={"category": ("nothing-has-this",)}) == {
        "w1",
        "w2",
        "f1",
        "f2",
    }


async def test_acl_filter(index: SearchIndex) -> None:
    await loaded(index)
    assert await id_set(index, acl=None) == {"w1", "w2", "f1", "f2"}
    assert await id_set(index, acl=()) == set()
    assert await id_set(index, acl=("org:a",)) == {"w1", "f1"}
    assert await id_set(index, acl=("user:u1", "org:c")) == {"f1", "f2"}
    assert await id_set(index, acl=("org:zzz",)) == set()
    assert await id_set(index, text="こうじ", acl=("org:b",)) == {"w2"}


async def test_member_works_widen_the_acl(index: SearchIndex) -> None:
    """A document matches the acl OR belongs to one of ``member_works`` (issue 7 item 9: the
    subject's current memberships, read from the store at query time)."""
    await loaded(index)
    assert await id_set(index, acl=(), member_works=("w2",)) == {"w2"}
    assert await id_set(index, acl=("org:c",), member_works=("w1",)) == {"w1", "f1", "f2"}
    assert await id_set(index, acl=("org:zzz",), member_works=("nope",)) == set()
    assert await id_set(index, text="こうじ", acl=("org:c",), member_works=("w2",)) == {"w2"}
    assert await id_set(index, acl=None, member_works=("w1",)) == {"w1", "w2", "f1", "f2"}
    assert await id_set(index, acl=("org:c",), member_works=("w1",), types=("file",)) == {
        "f1",
        "f2",
    }
    result = await index.search(
        SearchQuery(acl=("org:c",), member_works=("w1",), facets=("type",), limit=1)
    )
    assert result.total == 3
    assert result.facets["type"] == {"file": 2, "work": 1}


async def test_date_ranges(index: SearchIndex) -> None:
    await loaded(index)
    day = DateRange(gte="2024-04-01", lte="2024-04-01")
    assert await id_set(index, ranges={"period_start": day}) == {"w1"}
    through = DateRange(lte="2024-04-02")
    assert await id_set(index, ranges={"period_start": through}) == {"w1", "w2"}
    exact = DateRange(gte="2024-04-02T09:00:00.000000Z")
    assert await id_set(index, ranges={"period_start": exact}) == {"w2"}
    before = DateRange(lte="2024-04-02T08:59:59.999999Z")
    assert await id_set(index, ranges={"period_start": before}) == {"w1"}
    assert await id_set(index, ranges={"doc_date": DateRange(lte="2023-12-31")}) == {"f1"}
    assert await id_set(index, ranges={"doc_date": DateRange(gte="2024-01-01")}) == set()
    with pytest.raises(InvalidQuery):
        await index.search(SearchQuery(ranges={"doc_date": DateRange(gte="令和6年")}))


async def test_integer_ranges(index: SearchIndex) -> None:
    """``numbers``: inclusive bounds on integer fields; documents without the field never
    match (the map filter of the search API is four of these, issue 8 item 9)."""
    docs = [
        {"id": "a", "type": "work", "bbox_west": 132_450_000, "bbox_east": 132_470_000, "stamp": 1},
        {"id": "b", "type": "work", "bbox_west": 133_900_000, "bbox_east": 133_950_000, "stamp": 1},
        {"id": "c", "type": "work", "stamp": 1},
        {"id": "d", "type": "work", "bbox_west": -5, "bbox_east": 0, "stamp": 1},
    ]
    await index.upsert(docs)
    await index.refresh()
    west = {"bbox_west": IntRange(lte=133_000_000)}
    assert await id_set(index, numbers=west) == {"a", "d"}
    both = {"bbox_west": IntRange(lte=134_000_000), "bbox_east": IntRange(gte=133_000_000)}
    assert await id_set(index, numbers=both) == {"b"}
    exact = {"bbox_east": IntRange(gte=132_470_000, lte=132_470_000)}
    assert await id_set(index, numbers=exact) == {"a"}
    assert await id_set(index, numbers={"bbox_west": IntRange()}) == {"a", "b", "d"}
    assert await id_set(index, numbers={"bbox_east": IntRange(gte=1)}) == {"a", "b"}
    with pytest.raises(InvalidQuery):
        await index.search(SearchQuery(numbers={"title": IntRange(gte=1)}))


async def test_facets(index: SearchIndex) -> None:
    await loaded(index)
    result = await index.search(SearchQuery(acl=None, facets=("category", "type"), limit=1))
    assert result.total == 4
    assert len(result.hits) == 1
    assert result.facets == {
        "category": {"road": 2, "bridge": 1, "design": 1},
        "type": {"file": 2, "work": 2},
    }
    assert list(result.facets["category"]) == ["road", "bridge", "design"]
    result = await index.search(SearchQuery(text="こうじ", acl=None, facets=("category",)))
    assert result.facets == {"category": {"design": 1, "road": 1}}
    assert FACET_SIZE >= 10


async def test_sorts(index: SearchIndex) -> None:
    await loaded(index)
    # normalised titles: こうじ 設計業務 < こうじ写真 < 広島県… < 橋梁補修 (code point order)
    assert await ids(index, sort="title", descending=False) == ["w2", "f1", "w1", "f2"]
    assert await ids(index, sort="title", descending=True) == ["f2", "w1", "f1", "w2"]
    # documents without the date come last either way, then by id in the same direction
    date = {"sort": "date", "sort_date_field": "period_start"}
    assert await ids(index, **date, descending=False) == ["w1", "w2", "f1", "f2"]
    assert await ids(index, **date, descending=True) == ["w2", "w1", "f2", "f1"]
    ranked = await index.search(SearchQuery(text="写真", acl=None))
    assert {h.id for h in ranked.hits} == {"f1", "f2"}
    assert ranked.hits[0].score >= ranked.hits[1].score > 0


def corpus(n: int) -> list[dict[str, Any]]:
    docs = []
    for i in range(n):
        doc: dict[str, Any] = {
            "id": f"d{i:04d}",
            "type": "file",
            "title": f"工事写真 {i % 7} 号",
            "body": "道路改良" if i % 3 == 0 else "橋梁",
            "stamp": i,
        }
        if i % 5:
            doc["doc_date"] = f"2024-01-{1 + i % 4:02d}"
        docs.append(doc)
    return docs


def expected_order(docs: list[dict[str, Any]], sort: str, descending: bool) -> list[str]:
    if sort == "title":
        keyed = [((normalize(d["title"]), d["id"]), d["id"]) for d in docs]
        return [i for _, i in sorted(keyed, reverse=descending)]
    present = [d for d in docs if "doc_date" in d]
    absent = [d for d in docs if "doc_date" not in d]
    order = [d["id"] for d in sorted(present, key=lambda d: (d["doc_date"], d["id"]))]
    if descending:
        order.reverse()
    return order + sorted((d["id"] for d in absent), reverse=descending)


async def walk(index: SearchIndex, **kw: Any) -> tuple[list[str], int]:
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        result = await index.search(SearchQuery(acl=None, limit=7, cursor=cursor, **kw))
        seen += [h.id for h in result.hits]
        pages += 1
        assert pages < 100
        cursor = result.next_cursor
        if cursor is None:
            return seen, result.total


@pytest.mark.parametrize(
    ("sort", "descending"), [("title", False), ("title", True), ("date", False), ("date", True)]
)
async def test_cursor_paging_sorted(index: SearchIndex, sort: str, descending: bool) -> None:
    docs = corpus(60)
    await index.upsert(docs)
    await index.refresh()
    seen, total = await walk(index, sort=sort, sort_date_field="doc_date", descending=descending)
    assert total == 60
    assert seen == expected_order(docs, sort, descending)


async def test_cursor_paging_relevance_and_filters(index: SearchIndex) -> None:
    docs = corpus(60)
    await index.upsert(docs)
    await index.refresh()
    seen, total = await walk(index, text="道路")
    assert total == 20
    assert sorted(seen) == sorted(d["id"] for d in docs if d["body"] == "道路改良")
    seen, total = await walk(index, text="写真", sort="date", sort_date_field="doc_date")
    assert len(seen) == len(set(seen)) == total == 60
    last = await index.search(SearchQuery(acl=None, limit=60))
    assert last.next_cursor is None


async def test_bad_cursors(index: SearchIndex) -> None:
    await loaded(index)
    with pytest.raises(InvalidQuery):
        await index.search(SearchQuery(acl=None, cursor="!!not a cursor"))
    first = await index.search(SearchQuery(acl=None, sort="title", limit=1))
    assert first.next_cursor is not None
    with pytest.raises(InvalidQuery):
        await index.search(SearchQuery(acl=None, sort="date", cursor=first.next_cursor))


async def test_highlights(index: SearchIndex) -> None:
    await loaded(index)
    result = await index.search(SearchQuery(text="道路改良", acl=None, highlight=True))
    assert result.hits[0].highlights == {"title": ["広島県<em>道路改良</em>工事"]}
    result = await index.search(SearchQuery(text="こうじ", acl=None, highlight=True))
    marks = {h.id: h.highlights for h in result.hits}
    assert marks["w2"] == {"title": ["<em>ｺｳｼﾞ</em> 設計業務"]}
    assert marks["f1"] == {"title": ["<em>コウジ</em>写真"], "body": ["<em>こうじ</em>の記録 ABC"]}
    plain = await index.search(SearchQuery(text="こうじ", acl=None))
    assert all(h.highlights == {} for h in plain.hits)


async def test_scan_stamps_and_clear(index: SearchIndex) -> None:
    await loaded(index)
    stamps = [pair async for pair in index.scan_stamps()]
    assert stamps == [("f1", 3), ("f2", 4), ("w1", 1), ("w2", 2)]
    assert [p async for p in index.scan_stamps("work")] == [("w1", 1), ("w2", 2)]
    many = corpus(1234)
    await index.upsert(many)
    await index.refresh()
    assert len([p async for p in index.scan_stamps("file")]) == 1236
    await index.clear()
    assert await id_set(index) == set()
    assert [p async for p in index.scan_stamps()] == []
    await index.upsert(DOCS[:1])
    await index.refresh()
    assert await id_set(index) == {"w1"}


async def test_health(index: SearchIndex) -> None:
    health = await index.health()
    assert health.ok
    assert health.backend == index.name


async def test_tantivy_persists_and_reports_closed(tmp_path: Path) -> None:
    first = TantivyIndex(tmp_path / "ix")
    await first.open()
    await first.upsert(DOCS)
    await first.close()
    assert not (await first.health()).ok
    with pytest.raises(BackendUnavailable):
        await first.search(SearchQuery(acl=None))
    second = TantivyIndex(tmp_path / "ix")
    await second.open()
    assert await id_set(second, text="こうじ") == {"w2", "f1"}
    await second.close()


async def test_tantivy_holds_the_writer_lock_only_between_write_and_refresh(
    tmp_path: Path,
) -> None:
    def writer_error() -> str:
        """What tantivy says when another writer is asked for the folder ("" if granted)."""
        try:
            tantivy.Index(_build_schema(), path=str(tmp_path / "ix")).writer(15_000_000)
        except ValueError as exc:
            return str(exc)
        return ""

    index = TantivyIndex(tmp_path / "ix")
    await index.open()
    assert writer_error() == ""
    await index.upsert(DOCS)
    assert "LockBusy" in writer_error()
    await index.refresh()
    assert writer_error() == ""
    await index.delete(["w1"])
    assert "LockBusy" in writer_error()
    await index.refresh()
    await index.clear()
    assert writer_error() == ""
    await index.close()


async def test_elasticsearch_unreachable_fails_clearly() -> None:
    es = ElasticsearchIndex(["http://127.0.0.1:9"], "kura-none", node_class=SHIM, timeout_s=2)
    # how fast each call gives up is bench/bench_unreachable.py's measurement; the guard only
    # stops a hang
    with anyio.fail_after(HANG_GUARD_S):
        health = await es.health()
        assert not health.ok
        with pytest.raises(BackendUnavailable):
            await es.search(SearchQuery(acl=None))
        with pytest.raises(BackendUnavailable):
            await es.upsert(DOCS)
        with pytest.raises(BackendUnavailable):
            await es.open()
    await es.close()


SPAN_DOCS: list[dict[str, Any]] = [
    {"id": "s1", "type": "file", "title": "ab bc", "body": "道路", "names": ["点検", "検査"]},
    {"id": "s2", "type": "file", "title": "道路改良", "body": "工事記録"},
    {"id": "r3", "type": "file", "title": "あああ"},
    {"id": "r4", "type": "file", "title": "ああああ"},
]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("abc", set()),  # "ab" and "bc" only either side of a space
        ("ab", {"s1"}),
        ("bc", {"s1"}),
        ("b", {"s1"}),
        ("点検査", set()),  # list values are separate
        ("検検", set()),
        ("検", {"s1"}),
        ("良工", set()),  # title "…改良" then body "工事…": fields are separate
        ("改良工事", set()),
        ("路改良", {"s2"}),
        ("道路", {"s1", "s2"}),
        ("ああああ", {"r4"}),  # repeated bigrams
        ("あああ", {"r3", "r4"}),
        ("あああああ", set()),
        ("あ", {"r3", "r4"}),
        ("ああああ ab", set()),
    ],
)
async def test_substrings_never_span_white_space_values_or_fields(
    index: SearchIndex, text: str, expected: set[str]
) -> None:
    await index.upsert(SPAN_DOCS)
    await index.refresh()
    assert await id_set(index, text=text) == expected


def _random_docs(rnd: random.Random, n: int) -> list[dict[str, Any]]:
    alphabet = "あいア a"  # ア folds to あ; the space splits terms

    def text(k: int) -> str:
        return "".join(rnd.choice(alphabet) for _ in range(rnd.randint(0, k)))

    docs = []
    for i in range(n):
        doc: dict[str, Any] = {"id": f"x{i:02d}", "type": "file", "title": text(6)}
        if rnd.random() < 0.7:
            doc["body"] = text(14)
        if rnd.random() < 0.5:
            doc["names"] = [text(4) for _ in range(rnd.randint(1, 3))]
        docs.append(doc)
    return docs


def _scan(docs: list[dict[str, Any]], terms: list[str], fields: tuple[str, ...]) -> set[str]:
    """Reference semantics: every term an exact substring of one of the fields."""
    return {
        d["id"] for d in docs if all(any(t in text_value(d.get(f)) for f in fields) for t in terms)
    }


async def test_random_substrings_match_a_plain_scan(index: SearchIndex) -> None:
    """Every string of 1-4 characters over a tiny alphabet, on random documents, finds exactly
    the documents a substring scan finds (all fields and restricted fields, one and two terms)."""
    rnd = random.Random(3)
    docs = _random_docs(rnd, 30)
    await index.upsert(docs)
    await index.refresh()
    letters = "あいa"
    queries = ["".join(p) for k in range(1, 5) for p in itertools.product(letters, repeat=k)]
    checked = 0
    for q in queries:
        want = _scan(docs, [q], TEXT_FIELDS)
        assert await id_set(index, text=q) == want, q
        checked += bool(want)
    assert checked > 20  # the corpus really contains many of them
    for q in rnd.sample(queries, 25):
        for fields in (("body",), ("title", "names")):
            assert await id_set(index, text=q, fields=fields) == _scan(docs, [q], fields), q
        other = rnd.choice(queries)
        want = _scan(docs, [q, other], TEXT_FIELDS)
        assert await id_set(index, text=f"{q} {other}") == want, (q, other)


async def test_total_is_the_same_with_and_without_facets_and_sorts(index: SearchIndex) -> None:
    docs = [*corpus(40), {"id": "nostamp", "type": "file", "title": "工事写真 x"}]
    await index.upsert(docs)
    await index.refresh()
    for text in ("", "写真", "道路改良", "工"):
        totals = set()
        for sort in ("relevance", "title", "date"):
            for facets in ((), ("type",), ("type", "category")):
                q = SearchQuery(
                    text=text, acl=None, sort=sort, sort_date_field="doc_date", facets=facets
                )
                result = await index.search(q)
                totals.add(result.total)
                if facets:
                    assert sum(result.facets["type"].values()) == result.total
        assert len(totals) == 1, (text, totals)
        assert totals == {len(_scan(docs, [normalize(text)], TEXT_FIELDS)) if text else 41}
    await index.delete(["d0000", "nostamp"])
    await index.upsert([{**docs[1], "title": "差し替え"}])
    await index.refresh()
    result = await index.search(SearchQuery(text="写真", acl=None, facets=("type",)))
    assert result.total == result.facets["type"]["file"] == 38


async def test_tantivy_refuses_an_index_of_an_older_schema(tmp_path: Path) -> None:
    builder = tantivy.SchemaBuilder()
    builder.add_text_field("id", stored=True, tokenizer_name="raw")
    tantivy.Index(builder.build(), path=str(tmp_path))
    with pytest.raises(BackendUnavailable, match="kura reindex"):
        await TantivyIndex(tmp_path).open()


async def test_elasticsearch_refuses_an_index_of_an_older_layout() -> None:
    """An index made before the character sub-fields (an n-gram ``.ng`` field, no schema
    mark) would silently find nothing: open() marks it, searches and health say to run
    ``kura reindex``, whose ``clear`` rebuilds it in the current layout."""
    url = server_env("KURA_TEST_ES_URL")
    name = f"kura-test-{uuid.uuid4().hex[:12]}"
    es = ElasticsearchIndex([url], name, node_class=SHIM)
    old_mappings = {"properties": {"title": {"type": "text", "fields": {"ng": {"type": "text"}}}}}
    await es._es().indices.create(index=name, mappings=old_mappings)
    try:
        await es.open()
        with pytest.raises(BackendUnavailable, match="kura reindex"):
            await es.search(SearchQuery(acl=None))
        health = await es.health()
        assert not health.ok
        assert "kura reindex" in health.detail
        await es.clear()
        await es.upsert(DOCS)
        await es.refresh()
        assert await id_set(es, text="道路改良") == {"w1"}
        again = ElasticsearchIndex([url], name, node_class=SHIM)
        await again.open()  # the rebuilt index carries the current schema mark
        assert (await again.health()).ok
        await again.close()
    finally:
        await es.drop()
        await es.close()
