"""After the filing period (seed 004 第3 2, 第2 2(1)).

- 訂正申請 (correction): until the correction deadline, only the fields the round allows
  (company basics), never the targets, the categories or the 経審 data (第3 2: 申請先や申請業種
  についての訂正・変更等はできません; 経営事項審査情報を修正することもできません).
- 追加申請 (additional application): in the additional period, municipalities missed are added
  to the filing (第2 2(1): チェック漏れ … 別途追加申請期間に申請先追加の申請); nothing else
  changes, nothing is removed.

Each reissues the receipt (same receipt number, the kind printed) in the same unit of work as
the change and its audit event.
"""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator, Mapping
from typing import TYPE_CHECKING, Any

from api.archive.cas import ContentStore
from api.audit.service import AuditLog
from api.errors import ValidationFailed
from api.keys import scopes
from api.kit.clock import to_iso
from api.permissions.policy import Subject
from api.qualifications import catalog, papers, receipt, values, windows
from api.qualifications.access import Access, targets_of
from api.qualifications.drafts import _named_targets, context
from api.qualifications.form import check_entry
from api.qualifications.models import APPLICATIONS, listing, org_principal
from api.qualifications.offices import check_offices
from api.qualifications.schemas import AdditionBody, CorrectionBody
from api.qualifications.sending import receipt_scope

if TYPE_CHECKING:
    from api.container import Container
    from api.kit.uow import UnitOfWork


async def _bytes(data: bytes) -> AsyncIterator[bytes]:
    yield data


def _get(vals: Mapping[str, Any], path: str) -> Any:
    node: Any = vals
    for part in path.split("."):
        node = node.get(part) if isinstance(node, Mapping) else None
    return node


def _set(vals: dict[str, Any], path: str, value: Any) -> None:
    parts = path.split(".")
    node = vals
    for part in parts[:-1]:
        node = node.setdefault(part, {})
    node[parts[-1]] = value


def _paths(vals: Mapping[str, Any], prefix: str = "") -> list[str]:
    out = []
    for key, value in vals.items():
        path = f"{prefix}{key}"
        if isinstance(value, Mapping) and value and key != "categories":
            out.extend(_paths(value, f"{path}."))
        else:
            out.append(path)
    return out


def _place(code: str) -> str:
    found = catalog.municipalities().get(code)
    return found.name if found else code


