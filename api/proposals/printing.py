"""The printed proposal: the form first (``templates/form.typ`` through the shared renderer),
then the attached documents in the kept order of files and pages (seed 001 別表1-1 3(8)-(10)),
as one PDF with page numbers (``api.pdf.bundle``).

``decided_with_pdfs`` is the service the electronic delivery (issue 10 §4: MEET and ORG
folders from the decided proposals) and the inspection view use: every decided proposal of a
work with its approval stamps and its printed PDF.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterable, AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from api.archive.cas import ContentStore
from api.archive.models import content_scope, derived_key
from api.attachments.service import AttachmentService
from api.errors import ValidationFailed
from api.pdf import BundleError, BundlePart, IsolatedBundle, bundle
from api.proposals.access import Access
from api.proposals.convert import NotConvertible, kind_of, to_pdf
from api.proposals.form_service import FormService
from api.proposals.forms import display, visible
from api.proposals.models import PROPOSALS
from api.proposals.views import user_names
from api.workflow import machine
from storage.query import Eq, In, Query

if TYPE_CHECKING:
    from api.container import Container

FORM_TEMPLATE = "proposals/templates/form.typ"
FORM = "発議書類"  # the form's name as a part of the bundle
CHECKED, UNCHECKED = "■", "□"


@dataclass(frozen=True)
class Stamp:
    """One approval of the route as printed (承認欄): role, name, date and what it was."""

    role: str
    user_id: str
    name: str
    date: str
    note: str


@dataclass(frozen=True)
class DecidedProposal:
    proposal: dict[str, Any]
    stamps: list[Stamp]
    pdf: bytes

    @property
    def file_name(self) -> str:
        return f"{self.proposal.get('number') or 0:04d}_{self.proposal.get('form_name', '')}.pdf"


def stamps_of(p: Mapping[str, Any], names: Mapping[str, Mapping[str, str]]) -> list[Stamp]:
    """The route's marks as stamps, in route order (5(8): 承認の記録 with approver names)."""
    out: list[Stamp] = []
    for i, step in enumerate(p.get("route") or []):
        progress = (p.get("progress") or [])[i] if p.get("progress") else {"marks": []}
        for mark in progress["marks"]:
            uid = str(mark["user_id"])
            status = mark["status"]
            role = "承認" if step["kind"] == "approve" else "閲覧"
            note = ""
            when = str(mark.get("at") or "")
            if mark.get("via") == "deputy":
                note = f"代理: {(names.get(str(mark.get('by'))) or {}).get('name', '')}"
            if status == machine.POST_REVIEW:
                note = "後閲待ち"
            elif status == machine.REVIEWED:
                note = "後閲済"
                when = str(mark.get("reviewed_at") or when)
            elif status == machine.PENDING:
                when = ""
            elif status == machine.APPROVED and mark.get("via") == "superior":
                note = "後閲扱い"
            out.append(
                Stamp(
                    role=role,
                    user_id=uid,
                    name=(names.get(uid) or {}).get("name", ""),
                    date=_day(when),
                    note=note,
                )
            )
    return out


def _day(at: str) -> str:
    if not at:
        return ""
    from api.kit.clock import from_iso
    from api.workflow.dates import JST

    return from_iso(at).astimezone(JST).strftime("%Y/%m/%d")


def _slash(value: Any) -> str:
    return str(value).replace("-", "/") if value else ""


