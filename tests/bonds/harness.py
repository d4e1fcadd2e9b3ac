"""A world for the bond tests: the app exactly as ``create_app`` builds it on the embedded
backends, a fixed clock (2026-06-01 10:00 JST), the test PKI as the configured trust anchors
and CRLs, and the people of one tender:

- ``ISSUER`` 東日本建設業保証 (issuer; ``bonds.issue`` + ``bonds.certificates``)
- ``ISSUER_PLAIN`` same issuer, no grant; ``ISSUER_B`` 西日本損保 (another issuer)
- ``BUILDER`` 春日建設 (contractor, the obligor; ``bonds.read``), ``BUILDER_PLAIN`` no grant,
  ``RIVAL`` 瀬戸内建設 (another contractor; ``bonds.read``)
- ``CLERK`` 福山市 (orderer, the obligee; ``bonds.read`` + ``works.create``), ``PRIVILEGED``
  (``bonds.read`` + ``bonds.unseal``: 一部の権限者), ``KEEPER`` (``bonds.securities``),
  ``ORDERER_PLAIN`` no grant, ``STRANGER`` 尾道市 (another orderer with every grant)
- ``OPERATOR``

``who.subject`` replaces the signed-in subject (``tests.works.harness.serve``); the
permission matrix (``test_permissions``) signs in for real.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from api.app import create_app
from api.bonds.offline import sign_tbs
from api.bonds.signers import KeySigner
from api.config import BondSettings, Settings
from api.container import Container
from api.kit.clock import FixedClock
from api.kit.ids import new_id
from api.permissions.policy import OrgKind, Subject
from storage.query import Eq, Query
from tests.bonds.pki import Pki
from tests.works.harness import Harness as BaseHarness
from tests.works.harness import serve
from workers.celery_app import set_container

ISSUER_ORG = new_id()
ISSUER_B_ORG = new_id()
BUILDER_ORG = new_id()
RIVAL_ORG = new_id()
ORDERER_ORG = new_id()
OTHER_ORDERER_ORG = new_id()
OPERATOR_ORG = new_id()
API = "/api/v1"
START = datetime(2026, 6, 1, 1, 0, tzinfo=UTC)  # Monday 10:00 JST
OPENING = "2026-06-10T01:00:00Z"  # 開札日時 10:00 JST
ALL_BOND_GRANTS = (
    "bonds.issue",
    "bonds.certificates",
    "bonds.read",
    "bonds.unseal",
    "bonds.securities",
)


def _subject(login: str, org: str, kind: OrgKind, *grants: str) -> Subject:
    return Subject(
        user_id=new_id(), login_id=login, org_id=org, org_kind=kind, grants=frozenset(grants)
    )


ISSUER = _subject("issuer", ISSUER_ORG, OrgKind.ISSUER, "bonds.issue", "bonds.certificates")
ISSUER_PLAIN = _subject("issuer-plain", ISSUER_ORG, OrgKind.ISSUER)
ISSUER_B = _subject("issuer-b", ISSUER_B_ORG, OrgKind.ISSUER, "bonds.issue", "bonds.certificates")
BUILDER = _subject("builder", BUILDER_ORG, OrgKind.CONTRACTOR, "bonds.read")
BUILDER_PLAIN = _subject("builder-plain", BUILDER_ORG, OrgKind.CONTRACTOR)
RIVAL = _subject("rival", RIVAL_ORG, OrgKind.CONTRACTOR, "bonds.read")
CLERK = _subject(
    "clerk", ORDERER_ORG, OrgKind.ORDERER, "bonds.read", "works.create", "works.manage"
)
PRIVILEGED = _subject("privileged", ORDERER_ORG, OrgKind.ORDERER, "bonds.read", "bonds.unseal")
KEEPER = _subject("keeper", ORDERER_ORG, OrgKind.ORDERER, "bonds.securities", "bonds.read")
ORDERER_PLAIN = _subject("orderer-plain", ORDERER_ORG, OrgKind.ORDERER)
STRANGER = _subject("stranger", OTHER_ORDERER_ORG, OrgKind.ORDERER, *ALL_BOND_GRANTS)
OPERATOR = _subject("op", OPERATOR_ORG, OrgKind.OPERATOR, *ALL_BOND_GRANTS)
NAMES = {
    ISSUER: "保証 一郎",
    ISSUER_PLAIN: "保証 二郎",
    ISSUER_B: "損保 三郎",
    BUILDER: "春日 太郎",
    BUILDER_PLAIN: "春日 次郎",
    RIVAL: "瀬戸 四郎",
    CLERK: "契約 五郎",
    PRIVILEGED: "権限 六子",
    KEEPER: "出納 七郎",
    ORDERER_PLAIN: "一般 八郎",
    STRANGER: "他市 九郎",
    OPERATOR: "運用 管理者",
}


def bond_settings(settings: Settings, pki: Pki, **over: Any) -> Settings:
    return settings.model_copy(
        update={
            "bonds": BondSettings(trust_anchors=[pki.anchor_file], crl_files=pki.crl_files, **over)
        }
    )


def bond_body(**over: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "kind": "bid_bond",
        "certificate_no": f"EJ-{new_id()[-8:]}",
        "obligor_org_id": BUILDER_ORG,
        "obligee_org_id": ORDERER_ORG,
        "work_number": "R8-BOND-001",
        "work_title": "福山市春日町2丁目ほか道路標示工事",
        "amount": 1_309_100,
        "period_start": "2026-06-01",
        "period_end": "2026-07-31",
        "premium": 12_000,
        "conditions": "入札保証（契約保証の予約）",
        "issued_on": "2026-05-28",
        "opening_at": OPENING,
    }
    body.update(over)
    return body


@dataclass
class Harness(BaseHarness):
    clock: FixedClock = field(default_factory=lambda: FixedClock(START))
    pki: Pki | None = None
    work_id: str = ""

    async def ok(
        self, subject: Subject | None, method: str, url: str, status: int = 200, **kw: Any
    ) -> Any:
        r = await self.call(subject, method, API + url, **kw)
        assert r.status_code == status, (method, url, r.status_code, r.text)
        ctype = r.headers.get("content-type", "")
        return r.json() if r.content and "json" in ctype and "statuslist" not in ctype else r

    async def certificate(self, who: Subject = ISSUER, ident: Any = None) -> dict[str, Any]:
        assert self.pki is not None
        identity = ident or self.pki.ec
        found: dict[str, Any] = await self.ok(
            who, "POST", "/bonds/certificates", 201, json={"chain_pem": identity.chain_pem}
        )
        return found

    async def register(self, who: Subject = ISSUER, **over: Any) -> dict[str, Any]:
        bond: dict[str, Any] = await self.ok(who, "POST", "/bonds", 201, json=bond_body(**over))
        return bond

    async def sign(
        self, bond_id: str, signer: KeySigner | None = None, who: Subject = ISSUER
    ) -> str:
        """The issuer downloads the TBS file, signs it (as ``kura bond sign``), uploads it;
        returns the key file text."""
        assert self.pki is not None
        r = await self.ok(who, "GET", f"/bonds/{bond_id}/keys/tbs")
        text = sign_tbs(r, signer or self.pki.ec.signer())
        await self.ok(who, "POST", f"/bonds/{bond_id}/keys", json={"key": text})
        return text

    async def download(self, bond_id: str, who: Subject = BUILDER) -> str:
        r = await self.call(who, "GET", f"{API}/bonds/{bond_id}/key")
        assert r.status_code == 200, r.text
        return r.text

    async def signed_bond(self, **over: Any) -> tuple[dict[str, Any], str]:
        """A registered, signed bond and the key file the contractor downloads."""
        bond = await self.register(**over)
        await self.sign(bond["id"])
        signed: dict[str, Any] = await self.ok(ISSUER, "GET", f"/bonds/{bond['id']}")
        return signed, await self.download(bond["id"])

    async def present(self, key: str, who: Subject = CLERK, status: int = 200) -> Any:
        return await self.ok(who, "POST", "/bonds/open", status, json={"key": key})

    async def audit(self, action: str) -> list[dict[str, Any]]:
        page = await self.container.records.find(
            "audit_events", Query(where=(Eq("action", action),), sort=(("seq", 1),), limit=1000)
        )
        return page.items


async def seed(container: Container) -> str:
    records = container.records
    for org_id, kind, name in (
        (ISSUER_ORG, "issuer", "東日本建設業保証株式会社"),
        (ISSUER_B_ORG, "issuer", "西日本損害保険株式会社"),
        (BUILDER_ORG, "contractor", "春日建設株式会社"),
        (RIVAL_ORG, "contractor", "瀬戸内建設株式会社"),
        (ORDERER_ORG, "orderer", "福山市"),
        (OTHER_ORDERER_ORG, "orderer", "尾道市"),
        (OPERATOR_ORG, "operator", "運用"),
    ):
        await records.insert("organizations", {"id": org_id, "kind": kind, "name": name})
    for s, name in NAMES.items():
        await records.insert(
            "users",
            {
                "id": s.user_id,
                "login_id": s.login_id,
                "org_id": s.org_id,
                "name": name,
                "status": "active",
                "email": f"{s.login_id}@example.jp",
            },
        )
    work_id = new_id()
    await records.insert(
        "works",
        {
            "id": work_id,
            "kind": "construction",
            "title": "福山市春日町2丁目ほか道路標示工事",
            "number": "R8-BOND-001",
            "orderer_org_id": ORDERER_ORG,
            "contractor_org_ids": [BUILDER_ORG],
            "location": {
                "address": "広島県福山市春日町2丁目2番56号先",
                "municipality_code": "34207",
            },
            "period_start": "2026-06-15",
            "period_end": "2026-08-31",
            "status": "registered",
            "created_by": CLERK.user_id,
            "created_at": "2026-05-12T00:00:00.000000Z",
            "updated_at": "2026-05-12T00:00:00.000000Z",
            "acl": [f"orgread:{ORDERER_ORG}"],
        },
    )
    return work_id


@asynccontextmanager
async def harness(settings: Settings, pki: Pki) -> AsyncIterator[Harness]:
    clock = FixedClock(START)
    container = Container(bond_settings(settings, pki), clock=clock)
    await container.open()
    set_container(container)
    try:
        work_id = await seed(container)
        async with serve(container, create_app(container=container), Harness) as h:
            h.clock = clock
            h.pki = pki
            h.work_id = work_id
            yield h
    finally:
        set_container(None)
        await container.close()


def pki_folder(tmp: Path) -> Path:
    return tmp / "pki"
