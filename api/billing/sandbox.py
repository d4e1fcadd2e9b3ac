"""The trial environment (seed 000 利用検討: 試行環境の提供): a sandbox organization with sample
data that cannot reach production data, reset on demand.

Design: a sandbox is a pair of organizations flagged ``sandbox: true`` (a municipality and a
contractor) with their own trial user, sample works, agreement, request and invoice. Kura's
access rules already confine every user to their organization and the works they are members
of; the sandbox adds the boundary the other way round:
- the works registry refuses to put a sandbox organization's users or contractors on a
  production work and vice versa (``api.works.service.same_scope``, ``members``), so no
  sandbox user can become a reader of production data, and no production user of sandbox data;
- billing never bills or counts a sandbox: invoice runs skip sandbox agreements, the sample
  invoice carries ``sandbox: true`` and no fiscal-year totals, and every operator list and
  report leaves sandbox records out;
- reset deletes only records whose organization is a sandbox one (refused with 409 for any
  other), then seeds the sample data again; the trial user keeps its login.
"""

from __future__ import annotations

import secrets
from datetime import date, timedelta
from typing import Any

from api.archive.cas import ContentStore
from api.archive.models import NODES, NodeKind, content_scope
from api.billing import models
from api.billing.accounts import CREDENTIALS
from api.billing.applications import SYSTEM
from api.billing.base import Base
from api.billing.invoices import build, line
from api.billing.models import AgreementState, InvoiceKind
from api.billing.permissions import GRANT
from api.billing.rules import fiscal_year, fiscal_year_end, fiscal_year_start
from api.errors import Conflict, DuplicateError, NotFoundError
from api.kit.ids import new_id
from api.organizations.schemas import OrganizationCreate
from api.organizations.service import OrganizationService
from api.permissions.policy import OrgKind, Subject, WorkRole
from api.users.schemas import UserCreate
from api.users.service import UserService
from api.works.lifecycle import WORK_RECORDS
from api.works.members import MemberService
from api.works.models import WorkStatus
from api.works.schemas import WorkCreate
from api.works.service import WorkService
from storage.query import Eq, Record

TRIAL_GRANTS = (GRANT, "works.create", "works.manage", "works.read_org")
_BILLING_BY_ORG = (
    models.AGREEMENTS,
    models.REQUESTS,
    models.APPLICATIONS,
    models.INVOICES,
    models.PAYMENTS,
    models.ROSTERS,
    CREDENTIALS,
)


class NotSandbox(Conflict):
    code = "not_sandbox"
    title = "試行環境ではない組織はリセットできません。"


