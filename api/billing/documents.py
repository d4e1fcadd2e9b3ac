"""Every form is a document made from the records (issue 13 §2, seed 000 様式情運-1..-8).

A document record keeps the form, its number, date, parties and amounts, and the exact data
the template prints, with a version per source (a re-issued form is version 2; the first
stays). The PDF is rendered through the shared renderer from that stored data, on the first
download, and kept in the blob store: the same data always gives the same bytes, so an old
invoice prints exactly as issued even after the tariff changed.

IDs and passwords are never put into a document or a mail (seed 001 別表3 2(1)): forms name
people and masked login ids only; one-time passwords are shown once on screen over TLS
(``api.billing.accounts``).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from api.billing import models
from api.billing.base import Base
from api.billing.permissions import BillingResource
from api.errors import Forbidden, NotFoundError
from api.keys import scopes
from api.kit.ids import new_id
from api.pdf import DOCUMENT
from api.permissions.policy import Subject
from storage.query import Eq, Query, Record

INVOICE_TEMPLATE = "billing/templates/invoice.typ"
_ERAS = ((date(2019, 5, 1), "令和", 2018), (date(1989, 1, 8), "平成", 1988))


def wareki(day: date) -> str:
    """A date as Japanese public documents print it (令和8年4月1日; the first year 元年)."""
    for start, era, offset in _ERAS:
        if day >= start:
            year = day.year - offset
            return f"{era}{'元' if year == 1 else year}年{day.month}月{day.day}日"
    return f"{day.year}年{day.month}月{day.day}日"


def money(value: int) -> str:
    """Yen with thousands separators (-1,234 for credits)."""
    return f"{value:,}"


def mask_login(login_id: str) -> str:
    """A login id as forms may show it: the first two characters, the rest hidden
    (別表3 2(1): IDs are never written into a document in clear)."""
    return login_id[:2] + "*" * max(3, len(login_id) - 2)


class Documents(Base):
    async def issue(
        self,
        *,
        form: str,
        source: str,
        org_ids: list[str],
        number: str,
        day: date,
        data: dict[str, Any],
        template: str = DOCUMENT,
        amounts: dict[str, int] | None = None,
    ) -> Record:
        """Store the document (next version for this source and form) in the caller's unit."""
        previous = await self.latest(source, form)
        version = int(previous["doc_version"]) + 1 if previous else 1
        record: Record = {
            "id": new_id(),
            "form": form,
            "form_code": models.FORM_CODES.get(form, ""),
            "title": models.FORMS[form],
            "source": source,
            "org_ids": sorted(set(org_ids)),
            "number": number,
            "date": day.isoformat(),
            "doc_version": version,
            "template": template,
            "data": data,
            "amounts": amounts or {},
            "created_at": self.now(),
        }
        return await self.records.insert(models.DOCUMENTS, record)

    async def latest(self, source: str, form: str) -> Record | None:
        page = await self.records.find(
            models.DOCUMENTS,
            Query(
                where=(Eq("source", source), Eq("form", form)),
                sort=(("doc_version", -1),),
                limit=1,
            ),
        )
        return page.items[0] if page.items else None

    async def of_source(self, source: str) -> list[Record]:
        page = await self.records.find(
            models.DOCUMENTS,
            Query(where=(Eq("source", source),), sort=(("created_at", 1),), limit=200),
        )
        return page.items

    async def readable_doc(self, subject: Subject | None, doc_id: str) -> Record:
        self.policy.require(subject, "billing.list")
        doc = await self.records.get(models.DOCUMENTS, doc_id) if len(doc_id) <= 64 else None
        if doc is None:
            raise NotFoundError("文書が見つかりません。")
        if not any(
            self.policy.can(subject, "billing.read", BillingResource(org))
            for org in [*doc["org_ids"], None]
        ):
            assert subject is not None
            if subject.org_id in doc["org_ids"]:
                raise Forbidden()
            raise NotFoundError("文書が見つかりません。")
        return doc

    async def pdf(self, subject: Subject | None, doc_id: str) -> tuple[Record, bytes]:
        """The document's PDF: rendered once from its stored data, then kept in the reading
        organization's scope (an organization's own files, ``api.keys.scopes``; erased with
        it, when the other party's copy stays)."""
        doc = await self.readable_doc(subject, doc_id)
        orgs = [str(o) for o in doc["org_ids"]]
        owner = subject.org_id if subject is not None and subject.org_id in orgs else orgs[0]
        key = f"{scopes.prefix(scopes.org(str(owner)))}billing/documents/{doc['id']}.pdf"
        if await self.container.blobs.stat(key) is not None:
            chunks = [c async for c in self.container.blobs.get(key)]
            return doc, b"".join(chunks)
        content = await self.container.pdf.render(doc["template"], doc["data"])

        async def body() -> Any:
            yield content

        await self.container.blobs.put(key, body(), content_type="application/pdf")
        return doc, content


def notice_data(
    *,
    title: str,
    number: str,
    day: date,
    addressee: str,
    issuer: Record,
    sections: list[dict[str, Any]],
    form_code: str = "",
    note: str | None = None,
    parties: list[list[str]] | None = None,
) -> dict[str, Any]:
    """Data of the general document template (``api.pdf.DOCUMENT``) for a notice."""
    data: dict[str, Any] = {
        "title": title,
        "subtitle": form_code or None,
        "number": number,
        "date": wareki(day),
        "addressee": addressee,
        "parties": parties or [["発行者", issuer.get("name") or "情報共有システム等運用者"]],
        "sections": sections,
        "issued_by": issuer.get("name") or "",
        "footer": form_code,
    }
    if note:
        data["note"] = note
    return data