def form_document(
    p: Mapping[str, Any],
    definition: Mapping[str, Any],
    work: Mapping[str, Any],
    names: Mapping[str, Mapping[str, str]],
    files: Sequence[Mapping[str, Any]],
) -> dict[str, Any]:
    """The JSON the form template prints: data only, never markup."""
    values = {**(p.get("values") or {}), **(p.get("answers") or {})}
    by_key = {f["key"]: f for f in definition["fields"]}
    sections = []
    for section in definition["layout"]["sections"]:
        rows: list[list[str]] = []
        tables: list[dict[str, Any]] = []
        for key in section["fields"]:
            field = by_key[key]
            if not visible(field, values):
                continue
            value = values.get(key)
            if field["type"] == "table":
                cols = field["columns"]
                tables.append(
                    {
                        "label": field["label"],
                        "columns": [c["label"] for c in cols],
                        "rows": [
                            [display(c, (row or {}).get(c["key"])) for c in cols]
                            for row in value or []
                        ],
                    }
                )
            elif section["style"] == "checks" and field["type"] in ("choice", "multichoice"):
                chosen = value if isinstance(value, list) else [value]
                marks = "　".join(
                    f"{CHECKED if c in chosen else UNCHECKED}{c}" for c in field["choices"]
                )
                rows.append([field["label"], marks])
            else:
                rows.append([field["label"], display(field, value)])
        sections.append(
            {
                "heading": section.get("heading"),
                "style": "table"
                if tables
                else section["style"]
                if section["style"] == "text"
                else "kv",
                "rows": rows,
                "tables": tables,
            }
        )
    proposer = names.get(str(p.get("proposer_id"))) or {}
    stamps = stamps_of(p, names) if definition["layout"].get("stamps", True) else []
    corrections = [
        [
            _day(str(c.get("at"))),
            (names.get(str(c.get("by"))) or {}).get("name", ""),
            machine.CORRECTABLE.get(str(c.get("field")), ""),
            _slash(c.get("old")),
            _slash(c.get("new")),
        ]
        for c in p.get("corrections") or []
    ]
    head = [
        ["工事名" if work.get("kind") != "service" else "業務名", str(work.get("title") or "")],
        ["タイトル", str(p.get("title") or "")],
        ["発議者", f"{proposer.get('name', '')}（{proposer.get('org_name', '')}）"],
    ]
    dates = [
        ("発議日", p.get("proposed_on")),
        ("回答希望日", p.get("requested_answer_date")),
        ("受付日", p.get("received_on")),
        ("回答予定日", p.get("planned_answer_date")),
        ("中間処理・回答日", p.get("interim_answer_date")),
        ("最終処理・回答日", p.get("answered_on")),
        ("決裁完了日", p.get("decided_on")),
    ]
    head.append(["日付", "　".join(f"{k} {_slash(v)}" for k, v in dates if v) or "-"])
    return {
        "title": definition["layout"]["title"],
        "number": f"発議番号 {p['number']}" if p.get("number") else None,
        "state": machine.STATE_LABELS[machine.S(p["state"])],
        "date_line": f"重要度: {'重要' if p.get('importance') == 'important' else '通常'}",
        "head": head,
        "sections": sections,
        "stamps": [s.__dict__ for s in stamps],
        "corrections": corrections,
        "files": [
            [str(i + 1), str(f.get("name", "")), _pages(f.get("pages"))]
            for i, f in enumerate(files)
        ],
        "footer": str(definition.get("name", "")),
    }


def _pages(pages: Any) -> str:
    return "全ページ" if not pages else ",".join(str(n) for n in pages)