class Sandboxes(Base):
    async def create(self, subject: Subject | None, name: str, login_id: str) -> dict[str, Any]:
        """A new trial environment; the trial user's one-time password is in this answer
        only (shown once to the operator, never mailed)."""
        self.policy.require(subject, "billing.operate")
        assert subject is not None
        orgs = OrganizationService(self.records, self.container.uow, self.policy, self.clock)
        async with self.container.uow():
            for _ in range(10):
                try:
                    municipality = await orgs.create(
                        subject,
                        OrganizationCreate(
                            kind=OrgKind.ORDERER,
                            name=f"【試行】{name}",
                            code="99" + "".join(secrets.choice("0123456789") for _ in range(6)),
                        ),
                    )
                    break
                except DuplicateError:
                    continue
            else:
                raise Conflict("試行用の発注者コードを採番できませんでした。")
            contractor = await orgs.create(
                subject, OrganizationCreate(kind=OrgKind.CONTRACTOR, name=f"【試行】{name} 受注者")
            )
            for org in (municipality, contractor):
                fresh = await self.org(org["id"])
                await self.records.update(
                    "organizations",
                    org["id"],
                    {"sandbox": True, "sandbox_pair": municipality["id"]},
                    int(fresh["version"]),
                )
            user, password = await UserService.of(self.container).create_as(
                subject,
                UserCreate(login_id=login_id, name=f"{name} 試行利用者", org_id=municipality["id"]),
            )
            for grant in TRIAL_GRANTS:
                await self.records.insert(
                    "grants",
                    {
                        "id": f"{user.id}:{grant}",
                        "user_id": user.id,
                        "org_id": municipality["id"],
                        "grant": grant,
                        "granted_by": subject.user_id,
                        "granted_at": self.now(),
                    },
                )
            await self._seed(municipality["id"], contractor["id"], user.id)
            await self.audit.record(
                subject,
                "billing.sandbox_created",
                f"organizations/{municipality['id']}",
                detail={"contractor": contractor["id"], "trial_user": user.id},
            )
        return {
            "org_id": municipality["id"],
            "contractor_org_id": contractor["id"],
            "login_id": user.login_id,
            "one_time_password": password,
        }

    async def reset(self, subject: Subject | None, org_id: str) -> dict[str, int]:
        """Delete the sandbox's data and seed the samples again (sandboxes only)."""
        self.policy.require(subject, "billing.operate")
        org = await self.records.get("organizations", org_id) if len(org_id) < 64 else None
        if org is None:
            raise NotFoundError("組織が見つかりません。")
        if not org.get("sandbox") or org.get("kind") != OrgKind.ORDERER:
            raise NotSandbox()
        contractor_id = None
        async for other in self.records.scan("organizations", (Eq("sandbox_pair", org_id),)):
            if other["id"] != org_id and other.get("sandbox"):
                contractor_id = other["id"]
        scope = [org_id, *([contractor_id] if contractor_id else [])]
        counts: dict[str, int] = {}
        async with self.container.uow() as uow:
            for collection in _BILLING_BY_ORG:
                for owner in scope:
                    async for rec in self.records.scan(collection, (Eq("org_id", owner),)):
                        await self.records.delete(collection, rec["id"], None)
                        counts[collection] = counts.get(collection, 0) + 1
            for owner in scope:
                async for doc in self.records.scan(models.DOCUMENTS, (Eq("org_ids", owner),)):
                    await self.records.delete(models.DOCUMENTS, doc["id"], None)
                    counts["documents"] = counts.get("documents", 0) + 1
            async for key in self.records.scan(models.KEYS):
                if any(owner in str(key["id"]) for owner in scope):
                    await self.records.delete(models.KEYS, key["id"], None)
            works = [w async for w in self.records.scan("works", (Eq("orderer_org_id", org_id),))]
            cas = ContentStore(self.records, self.container.blobs, self.clock)
            for work in works:
                for name in WORK_RECORDS:
                    async for rec in self.records.scan(name, (Eq("work_id", work["id"]),)):
                        await self.records.delete(name, rec["id"], None)
                async for node in self.records.scan(NODES, (Eq("work_id", work["id"]),)):
                    await self.records.delete(NODES, node["id"], None)
                    if node.get("kind") == NodeKind.FILE and node.get("sha256"):
                        await cas.release(content_scope(node), str(node["sha256"]), uow)
                    uow.unindex(str(node["id"]))
                async for member in self.records.scan("work_members", (Eq("work_id", work["id"]),)):
                    await self.records.delete("work_members", member["id"], None)
                await self.records.delete("works", work["id"], None)
                uow.unindex(str(work["id"]))
            counts["works"] = len(works)
            trial = [u async for u in self.records.scan("users", (Eq("org_id", org_id),))]
            trial_user = min(trial, key=lambda u: u.get("created_at", ""))["id"] if trial else None
            if contractor_id and trial_user:
                await self._seed(org_id, contractor_id, trial_user)
            await self.audit.record(
                subject, "billing.sandbox_reset", f"organizations/{org_id}", detail=counts
            )
        return counts

    async def find(self, subject: Subject | None) -> list[Record]:
        self.policy.require(subject, "billing.operate")
        return [
            o
            async for o in self.records.scan("organizations", (Eq("kind", "orderer"),))
            if o.get("sandbox")
        ]

    async def _seed(self, org_id: str, contractor_id: str, user_id: str) -> None:
        """Sample data: an active agreement, two works (one running with the contractor),
        an approved request and an annual invoice marked as sample."""
        today = self.today()
        fy = fiscal_year(today)
        org = await self.org(org_id)
        agreement: Record = {
            "id": new_id(),
            "org_id": org_id,
            "org_name": org["name"],
            "sandbox": True,
            "state": AgreementState.ACTIVE.value,
            "systems": ["archive", "collab"],
            "starts_on": fiscal_year_start(fy).isoformat(),
            "number": f"試行-{fy}",
            "first_term_ends_on": fiscal_year_end(fy).isoformat(),
            "anchor": (fiscal_year_end(fy) + timedelta(days=1)).isoformat(),
            "term_ends_on": fiscal_year_end(fy).isoformat(),
            "renewals": 0,
            "termination_notice_by": date(fy + 1, 2, 15).isoformat(),
            "renewal_declaration_by": date(fy + 1, 2, 28).isoformat(),
            "access_before_payment": "none",
            "fees": [],
            "contact": {},
            "created_at": self.now(),
            "updated_at": self.now(),
        }
        await self.records.insert(models.AGREEMENTS, agreement)
        works = WorkService.of(self.container)
        members = MemberService(works)
        samples = [
            ("見本 市道１号線舗装補修工事", "試行-001", [contractor_id]),
            ("見本 河川護岸点検業務", "試行-002", []),
        ]
        for title, number, contractors in samples:
            work = await works.create(
                SYSTEM,
                WorkCreate.model_validate(
                    {
                        "kind": "construction",
                        "title": title,
                        "number": number,
                        "orderer_org_id": org_id,
                        "contractor_org_ids": contractors,
                        "location": {
                            "address": "試行環境（架空の場所）",
                            "municipality_code": "34100",
                        },
                        "period_start": fiscal_year_start(fy).isoformat(),
                        "period_end": (fiscal_year_start(fy) + timedelta(days=180)).isoformat(),
                    }
                ),
            )
            await members.add(SYSTEM, work["id"], user_id, WorkRole.SUPERVISOR)
            if contractors:
                fresh = await works.repo.get(work["id"])
                assert fresh is not None
                await works.transition(
                    SYSTEM, work["id"], WorkStatus.IN_PROGRESS, int(fresh["version"])
                )
        invoice = build(
            key=f"sandbox:{fy}:{org_id}",
            kind=InvoiceKind.ANNUAL,
            number=f"見本-{fy}-{org_id}",
            org={"id": org_id, "name": org["name"]},
            issue_date=fiscal_year_start(fy),
            due_date=date(fy, 6, 30),
            service_from=fiscal_year_start(fy),
            service_to=fiscal_year_end(fy),
            lines=[
                line(
                    "collab_annual",
                    "情報共有システム利用料（年額・見本）",
                    1,
                    120000,
                    "10",
                    unit="年",
                )
            ],
            tariff_id=None,
            issuer=await self.profile(),
            source=None,
            fy=fy,
            now=self.now(),
        )
        invoice["id"] = new_id()
        invoice["sandbox"] = True
        await self.records.insert(models.INVOICES, invoice)
