"""Drafts: the applicant's working copy, saved on every step exactly as typed (seed 004
第2 3 ※, 4 ※: the screens are filled in steps; module-anchors §4: no temporary save was the
complaint, so every step saves and nothing typed is lost).

A draft belongs to the applicant organization and the round (one each). It starts from the
organization's last filing (this round's to re-apply, 第3 1; otherwise the latest of any
round: the next round starts from the last one) or empty. Saving is a write: it follows the
filing window (``windows``); reading never does. Each answer carries every error of every
step, so the form can list them at the top and beside each field.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from datetime import date
from typing import TYPE_CHECKING, Any

from api.attachments.service import ATTACHMENTS, AttachmentService
from api.audit.service import AuditLog
from api.errors import DuplicateError, ValidationFailed
from api.kit.clock import to_iso
from api.kit.ids import is_id, new_id
from api.permissions.policy import Subject
from api.qualifications import catalog, papers, values, windows
from api.qualifications.access import Access, targets_of
from api.qualifications.attachment import check_attachment
from api.qualifications.form import Context, check_entry, is_local
from api.qualifications.models import APPLICATIONS, DRAFTS
from api.qualifications.offices import check_offices
from api.qualifications.schemas import DraftCreate, DraftSave
from storage.errors import DuplicateKey
from storage.query import Eq, Query

if TYPE_CHECKING:
    from api.container import Container


def context(round_: Mapping[str, Any], today: date) -> Context:
    places = catalog.municipalities()
    return Context(
        prefecture=str(round_["prefecture"]),
        targets={
            code: places[code].name if code in places else code for code in targets_of(round_)
        },
        review_base_from=date.fromisoformat(str(round_["review_base_from"])),
        today=today,
    )


def check_all(
    vals: Mapping[str, Any], ctx: Context, attachment: Mapping[str, Any] | None
) -> dict[str, list[dict[str, Any]]]:
    return {
        "entry": check_entry(vals, ctx),
        "offices": check_offices(vals, ctx),
        "attachment": check_attachment(vals, attachment, ctx.today),
    }


def draft_parent(draft_id: str) -> str:
    return f"{DRAFTS}/{draft_id}"


def application_parent(application_id: str) -> str:
    return f"{APPLICATIONS}/{application_id}"


class DraftService:
    def __init__(self, container: Container) -> None:
        self.container = container
        self.records = container.records
        self.clock = container.clock
        self.access = Access(container)

    async def _window(self, round_: Mapping[str, Any], kind: str = "apply") -> None:
        calendar = await self.access.calendar(round_)
        windows.require_open(round_, calendar, self.clock.now(), kind)

    def today(self) -> date:
        return windows.jst_date(self.clock.now())

    async def mine(self, subject: Subject | None, round_id: str) -> dict[str, Any]:
        """The organization's draft of the round (404 when none yet)."""
        round_ = await self.access.round(subject, round_id)
        applicant = self.access.require_applicant(subject)
        found = await _one(self.records, DRAFTS, round_id, str(applicant.org_id))
        if found is None:
            from api.errors import NotFoundError

            raise NotFoundError("この受付の下書きはまだありません。")
        return await self.view(found, round_)

    async def get(self, subject: Subject | None, draft_id: str) -> dict[str, Any]:
        draft = await self.access.draft(subject, draft_id)
        round_ = await self.access.round(subject, str(draft["round_id"]))
        return await self.view(draft, round_)

    async def create(
        self, subject: Subject | None, round_id: str, body: DraftCreate
    ) -> dict[str, Any]:
        round_ = await self.access.round(subject, round_id)
        applicant = self.access.require_applicant(subject)
        org_id = str(applicant.org_id)
        existing = await _one(self.records, DRAFTS, round_id, org_id)
        if existing is not None:
            return await self.view(existing, round_)
        await self._window(round_)
        start = await self._start(org_id, round_, body.start)
        now = to_iso(self.clock.now())
        record = {
            "id": new_id(),
            "round_id": round_id,
            "org_id": org_id,
            "values": start["values"],
            "started_from": start["from"],
            "step": "entry",
            "created_by": applicant.user_id,
            "created_at": now,
            "updated_at": now,
            "updated_by": applicant.user_id,
        }
        try:
            async with self.container.uow() as uow:
                stored = await uow.records.insert(DRAFTS, record)
                await AuditLog(uow.records, self.clock).record(
                    applicant,
                    "qualifications.draft_created",
                    f"{DRAFTS}/{stored['id']}",
                    after={"org_id": org_id, "round_id": round_id, "from": start["from"]},
                )
        except (DuplicateKey, DuplicateError):
            # Two users of one company started at once: both get the one draft.
            existing = await _one(self.records, DRAFTS, round_id, org_id)
            if existing is None:
                raise
            return await self.view(existing, round_)
        return await self.view(stored, round_)

    async def _start(self, org_id: str, round_: Mapping[str, Any], start: str) -> dict[str, Any]:
        """The values a new draft starts with and where they came from."""
        empty = values.normalize({})
        if start == "empty":
            return {"values": empty, "from": None}
        here = await _one(self.records, APPLICATIONS, str(round_["id"]), org_id)
        if here is not None:
            return {"values": copy.deepcopy(here["values"]), "from": here["id"]}
        if start == "application":
            return {"values": empty, "from": None}
        page = await self.records.find(
            APPLICATIONS,
            Query(where=(Eq("org_id", org_id),), sort=(("sent_at", -1),), limit=1),
        )
        if not page.items:
            return {"values": empty, "from": None}
        last = page.items[0]
        carried = copy.deepcopy(last["values"])
        # Another round: its targets and municipality-specific answers do not carry over,
        # nor does the tax certificate (a new one per filing, 第1 8 no. 4: 3か月以内).
        here_targets = set(targets_of(round_))
        carried["targets"] = [t for t in carried.get("targets") or [] if t in here_targets]
        carried["no_tax"] = []
        carried["attachment"] = values.normalize({})["attachment"]
        return {"values": carried, "from": last["id"]}

    async def save(self, subject: Subject | None, draft_id: str, body: DraftSave) -> dict[str, Any]:
        draft = await self.access.draft(subject, draft_id)
        assert subject is not None
        round_ = await self.access.round(subject, str(draft["round_id"]))
        await self._window(round_)
        changes = values.normalize_sections(body.values)
        merged = values.merge(draft["values"], changes)
        service = AttachmentService(self.container)
        async with self.container.uow() as uow:
            await self._attachment(uow, service, subject, draft, merged)
            stored = await uow.records.update(
                DRAFTS,
                draft_id,
                {
                    "values": merged,
                    "step": body.step or draft.get("step"),
                    "updated_at": to_iso(self.clock.now()),
                    "updated_by": subject.user_id,
                },
                body.version,
            )
            await AuditLog(uow.records, self.clock).record(
                subject,
                "qualifications.draft_saved",
                f"{DRAFTS}/{draft_id}",
                before=draft,
                after=stored,
                detail={"step": body.step, "sections": sorted(changes)},
            )
        return await self.view(stored, round_)

    async def _attachment(
        self,
        uow: Any,
        service: AttachmentService,
        subject: Subject,
        draft: Mapping[str, Any],
        merged: dict[str, Any],
    ) -> None:
        """The one attachment (第2 5): a newly uploaded one is linked to the draft so it is
        kept until sent; one replaced or removed is released. An attachment of another user
        or company is refused (nothing stored)."""
        new_id_ = str((merged.get("attachment") or {}).get("id") or "")
        old_id = str((draft["values"].get("attachment") or {}).get("id") or "")
        parent = draft_parent(str(draft["id"]))
        if new_id_ and new_id_ != old_id:
            record = await uow.records.get(ATTACHMENTS, new_id_) if is_id(new_id_) else None
            linked = record.get("parent") if record is not None else None
            owned = linked is not None and linked in (
                parent,
                await self._application_parent(draft),
            )
            if not owned:
                await service.link(uow, subject, [new_id_], parent)
        if old_id and old_id != new_id_:
            old = await uow.records.get(ATTACHMENTS, old_id)
            if old is not None and old.get("parent") == parent:
                await service.release(uow, old)

    async def _application_parent(self, draft: Mapping[str, Any]) -> str | None:
        here = await _one(self.records, APPLICATIONS, str(draft["round_id"]), str(draft["org_id"]))
        return application_parent(str(here["id"])) if here else None

    async def view(self, draft: Mapping[str, Any], round_: Mapping[str, Any]) -> dict[str, Any]:
        """The draft with every error of every step, the paper documents its answers need,
        and what a send would replace (第3 1)."""
        vals = draft["values"]
        ctx = context(round_, self.today())
        attachment = await self._attachment_record(vals)
        errors = check_all(vals, ctx, attachment)
        here = await _one(self.records, APPLICATIONS, str(round_["id"]), str(draft["org_id"]))
        chosen = [t for t in vals.get("targets") or [] if isinstance(t, str)]
        dropped = [t for t in (here or {}).get("targets") or [] if t not in chosen]
        return {
            "id": draft["id"],
            "round_id": draft["round_id"],
            "org_id": draft["org_id"],
            "version": draft["version"],
            "step": draft.get("step"),
            "values": vals,
            "started_from": draft.get("started_from"),
            "updated_at": draft["updated_at"],
            "errors": errors,
            "local": is_local(vals, ctx),
            "attachment": _attachment_view(attachment),
            "papers": papers.common_papers(
                vals, ctx, has_attachment=attachment is not None, target_names=ctx.targets
            ),
            "own_papers": papers.own_papers(chosen, _named_targets(round_, ctx)),
            "application": (
                {
                    "id": here["id"],
                    "receipt_no": here["receipt_no"],
                    "sent_at": here["sent_at"],
                    "targets": here["targets"],
                    "sent_from_this_draft": here.get("draft_version_after") == draft["version"],
                }
                if here
                else None
            ),
            "dropped": [{"code": t, "name": ctx.targets.get(t, t)} for t in dropped],
        }

    async def _attachment_record(self, vals: Mapping[str, Any]) -> dict[str, Any] | None:
        aid = str((vals.get("attachment") or {}).get("id") or "")
        if not aid or not is_id(aid):
            return None
        return await self.records.get(ATTACHMENTS, aid)


def _named_targets(round_: Mapping[str, Any], ctx: Context) -> dict[str, dict[str, Any]]:
    return {
        code: {**t, "name": ctx.targets.get(code, code)} for code, t in targets_of(round_).items()
    }


def _attachment_view(record: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if record is None:
        return None
    return {
        "id": record["id"],
        "name": record.get("name"),
        "size": record.get("size"),
        "content_type": record.get("content_type") or record.get("declared_type"),
    }


async def _one(records: Any, collection: str, round_id: str, org_id: str) -> dict[str, Any] | None:
    page = await records.find(
        collection, Query(where=(Eq("round_id", round_id), Eq("org_id", org_id)), limit=1)
    )
    return page.items[0] if page.items else None


def require_no_errors(errors: Mapping[str, list[dict[str, Any]]]) -> None:
    flat = [e for step in ("entry", "offices", "attachment") for e in errors.get(step, [])]
    if flat:
        raise ValidationFailed(
            f"入力内容に誤りがあります（{len(flat)}件）。画面の上方のエラーメッセージを確認してください。",
            field=flat[0]["field"],
            errors=flat,
        )
