"""IDs: the orderer's yearly batch and the contractor's IDs of a work, shown once.

- **Orderer IDs** (seed 000: 発注者IDは一括管理とする（年度当初，1年固定）; 発注者情報の登録 →
  発注者情報の通知): the municipality registers its staff for a fiscal year (a roster); the ID
  batch job, from 4月1日 of that year (catching up if it missed the day), creates the accounts
  that do not exist yet in the existing users and organizations, disables the accounts the
  previous year's roster issued that this one no longer names, and fixes the roster for the
  year (changes answer 409 ``roster_fixed``; new staff during the year are added by the
  organization's user administrator as usual).
- **Contractor IDs** (ID等の配布): the staff on the 利用シート of an approved application, in the
  contractor's organization; existing accounts of that organization are reused.
- **Never in clear** (seed 001 別表3 2(1)): the password set when an account is created is
  thrown away unseen. The party's billing staff reveal the one-time passwords once, on screen
  over TLS: revealing sets a fresh one-time password per account (must be changed at the
  first login), returns them in that one answer, and marks the batch shown. Forms and mails
  name people and masked login ids only, and say where the passwords are shown.
"""

from __future__ import annotations

from typing import Any

from api.billing import models
from api.billing.base import Base
from api.billing.notify import notify_org
from api.billing.permissions import BillingResource
from api.billing.rules import fiscal_year, fiscal_year_start
from api.errors import Conflict, DuplicateError, NotFoundError, ValidationFailed
from api.kit.uow import UnitOfWork
from api.permissions.policy import Subject
from api.users.models import UserStatus
from api.users.schemas import UserCreate
from api.users.service import UserService
from storage.query import Eq, Record

CREDENTIALS = "billing_credentials"


class RosterFixed(Conflict):
    code = "roster_fixed"
    title = "発注者IDは年度当初に一括発行され、1年間固定です。"


def roster_id(org_id: str, fy: int) -> str:
    return f"{org_id}-{fy}"