class AmendService:
    def __init__(self, container: Container) -> None:
        self.container = container
        self.records = container.records
        self.clock = container.clock
        self.access = Access(container)

    async def correct(
        self,
        subject: Subject | None,
        application_id: str,
        body: CorrectionBody,
        *,
        certificate: str | None = None,
    ) -> dict[str, Any]:
        app, round_ = await self.access.application(subject, application_id, "qualifications.amend")
        assert subject is not None
        now = self.clock.now()
        windows.require_open(round_, await self.access.calendar(round_), now, "correct")
        sent = values.normalize_sections(body.values)
        allowed = [str(f) for f in round_.get("correction_fields") or []]
        new = copy.deepcopy(app["values"])
        refused: list[str] = []
        changed: list[str] = []
        for path in _paths(sent):
            before, after = _get(app["values"], path), _get(sent, path)
            if before == after:
                continue
            if any(path == f or path.startswith(f"{f}.") for f in allowed):
                _set(new, path, after)
                changed.append(path)
            else:
                refused.append(path)
        if refused:
            raise ValidationFailed(
                "訂正申請で訂正できるのは会社の基本情報等の限られた項目のみです"
                "（申請先・業種・経営事項審査情報は訂正できません）。",
                field=refused[0],
                errors=[
                    {"field": p, "label": p, "message": "この項目は訂正申請では訂正できません。"}
                    for p in refused
                ],
            )
        if not changed:
            raise ValidationFailed("訂正する項目がありません。", field="values")
        ctx = context(round_, windows.jst_date(now))
        errors = [
            e
            for e in [*check_entry(new, ctx), *check_offices(new, ctx)]
            if any(e["field"] == c or e["field"].startswith(f"{c}.") for c in changed)
        ]
        if errors:
            raise ValidationFailed(errors[0]["message"], field=errors[0]["field"], errors=errors)
        entry = {
            "at": to_iso(now),
            "by": subject.user_id,
            "fields": changed,
            "certificate_subject": certificate,
        }
        changes = {
            "values": new,
            "listing": listing(new),
            "company_name": new["company"]["name"],
            "company_kana": new["company"]["name_kana"],
            "corrections": [*(app.get("corrections") or []), entry],
            "kind": "correction",
        }
        return await self._apply(
            subject,
            app,
            round_,
            changes,
            body.version,
            "qualifications.application_corrected",
            entry,
        )

    async def add(
        self,
        subject: Subject | None,
        application_id: str,
        body: AdditionBody,
        *,
        certificate: str | None = None,
    ) -> dict[str, Any]:
        app, round_ = await self.access.application(subject, application_id, "qualifications.amend")
        assert subject is not None
        now = self.clock.now()
        windows.require_open(round_, await self.access.calendar(round_), now, "add")
        round_targets = targets_of(round_)
        ctx = context(round_, windows.jst_date(now))
        unknown = [t for t in body.targets if t not in round_targets]
        if unknown:
            raise ValidationFailed(
                "このシステムで申請できない自治体が含まれています（"
                + "、".join(_place(t) for t in unknown)
                + "）。",
                field="targets",
            )
        already = [t for t in body.targets if t in app["targets"]]
        if already:
            raise ValidationFailed(
                "すでに申請している自治体です（"
                + "、".join(ctx.targets.get(t, t) for t in already)
                + "）。",
                field="targets",
            )
        if any(t not in body.targets for t in body.no_tax):
            raise ValidationFailed(
                "納税義務のない自治体は追加する自治体から選んでください。", field="no_tax"
            )
        targets = [*app["targets"], *dict.fromkeys(body.targets)]
        no_tax = [*app.get("no_tax", []), *body.no_tax]
        new = copy.deepcopy(app["values"])
        new["targets"], new["no_tax"] = targets, no_tax
        entry = {
            "at": to_iso(now),
            "by": subject.user_id,
            "targets": list(dict.fromkeys(body.targets)),
            "certificate_subject": certificate,
        }
        changes = {
            "values": new,
            "targets": targets,
            "no_tax": no_tax,
            "target_org_ids": [str(round_targets[t]["org_id"]) for t in targets],
            "readers": sorted(
                set(app["readers"])
                | {org_principal(str(round_targets[t]["org_id"])) for t in body.targets}
            ),
            "papers": papers.common_papers(
                new, ctx, has_attachment=bool(app.get("attachment_id")), target_names=ctx.targets
            ),
            "own_papers": papers.own_papers(targets, _named_targets(round_, ctx)),
            "additions": [*(app.get("additions") or []), entry],
            "kind": "addition",
        }
        return await self._apply(
            subject, app, round_, changes, body.version, "qualifications.application_added", entry
        )

    async def _apply(
        self,
        subject: Subject,
        app: Mapping[str, Any],
        round_: Mapping[str, Any],
        changes: dict[str, Any],
        version: int,
        action: str,
        entry: Mapping[str, Any],
    ) -> dict[str, Any]:
        async with self.container.uow() as uow:
            merged = {**app, **changes}
            changes["receipt"] = await self._reissue(uow, merged, round_)
            stored = await uow.records.update(APPLICATIONS, str(app["id"]), changes, version)
            await AuditLog(uow.records, self.clock).record(
                subject,
                action,
                f"{APPLICATIONS}/{app['id']}",
                before=app,
                after=stored,
                detail=dict(entry),
            )
        return stored

    async def _reissue(
        self, uow: UnitOfWork, app: Mapping[str, Any], round_: Mapping[str, Any]
    ) -> dict[str, Any]:
        cas = ContentStore(self.records, self.container.blobs, self.clock)
        pdf = await self.container.pdf.render(receipt.TEMPLATE, receipt.receipt_data(app, round_))
        scope = scopes.org(str(app["org_id"]))
        blob = await cas.put(scope, _bytes(pdf), uow, "application/pdf")
        old = (app.get("receipt") or {}).get("sha256")
        if old:
            await cas.release(receipt_scope(app), str(old), uow)
        return {"sha256": blob["sha256"], "scope": scope, "size": len(pdf)}
