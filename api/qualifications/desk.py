"""The municipality side (issue 14 §5; seed 004 第1 8-10): each target municipality lists and
exports the filings sent to it, reads their receipts and attachments, records the papers it
received and its notes. The host (the prefecture) receives the common papers of every filing
of the round (第1 8: 「広島県に入札参加資格申請をしない場合でも、書類を県に提出」), so its list
holds every filing, and only its desk records the common papers; every other municipality
records its own documents (第1 9).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import TYPE_CHECKING, Any

from api.audit.service import AuditLog
from api.errors import Forbidden, NotAuthenticated, ValidationFailed
from api.kit.clock import to_iso
from api.kit.ids import new_id
from api.permissions.policy import Subject
from api.qualifications import catalog, receipt
from api.qualifications.access import Access, host_org
from api.qualifications.models import (
    APPLICATIONS,
    DESKS,
    EXPORT_FIELDS,
    desk_id,
    listing,
    org_principal,
)
from api.qualifications.schemas import DeskUpdate, NoteCreate
from api.qualifications.views import STATUS_LABELS, filing_view, paper_status, viewer_code
from storage.query import Eq, Query

if TYPE_CHECKING:
    from api.container import Container

PAGE = 200
MAX_NOTES = 200


class DeskService:
    def __init__(self, container: Container) -> None:
        self.container = container
        self.records = container.records
        self.clock = container.clock
        self.policy = container.policy
        self.access = Access(container)

    async def _receiving(self, subject: Subject | None, round_id: str) -> dict[str, Any]:
        if subject is None:
            raise NotAuthenticated()
        round_ = await self.access.round(subject, round_id)
        self.policy.require(subject, "qualifications.received.list")
        orgs = {t["org_id"] for t in round_.get("targets") or []}
        if subject.org_id not in orgs:
            raise Forbidden("この受付の申請先ではありません。")
        return round_

    def _where(self, subject: Subject, round_id: str) -> tuple[Any, ...]:
        return (Eq("round_id", round_id), Eq("readers", org_principal(str(subject.org_id))))

    async def received(
        self, subject: Subject | None, round_id: str, cursor: str | None, limit: int
    ) -> dict[str, Any]:
        """One page of the filings sent to the subject's municipality, by receipt number."""
        round_ = await self._receiving(subject, round_id)
        assert subject is not None
        page = await self.records.find(
            APPLICATIONS,
            Query(
                where=self._where(subject, round_id),
                sort=(("receipt_no", 1),),
                limit=limit,
                cursor=cursor,
            ),
        )
        rows = await self._rows(subject, round_, page.items)
        total = await self.records.count(APPLICATIONS, self._where(subject, round_id))
        return {"items": rows, "next_cursor": page.next_cursor, "total": total}

    async def rows(self, subject: Subject | None, round_id: str) -> AsyncIterator[dict[str, Any]]:
        """Every row of the export by receipt number. One pass over the filings sent to the
        subject in id order, reading only the fields the rows show (``EXPORT_FIELDS``, not the
        values: a keyset page by receipt number sorted every filing again on each page and
        decoded each whole: 5,000 took over 5 s), keeping only the rows (about 1 KB each) and
        sorting them at the end (bench/bench_qualifications.py)."""
        round_ = await self._receiving(subject, round_id)
        assert subject is not None
        out: list[dict[str, Any]] = []
        cursor: str | None = None
        while True:
            page = await self.records.find(
                APPLICATIONS,
                Query(
                    where=self._where(subject, round_id),
                    sort=(("id", 1),),
                    limit=PAGE * 5,
                    cursor=cursor,
                    fields=EXPORT_FIELDS,
                ),
            )
            out += await self._rows(subject, round_, page.items)
            if not page.next_cursor:
                break
            cursor = page.next_cursor
        out.sort(key=lambda row: (str(row["receipt_no"]), str(row["id"])))
        for row in out:
            yield row

    async def check(self, subject: Subject | None, round_id: str) -> dict[str, Any]:
        """Refuse before an export stream starts (401/403/404)."""
        return await self._receiving(subject, round_id)

    async def _rows(
        self, subject: Subject, round_: Mapping[str, Any], apps: list[dict[str, Any]]
    ) -> list[dict[str, Any]]:
        host = host_org(round_)
        ids = [desk_id(a["id"], str(subject.org_id)) for a in apps]
        ids += [desk_id(a["id"], host) for a in apps if host and host != subject.org_id]
        desks = {d["id"]: d for d in await self.records.get_many(DESKS, ids)}
        places = catalog.municipalities()
        now = self.clock.now()
        out = []
        for app in apps:
            only = viewer_code(subject, app, round_)
            mine = desks.get(desk_id(app["id"], str(subject.org_id))) or {}
            host_desk = desks.get(desk_id(app["id"], host)) if host else None
            targets = [t for t in app.get("targets") or [] if only is None or t == only]
            status = paper_status(app, round_, host_desk, now)
            shown = app.get("listing") or listing(app.get("values") or {})
            out.append(
                {
                    "id": app["id"],
                    "receipt_no": app["receipt_no"],
                    "kind": app.get("kind"),
                    "sent_at": app["sent_at"],
                    "company_name": app.get("company_name"),
                    "company_kana": app.get("company_kana"),
                    "corporate_number": app.get("corporate_number"),
                    "local": bool(app.get("local")),
                    "address": _address(places, shown),
                    "phone": shown.get("phone", ""),
                    "email": shown.get("email", ""),
                    "categories": [
                        catalog.CATEGORY_BY_CODE[c].name
                        for c in app.get("categories") or []
                        if c in catalog.CATEGORY_BY_CODE
                    ],
                    "targets": [places[t].name if t in places else t for t in targets],
                    "applies_here": only is not None
                    or subject.org_id in (app.get("target_org_ids") or []),
                    "offices": int(shown.get("offices") or 0),
                    "attachment": app.get("attachment_name") or "",
                    "status": status,
                    "status_label": STATUS_LABELS[status],
                    "papers_received": list(mine.get("papers_received") or []),
                    "own_received": bool(mine.get("own_received")),
                    "notes": len(mine.get("notes") or []),
                }
            )
        return out

    async def detail(self, subject: Subject | None, application_id: str) -> dict[str, Any]:
        app, round_ = await self.access.application(subject, application_id)
        assert subject is not None
        desks = [d async for d in self.records.scan(DESKS, (Eq("application_id", app["id"]),))]
        return filing_view(subject, app, round_, desks, self.clock.now())

    async def update(
        self, subject: Subject | None, application_id: str, body: DeskUpdate
    ) -> dict[str, Any]:
        app, round_ = await self.access.application(subject, application_id, "qualifications.desk")
        assert subject is not None
        is_host = subject.org_id == host_org(round_)
        if body.papers_received is not None:
            if not is_host:
                raise Forbidden(
                    "共通書類の受領は、共通書類の提出先（都道府県）が記録します。",
                    field="papers_received",
                )
            allowed = {int(p["no"]) for p in app.get("papers") or []}
            extra = sorted(set(body.papers_received) - allowed)
            if extra:
                raise ValidationFailed(
                    f"この申請に必要な書類ではありません（番号 {', '.join(map(str, extra))}）。",
                    field="papers_received",
                )
        changes: dict[str, Any] = {}
        if body.papers_received is not None:
            changes["papers_received"] = sorted(set(body.papers_received))
        if body.own_received is not None:
            changes["own_received"] = body.own_received
        if body.received_on is not None:
            changes["received_on"] = body.received_on.isoformat()
        return await self._write(subject, app, changes, body.version, "qualifications.desk_updated")

    async def add_note(
        self, subject: Subject | None, application_id: str, body: NoteCreate
    ) -> dict[str, Any]:
        app, _ = await self.access.application(subject, application_id, "qualifications.desk")
        assert subject is not None
        existing = await self.records.get(DESKS, desk_id(app["id"], str(subject.org_id)))
        notes = list((existing or {}).get("notes") or [])
        if len(notes) >= MAX_NOTES:
            raise ValidationFailed(f"メモは{MAX_NOTES}件までです。", field="text")
        user = await self.records.get("users", subject.user_id) or {}
        notes.append(
            {
                "id": new_id(),
                "at": to_iso(self.clock.now()),
                "by": subject.user_id,
                "by_name": user.get("name") or subject.login_id,
                "text": body.text,
            }
        )
        return await self._write(
            subject,
            app,
            {"notes": notes},
            existing["version"] if existing else None,
            "qualifications.note_added",
        )

    async def _write(
        self,
        subject: Subject,
        app: Mapping[str, Any],
        changes: dict[str, Any],
        version: int | None,
        action: str,
    ) -> dict[str, Any]:
        record_id = desk_id(str(app["id"]), str(subject.org_id))
        now = to_iso(self.clock.now())
        async with self.container.uow() as uow:
            before = await uow.records.get(DESKS, record_id)
            if before is None:
                stored = await uow.records.insert(
                    DESKS,
                    {
                        "id": record_id,
                        "application_id": app["id"],
                        "org_id": subject.org_id,
                        "papers_received": [],
                        "own_received": False,
                        "notes": [],
                        **changes,
                        "updated_at": now,
                    },
                )
            else:
                stored = await uow.records.update(
                    DESKS,
                    record_id,
                    {**changes, "updated_at": now},
                    version if version is not None else before["version"],
                )
            await AuditLog(uow.records, self.clock).record(
                subject, action, f"{DESKS}/{record_id}", before=before, after=stored
            )
        from api.qualifications.views import desk_view

        return desk_view(stored)

    async def receipt_pdf(self, subject: Subject | None, application_id: str) -> tuple[bytes, str]:
        """The applicant's, the host's and the operator's: the stored receipt. Another
        municipality: a copy rendered for it alone (写し)."""
        app, round_ = await self.access.application(subject, application_id)
        assert subject is not None
        name = f"受付票_{app['receipt_no']}.pdf"
        only = viewer_code(subject, app, round_)
        if only is None:
            from api.archive.cas import ContentStore
            from api.qualifications.sending import receipt_scope

            cas = ContentStore(self.records, self.container.blobs, self.clock)
            blob = await cas.get(receipt_scope(app), str(app["receipt"]["sha256"]))
            chunks = [c async for c in cas.open(blob)]
            return b"".join(chunks), name
        data = receipt.receipt_data(app, round_, only=only)
        return await self.container.pdf.render(receipt.TEMPLATE, data), name


def _address(places: Mapping[str, catalog.Municipality], company: Mapping[str, Any]) -> str:
    city = places.get(str(company.get("city_code") or ""))
    return (city.full_name if city else "") + str(company.get("address") or "")
