"""A work's documents as a list (書類管理, seed 001 別表1-1 5(4)(7)(8) / 別表1-2 5(4)(7)(9)):
searched and sorted by class (書類種別) and date, each with its approval record, and the same
list as CSV and Excel.

The list runs on the record store (equality on the type, a range on the registration date and
on the folder's path, a sort per column, keyset pages; indexes in ``DOC_INDEXES``). A text
query asks the search index first (file documents of the work, at most ``MAX_TEXT_HITS`` ids:
names, titles, extracted text) and the store then filters and sorts those, as the proposals'
lists do. Dates are the registration day in Japan time (JST), the day a user sees.

The approval record (5(8): 承認の記録, approver names) of a document filed from a decided
proposal (``meta.proposal_id``, ``api.folders.filing``) is the proposal's route as stamps:
role, name, date and 代理/後閲 marks (``api.proposals.printing.stamps_of``).
"""

from __future__ import annotations

import csv
import io
import os
import tempfile
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any, Literal

import anyio

from api.archive.indexing import DOC_TYPE
from api.archive.models import NODES, NodeKind
from api.container import Container
from api.errors import ValidationFailed
from api.kit.clock import to_iso
from api.workflow.dates import JST
from indexer.query import SearchQuery
from storage.ports import IndexSpec
from storage.query import Condition, Direction, Eq, In, Page, Query, Range, Record

SortKey = Literal["name", "date", "type", "size"]
_SORT: dict[str, tuple[str, ...]] = {
    "name": ("sort_name",),
    "date": ("created_at",),
    "type": ("meta.doc_type", "sort_name"),
    "size": ("size",),
}
MAX_TEXT_HITS = 1000
MAX_EXPORT = 100_000
DOC_INDEXES = [
    IndexSpec((("work_id", 1), ("kind", 1), ("sort_name", 1), ("id", 1))),
    IndexSpec((("work_id", 1), ("kind", 1), ("created_at", 1), ("id", 1))),
    IndexSpec((("work_id", 1), ("kind", 1), ("size", 1), ("id", 1))),
    IndexSpec((("work_id", 1), ("kind", 1), ("meta.doc_type", 1), ("sort_name", 1), ("id", 1))),
    IndexSpec((("work_id", 1), ("kind", 1), ("meta.doc_type", 1), ("created_at", 1), ("id", 1))),
]


@dataclass(frozen=True)
class DocFilters:
    q: str | None = None
    doc_type: str | None = None
    folder_path: str | None = None  # the folder's subtree (None: the whole work)
    date_from: date | None = None
    date_to: date | None = None
    sort: SortKey = "name"
    order: Literal["asc", "desc"] = "asc"
    limit: int = 100
    cursor: str | None = None


def _instant(day: date) -> str:
    """Midnight JST of ``day`` as the stored UTC form."""
    return to_iso(datetime.combine(day, time(0), tzinfo=JST))


def jst_day(iso: str) -> str:
    """The JST day (YYYY-MM-DD) of a stored instant."""
    try:
        moment = datetime.fromisoformat(str(iso).replace("Z", "+00:00"))
    except ValueError:
        return str(iso)[:10]
    return moment.astimezone(JST).date().isoformat()


class DocumentList:
    def __init__(self, container: Container) -> None:
        self.container = container
        self.records = container.records

    async def _text_ids(self, work_id: str, text: str) -> tuple[str, ...]:
        query = SearchQuery(
            text=text,
            types=(DOC_TYPE,),
            filters={"work_id": (work_id,)},
            acl=None,  # the caller was checked for the work
            sort="date",
            limit=MAX_TEXT_HITS,
        )
        result = await self.container.index.search(query)
        return tuple(hit.id for hit in result.hits)

    async def conditions(self, work_id: str, f: DocFilters) -> list[Condition] | None:
        """The store conditions of the filters; None when the text query matched nothing."""
        if f.date_from and f.date_to and f.date_from > f.date_to:
            raise ValidationFailed("期間の開始日は終了日以前の日付を指定してください。")
        where: list[Condition] = [Eq("work_id", work_id), Eq("kind", NodeKind.FILE.value)]
        if f.doc_type:
            where.append(Eq("meta.doc_type", f.doc_type))
        if f.folder_path:
            where.append(Range("path", gte=f"{f.folder_path}/", lt=f"{f.folder_path}0"))
        if f.date_from or f.date_to:
            where.append(
                Range(
                    "created_at",
                    gte=_instant(f.date_from) if f.date_from else None,
                    lt=_instant(f.date_to + timedelta(days=1)) if f.date_to else None,
                )
            )
        if f.q:
            ids = await self._text_ids(work_id, f.q)
            if not ids:
                return None
            where.append(In("id", ids))
        return where

    def _query(
        self, where: list[Condition], f: DocFilters, limit: int, cursor: str | None
    ) -> Query:
        direction: Direction = -1 if f.order == "desc" else 1
        sort = tuple((name, direction) for name in _SORT[f.sort])
        return Query(
            where=tuple(where), sort=(*sort, ("id", direction)), limit=limit, cursor=cursor
        )

    async def page(self, work_id: str, f: DocFilters) -> Page:
        where = await self.conditions(work_id, f)
        if where is None:
            return Page(items=[], next_cursor=None)
        return await self.records.find(NODES, self._query(where, f, f.limit, f.cursor))

    async def all(self, work_id: str, f: DocFilters) -> AsyncIterator[Record]:
        """Every matching document in the list's order (for the CSV / Excel), capped."""
        where = await self.conditions(work_id, f)
        if where is None:
            return
        cursor: str | None = None
        n = 0
        while True:
            page = await self.records.find(NODES, self._query(where, f, 1000, cursor))
            for node in page.items:
                yield node
                n += 1
                if n >= MAX_EXPORT:
                    return
            cursor = page.next_cursor
            if not cursor:
                return

    # approval records (5(8)) ------------------------------------------------------------
    async def approvals(self, nodes: Sequence[Record]) -> dict[str, list[dict[str, str]]]:
        """node id -> the stamps of the decided proposal it was filed from."""
        from api.proposals.models import PROPOSALS
        from api.proposals.printing import stamps_of
        from api.proposals.views import people_of, user_names

        wanted = {
            str(n["id"]): str((n.get("meta") or {}).get("proposal_id"))
            for n in nodes
            if (n.get("meta") or {}).get("proposal_id")
        }
        if not wanted:
            return {}
        proposals = {
            str(p["id"]): p
            for p in await self.records.get_many(PROPOSALS, sorted(set(wanted.values())))
        }
        people: set[str] = set()
        for p in proposals.values():
            people.update(people_of(p))
        names = await user_names(self.container, sorted(people))
        out: dict[str, list[dict[str, str]]] = {}
        for node_id, proposal_id in wanted.items():
            found = proposals.get(proposal_id)
            if found is not None:
                out[node_id] = [s.__dict__ for s in stamps_of(found, names)]
        return out

    async def uploader_names(self, nodes: Sequence[Record]) -> dict[str, str]:
        ids = sorted({str(n["created_by"]) for n in nodes if n.get("created_by")})
        users = await self.records.get_many("users", ids) if ids else []
        return {str(u["id"]): str(u.get("name") or u.get("login_id") or "") for u in users}


