"""What each reader gets: a bond, lists and exports, revisions, a key presented, balances.

Everything goes through ``api.bonds.sealing`` (one rule for every endpoint, F01<1>-<3>).
Lists run on the record store (no search index: a sealed bond's fields are never indexed
anywhere a query could reach them); filters and sorts use only fields of the existence view,
so neither the order nor the count of a list depends on sealed contents.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from datetime import date
from typing import TYPE_CHECKING, Any

from api.bonds import balances, sealing
from api.bonds.keys import issued_at
from api.bonds.models import BONDS, KIND_LABELS, REVISIONS, BondKind, BondState, Event, Origin
from api.bonds.permissions import relation
from api.bonds.schemas import (
    BondFilters,
    BondPage,
    BondRead,
    KeyCheck,
    OpenResult,
    RevisionRead,
)
from api.bonds.service import BondService
from api.errors import NotAuthenticated, NotFoundError, ValidationFailed
from api.kit.clock import from_iso
from api.permissions.policy import OrgKind, Subject
from storage.query import Condition, Direction, Eq, Query, Range, Record

if TYPE_CHECKING:
    from api.container import Container

EVENT_LABELS = {
    Event.REGISTER: "登録",
    Event.REBID: "再入札による更新",
    Event.CONTRACT_CHANGE: "変更契約による更新",
    Event.CORRECTION: "訂正",
    Event.DELETE: "削除",
}
_ROLE_FIELD = {"issuer": "issuer_org_id", "obligor": "obligor_org_id", "obligee": "obligee_org_id"}
_ROLE_OF_KIND = {
    OrgKind.ISSUER: "issuer",
    OrgKind.CONTRACTOR: "obligor",
    OrgKind.ORDERER: "obligee",
}


class BondViews:
    def __init__(self, container: Container) -> None:
        self.container = container
        self.records = container.records
        self.clock = container.clock
        self.policy = container.policy
        self.bonds = BondService(container)

    def read(self, subject: Subject, bond: Record) -> BondRead:
        """The bond as ``subject`` sees it without presenting a key."""
        now = self.clock.now()
        can = self.bonds.permissions(subject, bond)
        if self.bonds.may_read_contents(subject, bond):
            return sealing.full(bond, now, can)
        return sealing.existence(bond, now, can)

    async def get(self, subject: Subject | None, bond_id: str) -> BondRead:
        bond = await self.bonds.load(subject, bond_id, "bonds.read")
        assert subject is not None
        return self.read(subject, bond)

    async def page(self, subject: Subject | None, f: BondFilters) -> BondPage:
        if subject is None:
            raise NotAuthenticated()
        self.policy.require(subject, "bonds.list")
        role = _ROLE_OF_KIND.get(subject.org_kind) if subject.org_kind else None
        if role is None or (f.role is not None and f.role != role):
            return BondPage(items=[])
        where: list[Condition] = [Eq(_ROLE_FIELD[role], str(subject.org_id))]
        if f.kind is not None:
            where.append(Eq("kind", f.kind.value))
        if f.state is not None:
            where.append(Eq("state", f.state))
        if f.work_id is not None:
            where.append(Eq("work_id", f.work_id))
        direction: Direction = 1 if f.order == "asc" else -1
        page = await self.records.find(
            BONDS,
            Query(
                where=tuple(where),
                sort=((str(f.sort), direction),),
                limit=f.limit,
                cursor=f.cursor,
            ),
        )
        items = [
            self.read(subject, b)
            for b in page.items
            if self.policy.can(subject, "bonds.read", _res(b))
        ]
        return BondPage(items=items, next_cursor=page.next_cursor)

    async def export_csv(self, subject: Subject | None, f: BondFilters) -> str:
        """The list as CSV (UTF-8 with BOM for Excel); sealed rows show existence only."""
        rows: list[BondRead] = []
        cursor: str | None = None
        while True:
            page = await self.page(subject, f.model_copy(update={"limit": 200, "cursor": cursor}))
            rows += page.items
            cursor = page.next_cursor
            if not cursor or len(rows) >= 10_000:
                break
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(
            [
                "種類",
                "状態",
                "債務者",
                "債権者",
                "工事番号",
                "工事名",
                "開札日時",
                "発行機関",
                "証券番号",
                "保証金額",
                "保証期間開始",
                "保証期間終了",
                "保証料",
            ]
        )
        for b in rows:
            sealed_text = "（開札前のため非表示）" if b.sealed and b.view == "existence" else ""
            writer.writerow(
                [
                    b.kind_label,
                    "削除済み" if b.state == "deleted" else "有効",
                    b.obligor_name,
                    b.obligee_name,
                    b.work_number,
                    b.work_title,
                    b.opening_at.isoformat() if b.opening_at else "",
                    b.issuer_name or sealed_text,
                    b.certificate_no or "",
                    b.amount if b.amount is not None else "",
                    b.period_start.isoformat() if b.period_start else "",
                    b.period_end.isoformat() if b.period_end else "",
                    b.premium if b.premium is not None else "",
                ]
            )
        return "\ufeff" + out.getvalue()

    async def revisions(self, subject: Subject | None, bond_id: str) -> list[RevisionRead]:
        bond = await self.bonds.load(subject, bond_id, "bonds.read")
        assert subject is not None
        contents = self.bonds.may_read_contents(subject, bond)
        page = await self.records.find(
            REVISIONS,
            Query(where=(Eq("bond_id", bond_id),), sort=(("revision", 1),), limit=1000),
        )
        users = {
            u["id"]: u
            for u in await self.records.get_many("users", list({r["by"] for r in page.items}))
        }
        out: list[RevisionRead] = []
        if not contents:
            # Existence only: no count of revisions, no dates of updates (a re-bid before
            # opening must not show). The registration alone.
            first = page.items[0] if page.items else None
            if first is None:
                return []
            return [
                RevisionRead(
                    revision=1,
                    event=Event.REGISTER,
                    event_label=EVENT_LABELS[Event.REGISTER],
                    at=from_iso(first["at"]),
                )
            ]
        for r in page.items:
            c = r.get("contents") or {}
            out.append(
                RevisionRead(
                    revision=r["revision"],
                    event=Event(r["event"]),
                    event_label=EVENT_LABELS[Event(r["event"])],
                    at=from_iso(r["at"]),
                    by_name=str((users.get(r["by"]) or {}).get("name") or ""),
                    amount=c.get("amount"),
                    premium=c.get("premium"),
                    premium_difference=c.get("premium_difference"),
                    opening_at=from_iso(r["opening_at"]) if r.get("opening_at") else None,
                )
            )
        return out

    async def revision_record(self, bond: Record, revision: int | None) -> Record:
        rev = revision or int(bond["revision"])
        from api.bonds.models import revision_id

        found = await self.records.get(REVISIONS, revision_id(bond["id"], rev))
        if found is None:
            raise NotFoundError("その版はありません。")
        return found

    # a key presented (F01<2> ボンド内容確認) -----------------------------------------------------
    async def open(
        self, subject: Subject | None, text: str, bond_id: str | None = None
    ) -> OpenResult:
        if subject is None:
            raise NotAuthenticated()
        self.policy.require(subject, "bonds.present_key")
        if bond_id is not None:
            await self.bonds.load(subject, bond_id, "bonds.open")
        found = await self.bonds.keys.present(subject, text, bond_id)
        bond = found.bond
        if relation(subject, bond) != "obligee" or not self.policy.can(
            subject, "bonds.open", _res(bond)
        ):
            await self.bonds.keys._refused(subject, bond["id"], "not_obligee")
            raise NotFoundError()
        now = self.clock.now()
        sealed = sealing.is_sealed(bond, now)
        privileged = self.policy.can(subject, "bonds.unseal", _res(bond))
        await self.bonds.record_opening(subject, bond, int(found.key["revision"]))
        can = self.bonds.permissions(subject, bond)
        if sealed and not privileged:
            view = sealing.existence(bond, now, can)
            result = "sealed"
        else:
            view = sealing.full(bond, now, can, await self.bonds.debt(bond))
            result = "opened_privileged" if sealed else "opened"
        await self.bonds.keys.presented(subject, found, result)
        cert = found.certificate
        check = KeyCheck(
            valid=True,
            revision=int(found.key["revision"]),
            issued_at=issued_at(found.claims),
            issuer_name=str(found.claims.get("issuer_name") or ""),
            certificate_subject=str(cert.get("subject") or ""),
            certificate_id=str(cert["id"]),
            custody="kura" if found.claims.get("custody") == "kura" else "issuer",
            sealed_until=sealing.opening(bond) if sealed else None,
        )
        return OpenResult(bond=view, key=check)

    # balances (保証債務残高管理) ---------------------------------------------------------------
    async def _scope(self, subject: Subject | None) -> Subject:
        if subject is None:
            raise NotAuthenticated()
        self.policy.require(subject, "bonds.balances")
        return subject

    async def _orderer_bonds(self, subject: Subject) -> list[Record]:
        """The orderer's securities it may see figures of: its own records, and issuers'
        bonds it opened with a valid key for their current revision, not sealed now."""
        now = self.clock.now()
        out: list[Record] = []
        async for b in balances.find_all(
            self.records,
            BONDS,
            (Eq("obligee_org_id", str(subject.org_id)),),
            (("obligee_org_id", 1),),
        ):
            if b.get("origin") == Origin.ORDERER:
                out.append(b)
                continue
            if sealing.is_sealed(b, now):
                continue
            opened = await self.bonds.opened_revision(str(subject.org_id), b["id"])
            if opened is not None and opened == int(b["revision"]) - (b["state"] == "deleted"):
                out.append(b)
        return out

    async def summary(self, subject: Subject | None, on: date | None) -> dict[str, Any]:
        """Balances on ``on`` (default today): the total across issuers, per issuer and per
        bond, as far as the reader may see (module doc of ``balances``)."""
        who = await self._scope(subject)
        now = self.clock.now()
        day = on or balances.jst_date(now)
        if who.org_kind is OrgKind.ORDERER:
            bonds = await self._orderer_bonds(who)
            rows = self._bond_rows(bonds, day)
            per_issuer: dict[str, int] = defaultdict(int)
            for r in rows:
                per_issuer[r["issuer_name"] or "（発注者の記録）"] += r["outstanding"]
            return {
                "on": day.isoformat(),
                "scope": "orderer",
                "total": sum(r["outstanding"] for r in rows),
                "issuers": [
                    {"issuer_name": k, "outstanding": v} for k, v in sorted(per_issuer.items())
                ],
                "bonds": rows,
            }
        stored = await balances.daily(self.records, day, day)
        hidden = await balances.sealed_of_others(self.records, who.org_id, now)
        names = {
            o["id"]: o.get("name", "")
            for o in await self.records.get_many("organizations", list(stored))
        }
        issuers = []
        for issuer, figures in stored.items():
            for d, v in hidden.get(issuer, {}).items():
                figures.add(d, -v)
            value = figures.values([day])[0]
            if value == 0 and issuer != who.org_id:
                continue  # an issuer shows only with a figure its reader may see
            issuers.append(
                {
                    "issuer_org_id": issuer,
                    "issuer_name": names.get(issuer, ""),
                    "outstanding": value,
                }
            )
        issuers.sort(key=lambda r: (-int(r["outstanding"]), str(r["issuer_name"])))
        # only the bonds that can be outstanding on the day: active, period not ended (an
        # issuer's bonds always have a period); an index walk, not every bond ever issued
        own = [
            b
            async for b in balances.find_all(
                self.records,
                BONDS,
                (
                    Eq("issuer_org_id", str(who.org_id)),
                    Eq("state", BondState.ACTIVE.value),
                    Range("contents.period_end", gte=day.isoformat()),
                ),
                (("contents.period_end", 1),),
            )
        ]
        return {
            "on": day.isoformat(),
            "scope": "issuer",
            "total": sum(int(r["outstanding"]) for r in issuers),
            "issuers": issuers,
            "bonds": self._bond_rows(own, day),
        }

    def _bond_rows(self, bonds: list[Record], day: date) -> list[dict[str, Any]]:
        """ボンド毎の保証残高 on ``day`` (seed 002 1) c)): the bonds outstanding that day; a bond
        deleted before it, or whose period has not begun or has ended, has no row."""
        rows = []
        for b in bonds:
            if not balances.counts(b) and b.get("origin") != Origin.ORDERER:
                continue
            outstanding = balances.outstanding_on(b, day)
            if outstanding <= 0:
                continue
            c = b.get("contents") or {}
            rows.append(
                {
                    "id": b["id"],
                    "kind_label": KIND_LABELS[BondKind(b["kind"])],
                    "origin": b.get("origin"),
                    "state": b.get("state"),
                    "issuer_name": b.get("issuer_name") or "",
                    "certificate_no": c.get("certificate_no") or "",
                    "obligor_name": b.get("obligor_name") or "",
                    "work_title": b.get("work_title") or "",
                    "amount": c.get("amount"),
                    "period_start": c.get("period_start"),
                    "period_end": c.get("period_end"),
                    "outstanding": outstanding,
                }
            )
        rows.sort(key=lambda r: (str(r["period_start"] or ""), str(r["id"])))
        return rows

    async def history(
        self, subject: Subject | None, start: date, end: date, step: str
    ) -> balances.Series:
        """Balances over time (推移): ``total`` and one series per issuer (issuers), or the
        orderer's opened securities (orderers)."""
        who = await self._scope(subject)
        if end < start or (end - start).days > 366 * 20:
            raise ValidationFailed("期間は20年以内で、開始日は終了日以前にしてください。")
        dates = balances.sample_dates(start, end, step)
        now = self.clock.now()
        if who.org_kind is OrgKind.ORDERER:
            merged: dict[date, int] = defaultdict(int)
            for b in await self._orderer_bonds(who):
                if b.get("origin") == Origin.ORDERER:
                    part = _own_record_contribution(b)
                else:
                    part = balances.contribution(await balances.revisions_of(self.records, b["id"]))
                for d, v in part.items():
                    merged[d] += v
            return balances.Series(dates, {"total": balances.run(merged.items(), dates)})
        first = dates[0] if dates else start
        stored = await balances.daily(self.records, min(start, first), end)
        hidden = await balances.sealed_of_others(self.records, who.org_id, now)
        values: dict[str, list[int]] = {}
        total = [0] * len(dates)
        for issuer, figures in stored.items():
            for d, v in hidden.get(issuer, {}).items():
                figures.add(d, -v)
            series = figures.values(dates)
            if issuer != who.org_id and not any(series):
                continue  # an issuer shows only with figures its reader may see
            values[issuer] = series
            total = [a + b for a, b in zip(total, series, strict=True)]
        values["total"] = total
        return balances.Series(dates, values)


def _own_record_contribution(bond: Record) -> dict[date, int]:
    c = bond.get("contents") or {}
    if bond.get("state") != "active" or not c.get("amount"):
        return {}
    start = c.get("period_start") or c.get("paid_on") or c.get("issued_on")
    if not start:
        return {}
    out = {date.fromisoformat(start): int(c["amount"])}
    if c.get("period_end"):
        from datetime import timedelta

        out[date.fromisoformat(c["period_end"]) + timedelta(days=1)] = -int(c["amount"])
    return out


def _res(bond: Record) -> Any:
    from api.bonds.permissions import BondResource

    return BondResource(bond)
