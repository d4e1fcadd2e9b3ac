"""Application rounds, defined by the operator (seed 004 第1 1-2, 第2 2(1), 第3).

A round names its filing period and weekday hours (第1 2(1)), the paper deadline after which a
filing without its papers is void (第1 2(2)), the correction deadline and the fields a
correction may change (第3 2), an optional additional-application period (第2 2(1)), the
earliest 経審 base date (第1 5), where the common papers go (第1 8), its target municipalities
(the prefecture and its towns, each a Kura orderer organization, each with its own documents:
第1 9) and the municipalities it excludes (第1 1: 広島市を除く).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from api.audit.service import AuditLog
from api.errors import ValidationFailed
from api.kit.clock import to_iso
from api.kit.ids import new_id
from api.permissions.policy import Subject
from api.qualifications import catalog, windows
from api.qualifications.access import Access, host_org, targets_of
from api.qualifications.models import APPLICATIONS, DRAFTS, ROUNDS
from api.qualifications.schemas import CORRECTABLE, RoundCreate, RoundUpdate
from storage.query import Eq, Query

if TYPE_CHECKING:
    from api.container import Container


def public(round_: Mapping[str, Any]) -> dict[str, Any]:
    """A round as applicants and municipalities read it (names for every code)."""
    places = catalog.municipalities()
    return {
        **{k: v for k, v in round_.items() if k not in ("targets", "excluded")},
        "prefecture_name": catalog.prefecture_name(str(round_.get("prefecture"))),
        "targets": [
            {**t, "name": places[t["code"]].name if t["code"] in places else t["code"]}
            for t in round_.get("targets") or []
        ],
        "excluded": [
            {**e, "name": places[e["code"]].name if e["code"] in places else e["code"]}
            for e in round_.get("excluded") or []
        ],
        "host_org_id": host_org(round_),
    }


class RoundService:
    def __init__(self, container: Container) -> None:
        self.container = container
        self.records = container.records
        self.clock = container.clock
        self.policy = container.policy
        self.access = Access(container)

    async def _check(self, data: Mapping[str, Any]) -> None:
        """Rules about meaning, all reported at once by field."""
        errors: list[dict[str, str]] = []

        def bad(field: str, message: str) -> None:
            errors.append({"field": field, "message": message})

        if data["filing_end"] < data["filing_start"]:
            bad("filing_end", "申請期間の終了日は開始日以降にしてください。")
        if data["paper_deadline"] < data["filing_end"]:
            bad("paper_deadline", "書類送付期限は申請期間の終了日以降にしてください。")
        if data["correction_deadline"] < data["filing_end"]:
            bad("correction_deadline", "訂正申請の期限は申請期間の終了日以降にしてください。")
        start, end = data.get("additional_start"), data.get("additional_end")
        if (start is None) != (end is None):
            bad("additional_end", "追加申請期間は開始日と終了日の両方を指定してください。")
        elif start is not None and end is not None:
            if end < start:
                bad("additional_end", "追加申請期間の終了日は開始日以降にしてください。")
            if start <= data["filing_end"]:
                bad("additional_start", "追加申請期間は申請期間の後にしてください。")
        hours = data["hours"]
        if hours["close"] <= hours["open"]:
            bad("hours", "受付時間の終了は開始より後にしてください。")
        unknown = [f for f in data["correction_fields"] if f not in CORRECTABLE]
        if unknown:
            bad(
                "correction_fields",
                "訂正できる項目は会社の基本情報に限られます（申請先・業種・経審情報は訂正できません）。",
            )
        places = catalog.municipalities()
        pref = data["prefecture"]
        codes = [t["code"] for t in data["targets"]]
        if len(set(codes)) != len(codes):
            bad("targets", "同じ自治体が重複しています。")
        for code in codes:
            if code not in places or code[:2] != pref:
                bad("targets", f"自治体コード {code} はこの都道府県の自治体ではありません。")
        if f"{pref}000" not in codes:
            bad("targets", "共通書類の提出先として、都道府県を申請先に含めてください。")
        for item in data.get("excluded") or []:
            if item["code"] in codes:
                bad("excluded", f"自治体コード {item['code']} は申請先と除外の両方にあります。")
        org_ids = [t["org_id"] for t in data["targets"]]
        orgs = {o["id"]: o for o in await self.records.get_many("organizations", org_ids)}
        for target in data["targets"]:
            org = orgs.get(target["org_id"])
            if org is None or org.get("kind") != "orderer":
                bad(
                    "targets",
                    f"自治体コード {target['code']} の組織が発注者として登録されていません。",
                )
        if len(set(org_ids)) != len(org_ids):
            bad("targets", "同じ組織が複数の自治体に指定されています。")
        if errors:
            raise ValidationFailed(errors[0]["message"], field=errors[0]["field"], errors=errors)

    async def create(self, subject: Subject | None, body: RoundCreate) -> dict[str, Any]:
        self.policy.require(subject, "qualifications.rounds.manage")
        data = body.model_dump(mode="python")
        await self._check(data)
        now = to_iso(self.clock.now())
        record = {
            "id": new_id(),
            **body.model_dump(mode="json"),
            "created_at": now,
            "updated_at": now,
        }
        async with self.container.uow() as uow:
            stored = await uow.records.insert(ROUNDS, record)
            await AuditLog(uow.records, self.clock).record(
                subject, "qualifications.round_created", f"{ROUNDS}/{stored['id']}", after=stored
            )
        return public(stored)

    async def update(
        self, subject: Subject | None, round_id: str, body: RoundUpdate
    ) -> dict[str, Any]:
        self.policy.require(subject, "qualifications.rounds.manage")
        before = await self.access.round(subject, round_id)
        changes = body.model_dump(mode="json", exclude_unset=True, exclude={"version"})
        merged = {**before, **changes}
        typed = RoundCreate.model_validate(
            {k: merged.get(k) for k in RoundCreate.model_fields if merged.get(k) is not None}
        )
        await self._check(typed.model_dump(mode="python"))
        removed = set(targets_of(before)) - set(targets_of(merged))
        if removed and await self._filed_to(round_id, removed):
            raise ValidationFailed(
                "申請を受け付けた自治体は申請先から外せません。", field="targets"
            )
        changes["updated_at"] = to_iso(self.clock.now())
        async with self.container.uow() as uow:
            stored = await uow.records.update(ROUNDS, round_id, changes, body.version)
            await AuditLog(uow.records, self.clock).record(
                subject,
                "qualifications.round_updated",
                f"{ROUNDS}/{round_id}",
                before=before,
                after=stored,
            )
        return public(stored)

    async def _filed_to(self, round_id: str, codes: set[str]) -> bool:
        async for app in self.records.scan(APPLICATIONS, (Eq("round_id", round_id),)):
            if codes & set(app.get("targets") or []):
                return True
        return False

    async def list(self, subject: Subject | None) -> list[dict[str, Any]]:
        """Rounds the subject reads (published ones; operators every one), newest first,
        each with its windows now and the subject's own draft and filing."""
        if subject is None:
            from api.errors import NotAuthenticated

            raise NotAuthenticated()
        page = await self.records.find(ROUNDS, Query(sort=(("filing_start", -1),), limit=200))
        out = []
        now = self.clock.now()
        for round_ in page.items:
            if not self.policy.can(subject, "qualifications.rounds.read", _res(round_)):
                continue
            out.append(await self._summary(subject, round_, now))
        return out

    async def get(self, subject: Subject | None, round_id: str) -> dict[str, Any]:
        round_ = await self.access.round(subject, round_id)
        assert subject is not None
        return await self._summary(subject, round_, self.clock.now())

    async def _summary(
        self, subject: Subject, round_: Mapping[str, Any], now: Any
    ) -> dict[str, Any]:
        calendar = await self.access.calendar(round_)
        mine: dict[str, Any] = {}
        if subject.org_id:
            draft = await _one(self.records, DRAFTS, str(round_["id"]), subject.org_id)
            application = await _one(self.records, APPLICATIONS, str(round_["id"]), subject.org_id)
            mine = {
                "draft": {
                    "id": draft["id"],
                    "updated_at": draft["updated_at"],
                    "step": draft.get("step"),
                }
                if draft
                else None,
                "application": {
                    "id": application["id"],
                    "receipt_no": application["receipt_no"],
                    "sent_at": application["sent_at"],
                }
                if application
                else None,
            }
        receives = subject.org_id is not None and (
            subject.org_id in {t["org_id"] for t in round_.get("targets") or []}
        )
        return {
            **public(round_),
            **windows.overview(round_, calendar, now),
            "mine": mine,
            "receives": receives,
        }


def _res(round_: Mapping[str, Any]) -> Any:
    from api.qualifications.models import RoundResource

    return RoundResource(round_)


async def _one(records: Any, collection: str, round_id: str, org_id: str) -> dict[str, Any] | None:
    page = await records.find(
        collection, Query(where=(Eq("round_id", round_id), Eq("org_id", org_id)), limit=1)
    )
    return page.items[0] if page.items else None
