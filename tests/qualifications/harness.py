"""A world for the qualification tests, built through the API as people would, on the app
exactly as ``create_app`` builds it (embedded backends, eager jobs), with real sign-ins.

The round follows seed 004: 平成31・32年度 当初申請, filing 2018-11-01 to 11-22 on weekdays
9:00-17:00, papers by 11-30, corrections until 11-30, an additional period 12-10 to 12-14,
経審 with a base date on or after 2017-04-01; targets 広島県 (the host of the common papers),
呉市, 福山市 and 世羅町; 広島市 excluded (第1 1). The clock is a file the test moves
(``KURA_TEST_CLOCK_FILE``, the same switch the browser tests use).

People: ``kasuga`` (春日建設, holds ``qualifications.apply``), ``kasuga_plain`` (same company, no
grant), ``seto`` (another contractor, holds the grant), ``pref``/``kure``/``fuku``/``sera``
(each municipality's receiver, ``qualifications.receive``), ``pref_plain`` (広島県, no grant),
``ono`` (尾道市: a receiver of a municipality outside the round), ``operator``.
"""

from __future__ import annotations

import base64
import csv
import io
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from stdnum.jp import cn

from api.app import create_app
from api.config import Settings
from api.container import Container
from api.users.bootstrap import ADMIN_LOGIN_ID, ensure_operator
from tests.support.perms import API, Actor, World, _client, _ok, _signed_in

TUS = {"Tus-Resumable": "1.0.0"}
# 2018-11-05 (Monday) 10:00 JST
OPEN = datetime(2018, 11, 5, 1, 0, tzinfo=UTC)
ORGS: dict[str, tuple[str, str | None]] = {
    "pref": ("広島県", "34000001"),
    "kure": ("呉市", "34202001"),
    "fuku": ("福山市", "34207001"),
    "sera": ("世羅町", "34462001"),
    "ono": ("尾道市", "34205001"),
    "kasuga": ("春日建設株式会社", None),
    "seto": ("瀬戸内工業株式会社", None),
}
USERS: dict[str, tuple[str, tuple[str, ...]]] = {
    "kasuga": ("kasuga", ("qualifications.apply",)),
    "kasuga_plain": ("kasuga", ()),
    "seto": ("seto", ("qualifications.apply",)),
    "pref": ("pref", ("qualifications.receive",)),
    "pref_plain": ("pref", ()),
    "kure": ("kure", ("qualifications.receive",)),
    "fuku": ("fuku", ("qualifications.receive",)),
    "sera": ("sera", ("qualifications.receive",)),
    "ono": ("ono", ("qualifications.receive",)),
}
CODES = {"pref": "34000", "kure": "34202", "fuku": "34207", "sera": "34462"}
# A 法人番号 made with python-stdnum (the oracle; the module uses its own implementation).
CORPORATE_NUMBER = cn.calc_check_digit("240001012345") + "240001012345"
# 経審: X1=900, X2=800, Y=850, Z=900, W=1000 → P = 225+120+170+225+150 = 890 (by hand).
REVIEW_HEADER = [
    "許可行政庁コード", "許可番号", "商号又は名称", "審査基準日", "結果通知日", "業種", "許可区分",
    "X1", "X2", "Y", "Z", "W", "総合評定値P", "一級技術職員数", "二級技術職員数",
    "その他技術職員数", "平均完成工事高", "雇用保険", "健康保険", "厚生年金保険", "ISO14001",
]  # fmt: skip
REVIEW_ROWS = [
    ["34", "12345", "（株）春日建設", "2018-03-31", "2018-07-20", "土木一式工事", "特定",
     "900", "800", "850", "900", "1000", "890", "5", "8", "3", "450000", "有", "有", "有", "無"],
    ["34", "12345", "（株）春日建設", "2018-03-31", "2018-07-20", "舗装工事", "一般",
     "", "", "", "", "", "812", "2", "4", "1", "120000", "有", "有", "有", "無"],
    ["34", "12345", "（株）春日建設", "2018-03-31", "2018-07-20", "プレストレストコンクリート工事",
     "特定", "", "", "", "", "", "805", "1", "2", "0", "30000", "有", "有", "有", "無"],
    ["27", "98765", "瀬戸内工業（株）", "2018-03-31", "2018-06-01", "管工事", "一般",
     "", "", "", "", "", "700", "1", "1", "1", "50000", "有", "有", "有", "有"],
]  # fmt: skip


def review_csv(rows: list[list[str]] | None = None, encoding: str = "utf-8-sig") -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(REVIEW_HEADER)
    writer.writerows(REVIEW_ROWS if rows is None else rows)
    return out.getvalue().encode(encoding)