class Accounts(Base):
    # contractor IDs ---------------------------------------------------------------------------
    async def issue_for_application(
        self, uow: UnitOfWork, actor: Subject, app: Record
    ) -> list[Record]:
        return await self._issue(
            actor, app["org_id"], app["staff"], source=f"{models.APPLICATIONS}/{app['id']}"
        )

    async def _issue(
        self, actor: Subject | str, org_id: str, staff: list[dict[str, Any]], *, source: str
    ) -> list[Record]:
        users = UserService.of(self.container)
        issued: list[Record] = []
        for person in staff:
            existing = await users.repo.get_by_login_id(person["login_id"])
            if existing is not None:
                if existing.org_id != org_id:
                    raise DuplicateError(
                        f"ログインID「{person['login_id']}」は他の組織で使われています。",
                        field="staff",
                    )
                issued.append(
                    {
                        "id": existing.id,
                        "name": existing.name,
                        "login_id": existing.login_id,
                        "new": False,
                    }
                )
                if existing.status is not UserStatus.ACTIVE:
                    await users.repo.update(existing, {"status": UserStatus.ACTIVE.value})
                continue
            user, _discarded = await users.create_as(
                actor,
                UserCreate(
                    login_id=person["login_id"],
                    name=person["name"],
                    email=person.get("email") or None,
                    org_id=org_id,
                    position=person.get("position") or None,
                ),
            )
            issued.append(
                {"id": user.id, "name": user.name, "login_id": user.login_id, "new": True}
            )
            await self.records.insert(
                CREDENTIALS,
                {
                    "id": f"{source}|{user.id}",
                    "source": source,
                    "org_id": org_id,
                    "user_id": user.id,
                    "revealed": False,
                    "created_at": self.now(),
                },
            )
        return issued

    async def reveal(self, subject: Subject | None, source: str) -> list[dict[str, str]]:
        """The one-time passwords of a batch, once: fresh ones are set and returned."""
        self.policy.require(subject, "billing.list")
        assert subject is not None
        pending = [c async for c in self.records.scan(CREDENTIALS, (Eq("source", source),))]
        if not pending or subject.is_operator or subject.org_id != pending[0]["org_id"]:
            # Operators never see a municipality's or contractor's passwords.
            raise NotFoundError("表示できる初期パスワードはありません。")
        self.policy.require(
            subject,
            "billing.contractor" if subject.org_kind == "contractor" else "billing.municipality",
            BillingResource(pending[0]["org_id"]),
        )
        waiting = [c for c in pending if not c["revealed"]]
        if not waiting:
            raise Conflict(
                "初期パスワードは表示済みです。再発行は利用者管理のパスワード再設定で行ってください。",
            )
        users = UserService.of(self.container)
        shown: list[dict[str, str]] = []
        async with self.container.uow():
            for cred in waiting:
                user = await users.repo.get(cred["user_id"])
                if user is None:
                    continue
                user, password = await users.reset_password_as(subject, user)
                shown.append({"login_id": user.login_id, "name": user.name, "password": password})
                await self.records.update(
                    CREDENTIALS,
                    cred["id"],
                    {"revealed": True, "revealed_at": self.now(), "revealed_by": subject.user_id},
                    int(cred["version"]),
                )
            await self.audit.record(
                subject,
                "billing.credentials_revealed",
                source,
                detail={"accounts": [s["login_id"] for s in shown]},
            )
        return shown

    async def pending(self, source: str) -> int:
        count = 0
        async for cred in self.records.scan(CREDENTIALS, (Eq("source", source),)):
            count += 0 if cred["revealed"] else 1
        return count

    # orderer rosters --------------------------------------------------------------------------
    async def save_roster(
        self, subject: Subject | None, fy: int, staff: list[dict[str, Any]]
    ) -> Record:
        """発注者情報の登録 for fiscal year ``fy`` (until the batch has issued it)."""
        self.policy.require(subject, "billing.municipality")
        assert subject is not None
        assert subject.org_id is not None
        if fy < fiscal_year(self.today()):
            raise ValidationFailed("過去の年度の発注者情報は登録できません。")
        logins = [s["login_id"].lower() for s in staff]
        if len(set(logins)) != len(logins):
            raise ValidationFailed("ログインIDが重複しています。", field="staff")
        key = roster_id(subject.org_id, fy)
        async with self.container.uow():
            before = await self.records.get(models.ROSTERS, key)
            if before is not None and before["state"] == "issued":
                raise RosterFixed()
            fields = {
                "org_id": subject.org_id,
                "fiscal_year": fy,
                "staff": staff,
                "state": "draft",
                "updated_at": self.now(),
                "saved_by": subject.user_id,
            }
            if before is None:
                stored = await self.records.insert(models.ROSTERS, {"id": key, **fields})
            else:
                stored = await self.records.update(
                    models.ROSTERS, key, fields, int(before["version"])
                )
            await self.audit.record(
                subject,
                "billing.roster_saved",
                f"{models.ROSTERS}/{key}",
                before=before,
                after=stored,
            )
        return stored

    async def get_roster(self, subject: Subject | None, fy: int) -> Record | None:
        self.policy.require(subject, "billing.municipality")
        assert subject is not None
        assert subject.org_id is not None
        return await self.records.get(models.ROSTERS, roster_id(subject.org_id, fy))

    async def issue_rosters(self) -> int:
        """The ID batch: every draft roster of a fiscal year that has begun is issued once."""
        today = self.today()
        issued = 0
        async for roster in self.records.scan(models.ROSTERS, (Eq("state", "draft"),)):
            fy = int(roster["fiscal_year"])
            if today < fiscal_year_start(fy):
                continue
            await self._issue_roster(roster)
            issued += 1
        return issued

    async def _issue_roster(self, roster: Record) -> None:
        org_id = roster["org_id"]
        fy = int(roster["fiscal_year"])
        source = f"{models.ROSTERS}/{roster['id']}"
        previous = await self.records.get(models.ROSTERS, roster_id(org_id, fy - 1))
        async with self.container.uow():
            issued = await self._issue("system:billing", org_id, roster["staff"], source=source)
            keep = {u["id"] for u in issued}
            users = UserService.of(self.container)
            disabled = []
            for user_id in (previous or {}).get("user_ids", []):
                if user_id in keep:
                    continue
                user = await users.repo.get(user_id)
                if user is not None and user.status is UserStatus.ACTIVE:
                    await users.repo.update(
                        user, {"status": UserStatus.DISABLED.value, "updated_at": self.now()}
                    )
                    disabled.append(user_id)
            stored = await self.records.update(
                models.ROSTERS,
                roster["id"],
                {
                    "state": "issued",
                    "issued_at": self.now(),
                    "user_ids": sorted(keep),
                    "disabled_user_ids": disabled,
                },
                int(roster["version"]),
            )
            await self.audit.record(
                "system:billing",
                "billing.ids_issued",
                source,
                before=roster,
                after=stored,
                detail={"issued": len(keep), "disabled": len(disabled)},
            )
            await notify_org(
                self.container,
                org_id=org_id,
                kind="billing.ids_issued",
                source=source,
                title=f"{fy}年度の発注者IDを発行しました",
                url="/billing",
                context={"count": len(keep)},
            )