HEADERS = (
    "書類種別",
    "フォルダ",
    "ファイル名",
    "表題",
    "登録日",
    "登録者",
    "サイズ",
    "承認の記録",
    "個人情報の警告",
)


def stamp_text(stamps: Sequence[Mapping[str, str]]) -> str:
    """``承認 監督 一郎 2026/06/09（代理: …）、…`` for one cell."""
    parts = []
    for s in stamps:
        note = f"（{s['note']}）" if s.get("note") else ""
        parts.append(f"{s['role']} {s['name']} {s['date'] or '未'}{note}".strip())
    return "、".join(parts)


def doc_row(node: Record, stamps: Sequence[Mapping[str, str]], uploader: str) -> list[str | int]:
    meta = node.get("meta") or {}
    folder = str(node["path"]).rsplit("/", 1)[0] or "/"
    warning = meta.get("personal_data")
    return [
        str(meta.get("doc_type") or ""),
        folder,
        str(node["name"]),
        str(meta.get("title") or ""),
        jst_day(str(node.get("created_at") or "")),
        uploader,
        int(node.get("size") or 0),
        stamp_text(stamps),
        "あり" if isinstance(warning, dict) and warning.get("count") else "",
    ]


def _safe(value: Any) -> Any:
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


async def _rows(lister: DocumentList, work_id: str, f: DocFilters) -> AsyncIterator[list[Any]]:
    batch: list[Record] = []

    async def flush() -> list[list[Any]]:
        stamps = await lister.approvals(batch)
        names = await lister.uploader_names(batch)
        return [
            doc_row(n, stamps.get(str(n["id"]), []), names.get(str(n.get("created_by")), ""))
            for n in batch
        ]

    async for node in lister.all(work_id, f):
        batch.append(node)
        if len(batch) >= 500:
            for r in await flush():
                yield r
            batch = []
    if batch:
        for r in await flush():
            yield r


async def csv_stream(lister: DocumentList, work_id: str, f: DocFilters) -> AsyncIterator[bytes]:
    """The list as CSV (UTF-8 with BOM for Excel, CRLF; formula-like cells prefixed ``'``)."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(HEADERS)
    yield b"\xef\xbb\xbf" + buf.getvalue().encode("utf-8")
    buf.seek(0)
    buf.truncate()
    async for r in _rows(lister, work_id, f):
        writer.writerow([_safe(v) for v in r])
        if buf.tell() > 1 << 16:
            yield buf.getvalue().encode("utf-8")
            buf.seek(0)
            buf.truncate()
    yield buf.getvalue().encode("utf-8")


async def xlsx_file(lister: DocumentList, work_id: str, f: DocFilters) -> str:
    """The list as an Excel workbook in a temporary file (the caller streams and deletes it)."""
    fd, path = tempfile.mkstemp(prefix="kura-documents-", suffix=".xlsx")
    os.close(fd)
    import xlsxwriter  # type: ignore[import-untyped]  # lazily (few processes)

    book = xlsxwriter.Workbook(path, {"constant_memory": True, "strings_to_formulas": False})
    try:
        sheet = book.add_worksheet("書類一覧")
        bold = book.add_format({"bold": True})
        for col, width in enumerate((16, 40, 36, 30, 12, 16, 12, 60, 12)):
            sheet.set_column(col, col, width)
        for col, title in enumerate(HEADERS):
            sheet.write_string(0, col, title, bold)
        r = 1
        async for values in _rows(lister, work_id, f):
            for col, value in enumerate(values):
                if isinstance(value, int):
                    sheet.write_number(r, col, value)
                else:
                    sheet.write_string(r, col, str(value))
            r += 1
        await anyio.to_thread.run_sync(book.close)
    except BaseException:
        os.unlink(path)
        raise
    return path
