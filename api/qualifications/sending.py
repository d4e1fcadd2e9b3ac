"""Send: 『送信内容確認』 → 『経営事項審査情報確認』 → 『送信完了 兼 受付票』 or 『経審エラー』
(seed 004 第2 6), and re-application (第3 1).

1. The window must be open (第1 2(1)); the draft must be the version the applicant confirmed.
2. Every step's checks must pass (the same checks the screens showed).
3. A re-application replaces the earlier filing whole: every municipality must be chosen
   again; dropping one needs the applicant's explicit confirmation (``confirm_dropped``),
   else 409 ``targets_dropped`` naming them (第3 1 例: 福山市だけを選択して再申請すると、広島県と
   呉市の申請は削除されます).
4. The 経審 items are checked against the current imported data (第2 6(2)); each mismatch is
   listed (400 ``review_mismatch``) and nothing is stored.
5. Accepted: the receipt number is drawn, the receipt PDF rendered and stored, the filing
   written (replacing the earlier one), the attachment moved from the draft to the filing,
   the desks of dropped municipalities removed, all in one unit of work with its audit event.
   Sending the same draft version again answers the same filing (a double click files once).
6. The subject of the client certificate (the e-bidding IC card, 第1 3) that the TLS proxy
   passes in the configured header (``auth.client_cert_header``) is kept on the filing and
   its audit event (corrections and additions keep it too, ``amend``).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Mapping
from typing import TYPE_CHECKING, Any

from api.archive.cas import ContentStore
from api.attachments.service import ATTACHMENTS, AttachmentService
from api.audit.service import AuditLog
from api.errors import Conflict, StaleVersionError, ValidationFailed
from api.keys import scopes
from api.kit.clock import to_iso
from api.kit.ids import new_id
from api.permissions.policy import Subject
from api.qualifications import papers, receipt, reviews, windows
from api.qualifications.access import Access, host_org, targets_of
from api.qualifications.drafts import (
    DraftService,
    _named_targets,
    _one,
    application_parent,
    check_all,
    context,
    draft_parent,
    require_no_errors,
)
from api.qualifications.form import is_local
from api.qualifications.models import (
    APPLICATIONS,
    COUNTERS,
    DESKS,
    DRAFTS,
    desk_id,
    listing,
    org_principal,
)
from api.qualifications.reviewsets import ReviewSetService
from api.qualifications.schemas import SendBody
from storage.errors import DuplicateKey, StaleVersion
from storage.query import Eq

if TYPE_CHECKING:
    from api.container import Container
    from api.kit.uow import UnitOfWork


class ReviewMismatch(ValidationFailed):
    code = "review_mismatch"
    title = "経営事項審査情報が一致しません。"


class TargetsDropped(Conflict):
    code = "targets_dropped"
    title = "再申請で申請先から外れる自治体があります。"


async def _bytes(data: bytes) -> AsyncIterator[bytes]:
    yield data


class SendService:
    def __init__(self, container: Container) -> None:
        self.container = container
        self.records = container.records
        self.clock = container.clock
        self.access = Access(container)
        self.drafts = DraftService(container)

    async def send(
        self,
        subject: Subject | None,
        draft_id: str,
        body: SendBody,
        *,
        certificate: str | None = None,
    ) -> dict[str, Any]:
        draft = await self.access.draft(subject, draft_id)
        assert subject is not None
        round_ = await self.access.round(subject, str(draft["round_id"]))
        calendar = await self.access.calendar(round_)
        now = self.clock.now()
        here = await _one(self.records, APPLICATIONS, str(round_["id"]), str(draft["org_id"]))
        if (
            here is not None
            and here.get("draft_id") == draft["id"]
            and here.get("draft_version") == body.version
        ):
            return here  # the same confirmed version sent twice: one filing
        windows.require_open(round_, calendar, now, "apply")
        if draft["version"] != body.version:
            raise StaleVersionError(current_version=draft["version"])
        vals = draft["values"]
        ctx = context(round_, windows.jst_date(now))
        attachment = await self.drafts._attachment_record(vals)
        require_no_errors(check_all(vals, ctx, attachment))
        targets = [str(t) for t in vals["targets"]]
        dropped = [t for t in (here or {}).get("targets") or [] if t not in targets]
        if dropped and not body.confirm_dropped:
            raise TargetsDropped(
                "再申請すると、前に送信した申請は削除され、新しい内容に置き換わります。"
                "次の自治体への申請は削除されます: "
                + "、".join(ctx.targets.get(t, t) for t in dropped)
                + "。申請を続ける場合は、これらの自治体も選択してください。",
                dropped=[{"code": t, "name": ctx.targets.get(t, t)} for t in dropped],
            )
        review_sets = ReviewSetService(self.container)
        current = await review_sets.current()
        key = reviews.lookup_key(vals)
        found = await review_sets.lookup(current["id"], key) if current and key else None
        problems = reviews.mismatches(vals, found)
        if problems:
            raise ReviewMismatch(
                "入力した経営事項審査情報がデータベースの情報と一致しません。"
                "経営事項審査の結果通知書等に基づき修正して、再度送信してください。",
                field=problems[0]["field"],
                errors=problems,
            )
        assert current is not None
        round_targets = targets_of(round_)
        named = _named_targets(round_, ctx)
        application_id = here["id"] if here else new_id()
        record: dict[str, Any] = {
            "id": application_id,
            "round_id": round_["id"],
            "org_id": draft["org_id"],
            "kind": "reapplication" if here else "initial",
            "filing": int((here or {}).get("filing", 0)) + 1,
            "values": vals,
            "targets": targets,
            "no_tax": [t for t in vals.get("no_tax") or [] if t in targets],
            "target_org_ids": [str(round_targets[t]["org_id"]) for t in targets],
            "readers": sorted(
                {org_principal(str(round_targets[t]["org_id"])) for t in targets}
                | ({org_principal(h)} if (h := host_org(round_)) else set())
            ),
            "local": is_local(vals, ctx),
            "listing": listing(vals),
            "company_name": vals["company"]["name"],
            "company_kana": vals["company"]["name_kana"],
            "corporate_number": vals["company"]["corporate_number"],
            "categories": sorted(vals["review"]["categories"]),
            "review_set_id": current["id"],
            "review_key": key,
            "papers": papers.common_papers(
                vals, ctx, has_attachment=attachment is not None, target_names=ctx.targets
            ),
            "own_papers": papers.own_papers(targets, named),
            "attachment_id": attachment["id"] if attachment else None,
            "attachment_name": attachment.get("name") if attachment else None,
            "draft_id": draft["id"],
            "draft_version": body.version,
            "draft_version_after": body.version + 1,
            "sent_at": to_iso(now),
            "sent_by": subject.user_id,
            "certificate_subject": certificate,
            "corrections": [],
            "additions": [],
        }
        async with self.container.uow() as uow:
            record["receipt_no"] = await self._number(uow, round_)
            pdf = await self.container.pdf.render(
                receipt.TEMPLATE, receipt.receipt_data(record, round_)
            )
            # The applicant's own file: its organization's scope (api.keys.scopes).
            scope = scopes.org(str(record["org_id"]))
            blob = await ContentStore(self.records, self.container.blobs, self.clock).put(
                scope, _bytes(pdf), uow, "application/pdf"
            )
            record["receipt"] = {"sha256": blob["sha256"], "scope": scope, "size": len(pdf)}
            try:
                await uow.records.update(
                    DRAFTS, draft["id"], {"sent_version": body.version}, body.version
                )
            except StaleVersion as exc:
                raise StaleVersionError() from exc
            if here is None:
                stored = await uow.records.insert(APPLICATIONS, record)
            else:
                stored = await uow.records.replace(APPLICATIONS, record, here["version"])
                await self._release_replaced(uow, here, record)
                for t in dropped:
                    await self._drop_desk(
                        uow, application_id, str(round_targets.get(t, {}).get("org_id", ""))
                    )
            await self._move_attachment(uow, subject, draft, record)
            await AuditLog(uow.records, self.clock).record(
                subject,
                "qualifications.application_sent"
                if here is None
                else "qualifications.application_replaced",
                f"{APPLICATIONS}/{application_id}",
                before=here,
                after=stored,
                detail={
                    "receipt_no": record["receipt_no"],
                    "targets": targets,
                    "dropped": dropped,
                    "certificate_subject": certificate,
                },
            )
        return stored

    async def _number(self, uow: UnitOfWork, round_: Mapping[str, Any]) -> str:
        """The next receipt number of the round (``<round code>-000123``), drawn inside the
        filing's unit of work: a send that fails leaves no gap."""
        counter_id = str(round_["id"])
        for _ in range(20):
            found = await uow.records.get(COUNTERS, counter_id)
            try:
                if found is None:
                    await uow.records.insert(COUNTERS, {"id": counter_id, "next": 2})
                    number = 1
                else:
                    number = int(found["next"])
                    await uow.records.update(
                        COUNTERS, counter_id, {"next": number + 1}, found["version"]
                    )
            except (DuplicateKey, StaleVersion):
                continue
            return f"{round_['code']}-{number:06d}"
        raise Conflict("受付番号を採番できませんでした。もう一度送信してください。")

    async def _release_replaced(
        self, uow: UnitOfWork, before: Mapping[str, Any], after: Mapping[str, Any]
    ) -> None:
        """第3 1: the earlier filing is deleted: its receipt and an attachment no longer named."""
        cas = ContentStore(self.records, self.container.blobs, self.clock)
        old_receipt = (before.get("receipt") or {}).get("sha256")
        if old_receipt:
            await cas.release(receipt_scope(before), str(old_receipt), uow)
        old_attachment = before.get("attachment_id")
        if old_attachment and old_attachment != after.get("attachment_id"):
            record = await uow.records.get(ATTACHMENTS, str(old_attachment))
            if record is not None:
                await AttachmentService(self.container).release(uow, record)

    async def _drop_desk(self, uow: UnitOfWork, application_id: str, org_id: str) -> None:
        found = await uow.records.get(DESKS, desk_id(application_id, org_id))
        if found is not None:
            await uow.records.delete(DESKS, found["id"], found["version"])

    async def _move_attachment(
        self, uow: UnitOfWork, subject: Subject, draft: Mapping[str, Any], record: Mapping[str, Any]
    ) -> None:
        """The draft's attachment becomes the filing's (its readers are the filing's)."""
        aid = record.get("attachment_id")
        if not aid:
            return
        found = await uow.records.get(ATTACHMENTS, str(aid))
        if found is None:
            raise ValidationFailed("添付ファイルが見つかりません。", field="attachment.file")
        parent = application_parent(str(record["id"]))
        if found.get("parent") == parent:
            return
        if found.get("parent") == draft_parent(str(draft["id"])):
            # The attachments service links staged files; moving a linked file from the
            # draft to the filing of the same company is this module's own step.
            await uow.records.update(ATTACHMENTS, str(aid), {"parent": parent}, found["version"])
            return
        await AttachmentService(self.container).link(uow, subject, [str(aid)], parent)


def certificate_subject(request: Any, header: str) -> str | None:
    """The verified client certificate's subject the proxy passed in ``header`` (seed 004
    第1 3: the e-bidding IC card), or None: no header configured, none sent, or one no proxy
    writes (control characters, over 500 characters)."""
    if not header:
        return None
    value = str(request.headers.get(header) or "").strip()
    # Header values arrive decoded as latin-1; proxies write the DN's UTF-8 bytes.
    with contextlib.suppress(UnicodeError):
        value = value.encode("latin-1").decode("utf-8")
    if not value or len(value) > 500 or not value.isprintable():
        return None
    return value


async def desks_of(records: Any, application_id: str) -> list[dict[str, Any]]:
    return [r async for r in records.scan(DESKS, (Eq("application_id", application_id),))]


def receipt_scope(app: Mapping[str, Any]) -> str:
    """The scope of an application's stored receipt: its applicant organization's."""
    return str((app.get("receipt") or {}).get("scope") or scopes.org(str(app["org_id"])))