def round_body(ids: dict[str, str], **over: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "code": "H31",
        "name": "平成31・32年度 建設工事等入札参加資格審査（当初申請）",
        "prefecture": "34",
        "filing_start": "2018-11-01",
        "filing_end": "2018-11-22",
        "paper_deadline": "2018-11-30",
        "correction_deadline": "2018-11-30",
        "additional_start": "2018-12-10",
        "additional_end": "2018-12-14",
        "review_base_from": "2017-04-01",
        "paper_address": (
            "〒730-8511 広島市中区基町10-52 広島県土木建築局建設産業課入札制度グループ"
        ),
        "targets": [
            {"code": "34000", "org_id": ids["pref"]},
            {"code": "34202", "org_id": ids["kure"], "own_documents": ["使用印鑑届"]},
            {
                "code": "34207",
                "org_id": ids["fuku"],
                "own_documents": ["委任状", "営業所一覧表"],
                "own_documents_note": "福山市契約課へ郵送",
            },
            {"code": "34462", "org_id": ids["sera"]},
        ],
        "excluded": [{"code": "34100", "note": "広島市は独自に受け付けます。"}],
        "published": True,
    }
    body.update(over)
    return body


def valid_values(targets: list[str] | None = None) -> dict[str, Any]:
    """A filing of 春日建設 (main office in 福山市) with every rule of the guide met: two
    offices in the prefecture, 土木一式 + PC (its base) + 舗装, the e-tax certificate."""
    office = {
        "name_kana": "クレシテン",
        "name": "呉支店",
        "rep_title": "支店長",
        "rep_name": "髙橋\u3000一郎",
        "postal_code": "737-0051",
        "city_code": "34202",
        "address": "中央３－１－１",
        "building": "",
        "phone": "0823-21-0001",
        "fax": "",
        "email": "",
        "email_kind": "",
        "categories": ["01", "13"],
        "eco": "no",
    }
    return {
        "targets": targets if targets is not None else ["34000", "34202", "34207"],
        "no_tax": [],
        "company": {
            "kind": "corporation",
            "corporate_number": CORPORATE_NUMBER,
            "name_kana": "カスガケンセツ",
            "name": "（株）春日建設",
            "rep_title": "代表取締役",
            "rep_name": "山﨑\u3000𠮷男",
            "postal_code": "720-0032",
            "city_code": "34207",
            "address": "三吉町南２－１１－２２",
            "building": "春日ビル３階",
            "permit": {"authority": "34", "number": "12345", "date": "2016-04-01"},
            "former_permit": {"authority": "", "number": "", "changed_on": "", "reason": ""},
            "phone": "084-921-0000",
            "fax": "084-921-0001",
            "email": "nyusatsu@kasuga.example.jp",
            "email_kind": "company",
            "local_offices": "yes",
            "kensaibou": "yes",
            "contact": {
                "department": "総務部",
                "name": "春日\u3000花子",
                "phone": "084-921-0002",
                "fax": "",
                "email": "hanako@kasuga.example.jp",
            },
        },
        "points": {
            "cpds_units": "120",
            "kenchiku_cpd": {},
            "zouen_cpd_units": "",
            "disability": "yes",
            "disaster": "no",
            "adopt": "yes",
            "family_support": "no",
            "work_style": "no",
            "eco": "ea21",
            "eco_date": "2015-06-01",
            "fire_brigade": "no",
            "cooperating": "employer",
            "street_tree": "no",
        },
        "review": {
            "permit": {"authority": "", "number": ""},
            "base_date": "2018-03-31",
            "insurance": {"employment": "有", "health": "有", "pension": "有"},
            "iso14001": "無",
            "categories": {
                "01": {
                    "permit_kind": "special",
                    "p": "890",
                    "staff1": "5",
                    "staff2": "8",
                    "staff_other": "3",
                    "average": "450000",
                },
                "01p": {
                    "permit_kind": "special",
                    "p": "805",
                    "staff1": "1",
                    "staff2": "2",
                    "staff_other": "0",
                    "average": "30000",
                },
                "13": {
                    "permit_kind": "general",
                    "p": "812",
                    "staff1": "2",
                    "staff2": "4",
                    "staff_other": "1",
                    "average": "120000",
                },
            },
        },
        "offices": {
            "mode": "list",
            "items": [
                office,
                {
                    **office,
                    "name_kana": "ミハラエイギョウショ",
                    "name": "三原営業所",
                    "rep_name": "佐藤\u3000次郎",
                    "postal_code": "723-0014",
                    "city_code": "34204",
                    "address": "城町１－２－３",
                    "phone": "0848-62-0001",
                    "categories": ["13"],
                },
            ],
        },
        "attachment": {"id": "", "title": "", "checked": False},
    }