class Printing:
    def __init__(self, container: Container) -> None:
        self.container = container
        self.records = container.records
        self.cas = ContentStore(container.records, container.blobs, container.clock)

    async def _bytes(self, scope: str, sha256: str) -> bytes:
        record = await self.cas.get(scope, sha256)
        return b"".join([chunk async for chunk in self.cas.open(record)])

    async def _converted(self, attachment: Mapping[str, Any]) -> bytes:
        """The attachment as PDF bytes (conversions cached per content)."""
        return b"".join([c async for c in await self._converted_chunks(attachment)])

    async def _converted_chunks(self, attachment: Mapping[str, Any]) -> AsyncIterable[bytes]:
        """The attachment as PDF, as chunks read from the store (conversions cached per
        content): a bundle writes them to its child's folder without holding the file."""
        sha = str(attachment["sha256"])
        scope = content_scope(attachment)
        kind = kind_of(str(attachment.get("name", "")), str(attachment.get("content_type") or ""))
        if kind == "pdf":
            return self.cas.open(await self.cas.get(scope, sha))
        key = derived_key(scope, sha, "as.pdf")
        if await self.container.blobs.stat(key) is not None:
            return self.container.blobs.get(key)
        data = await self._bytes(scope, sha)
        pdf = await asyncio.to_thread(
            to_pdf, self.container.pdf, kind, data, str(attachment.get("name", ""))
        )

        async def chunks() -> AsyncIterator[bytes]:
            yield pdf

        await self.container.blobs.put(key, chunks(), content_type="application/pdf")
        return chunks()

    async def form_pdf(self, p: Mapping[str, Any], work: Mapping[str, Any]) -> bytes:
        from api.proposals.views import people_of

        version = await FormService(self.container).version(
            str(p["form_id"]), int(p["form_version"])
        )
        names = await user_names(self.container, people_of(p))
        files = await self._files(p)
        data = form_document(p, version["definition"], work, names, [{**f, **b} for f, b in files])
        return await self.container.pdf.render(FORM_TEMPLATE, data)

    async def _files(self, p: Mapping[str, Any]) -> list[tuple[dict[str, Any], dict[str, Any]]]:
        linked = {
            a["id"]: a
            for a in await AttachmentService(self.container).of_parent(f"{PROPOSALS}/{p['id']}")
        }
        out = []
        for item in p.get("attachments") or []:
            record = linked.get(item["id"])
            if record is not None:
                out.append((record, dict(item)))
        return out

    async def bundle_pdf(self, p: Mapping[str, Any], work: Mapping[str, Any]) -> bytes:
        """The form, then each attached document's chosen pages, numbered ``n / N``.

        With files, the bundle is printed by a child process (``api.pdf.IsolatedBundle``): the
        files are streamed to its folder and this process (the server or a worker, with the
        whole app loaded) does not grow by the bundle's working memory (issue 10 "Measured":
        < 200 MB). The form alone stays in-process (its latency matters, its memory does not).
        """
        form = await self.form_pdf(p, work)
        files = await self._files(p)
        label = f"No.{p.get('number') or '-'}"
        try:
            if not files:
                return await bundle(self.container.pdf, [BundlePart(form, name=FORM)], label=label)
            async with IsolatedBundle(self.container.pdf) as job:
                await job.add(form, name=FORM)
                del form
                for record, item in files:
                    try:
                        chunks = await self._converted_chunks(record)
                    except NotConvertible as exc:
                        raise ValidationFailed(
                            f"「{record['name']}」: {exc}", field="attachments"
                        ) from exc
                    await job.add(chunks, name=str(record["name"]), pages=item.get("pages"))
                return await job.run(label=label)
        except BundleError as exc:
            raise ValidationFailed(f"「{exc.name}」: {exc}", field="attachments") from exc

    async def printable(self, subject: Any, proposal_id: str) -> tuple[bytes, str]:
        """The bundle of a proposal the subject reads, and its file name."""
        loaded = await Access(self.container).proposal(subject, proposal_id)
        p = loaded.proposal
        pdf = await self.bundle_pdf(p, loaded.work)
        name = f"{p.get('form_name', '発議書類')}_{p.get('number') or '下書き'}.pdf"
        return pdf, name

    async def decided_with_pdfs(self, work_id: str) -> AsyncIterator[DecidedProposal]:
        """Every decided proposal of the work (by number), with its stamps and printed PDF:
        the service the 電子納品 generation (MEET/ORG) and the inspection view use."""
        work = await self.records.get("works", work_id) or {"id": work_id}
        cursor: str | None = None
        while True:
            page = await self.records.find(
                PROPOSALS,
                Query(
                    where=(Eq("work_id", work_id), In("state", (machine.S.DECIDED.value,))),
                    sort=(("number", 1),),
                    limit=100,
                    cursor=cursor,
                ),
            )
            for p in page.items:
                from api.proposals.views import people_of

                names = await user_names(self.container, people_of(p))
                yield DecidedProposal(p, stamps_of(p, names), await self.bundle_pdf(p, work))
            cursor = page.next_cursor
            if not cursor:
                return