@dataclass
class QualWorld:
    world: World
    clock_file: Path
    ids: dict[str, str]
    round_id: str = ""

    @property
    def container(self) -> Container:
        return self.world.container

    def client(self, name: str) -> httpx.AsyncClient:
        return self.world.client(name)

    def at(self, when: datetime) -> None:
        """Move the server's clock (``KURA_TEST_CLOCK_FILE``)."""
        self.clock_file.write_text(when.isoformat())

    async def call(self, who: str, method: str, path: str, status: int = 200, **kw: Any) -> Any:
        r = await self.client(who).request(method, API + path, **kw)
        assert r.status_code == status, (method, path, who, r.status_code, r.text[:600])
        if r.headers.get("content-type", "").startswith(
            ("application/json", "application/problem")
        ):
            return r.json()
        return r

    async def upload(self, who: str, name: str, data: bytes, ctype: str) -> str:
        """A staged attachment through the shared tus uploads (organization scope)."""
        meta = ",".join(
            f"{k} {base64.b64encode(v.encode()).decode()}"
            for k, v in {"filename": name, "filetype": ctype}.items()
        )
        r = await self.client(who).post(
            f"{API}/attachments/uploads",
            content=data,
            headers={
                **TUS,
                "Upload-Length": str(len(data)),
                "Upload-Metadata": meta,
                "Content-Type": "application/offset+octet-stream",
            },
        )
        assert r.status_code == 201, r.text
        return str(r.headers["Kura-Attachment-Id"])

    async def import_reviews(self, data: bytes | None = None, name: str = "keishin.csv") -> Any:
        aid = await self.upload("operator", name, data or review_csv(), "text/csv")
        return await self.call(
            "operator",
            "POST",
            "/qualifications/review-sets",
            201,
            json={
                "attachment_id": aid,
                "source": "国土交通省 経営事項審査結果",
                "as_of": "2018-10-31",
            },
        )

    async def draft(self, who: str = "kasuga", start: str = "last") -> dict[str, Any]:
        r = await self.client(who).post(
            f"{API}/qualifications/rounds/{self.round_id}/draft", json={"start": start}
        )
        assert r.status_code in (200, 201), r.text
        found: dict[str, Any] = r.json()
        return found

    async def save(
        self,
        draft: dict[str, Any],
        values: dict[str, Any],
        who: str = "kasuga",
        step: str = "entry",
    ) -> dict[str, Any]:
        saved: dict[str, Any] = await self.call(
            who,
            "PATCH",
            f"/qualifications/drafts/{draft['id']}",
            json={"version": draft["version"], "step": step, "values": values},
        )
        return saved

    async def nouzei(self, draft: dict[str, Any], who: str = "kasuga") -> dict[str, Any]:
        aid = await self.upload(
            who, "nouzei.xml", b"<?xml version='1.0'?><NOUZEI>e-Tax</NOUZEI>", "application/xml"
        )
        return await self.save(
            draft,
            {"attachment": {"id": aid, "title": "nouzei", "checked": True}},
            who,
            "attachment",
        )

    async def send(
        self, draft: dict[str, Any], status: int = 200, who: str = "kasuga", **body: Any
    ) -> Any:
        return await self.call(
            who,
            "POST",
            f"/qualifications/drafts/{draft['id']}/send",
            status,
            json={"version": draft["version"], **body},
        )

    async def filed(self, who: str = "kasuga") -> dict[str, Any]:
        """A complete, accepted filing of ``valid_values``."""
        draft = await self.draft(who)
        draft = await self.save(draft, valid_values(), who)
        draft = await self.nouzei(draft, who)
        filed: dict[str, Any] = await self.send(draft, who=who)
        return filed


@asynccontextmanager
async def qual_world(
    settings: Settings, tmp_path: Path, *, reviews: bool = True
) -> AsyncIterator[QualWorld]:
    clock_file = tmp_path / "clock.txt"
    clock_file.write_text(OPEN.isoformat())
    settings = settings.model_copy(update={"test_clock_file": clock_file})
    app = create_app(settings)
    async with AsyncExitStack() as stack:
        await stack.enter_async_context(app.router.lifespan_context(app))
        container: Container = app.state.container
        first = await ensure_operator(container)
        assert first is not None
        operator, admin = await _signed_in(stack, app, ADMIN_LOGIN_ID, first)
        ids: dict[str, str] = {}
        for key, (name, code) in ORGS.items():
            body: dict[str, Any] = {
                "kind": "contractor" if code is None else "orderer",
                "name": name,
            }
            if code:
                body["code"] = code
            created = await _ok(await operator.post(f"{API}/organizations", json=body), 201)
            ids[key] = str(created["id"])
        world = World(
            app=app,
            container=container,
            anonymous=await stack.enter_async_context(_client(app)),
            operator=operator,
            orgs=ids,
            office="",
        )
        world.actors["operator"] = Actor(ADMIN_LOGIN_ID, admin["id"], admin["org_id"], operator)
        for login_id, (org_key, grants) in USERS.items():
            made = await _ok(
                await operator.post(
                    f"{API}/users",
                    json={"login_id": login_id, "name": f"{login_id} 太郎", "org_id": ids[org_key]},
                ),
                201,
            )
            user_id = str(made["user"]["id"])
            for grant in grants:
                await _ok(
                    await operator.post(f"{API}/users/{user_id}/grants", json={"grant": grant}), 201
                )
            client, _ = await _signed_in(stack, app, login_id, made["initial_password"])
            world.actors[login_id] = Actor(login_id, user_id, ids[org_key], client)
        q = QualWorld(world, clock_file, ids)
        created_round = await q.call(
            "operator", "POST", "/qualifications/rounds", 201, json=round_body(ids)
        )
        q.round_id = str(created_round["id"])
        if reviews:
            await q.import_reviews()
        yield q
