"""Sealing until 開札日時 on every endpoint, both sides of the boundary (F01<1>-<3>, issue 11 §3).

一部の権限者を除き、開札日時より前は、ボンドが発行されていることのみを確認することを原則とする
(F01<1>, <2>, <3>); 開札日時以後は、ボンドの内容すべてを確認可能とする (F01<2>); ボンドの内容確認
は有効な認証キーを必須とする (F01<1>). The same rule holds in search, lists, exports, counts,
audit views and error messages: a fixed clock is moved across the bond's own 開札日時 and every
endpoint is called on both sides, by every kind of reader. Before opening, no answer holds the
amount, the certificate number, the conditions or the issuer; after it, the orderer holding
a valid key sees them all.
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from api.kit.ids import new_id
from api.permissions.policy import OrgKind, Subject
from tests.bonds.harness import (
    BUILDER,
    CLERK,
    ISSUER,
    ISSUER_B,
    KEEPER,
    ORDERER_ORG,
    PRIVILEGED,
    RIVAL,
    STRANGER,
    Harness,
)

pytestmark = pytest.mark.anyio

AMOUNT = 7_654_321
CONDITIONS = "特約：再入札時は増減額を徴収"
AUDITOR = Subject(
    user_id=new_id(),
    login_id="auditor",
    org_id=ORDERER_ORG,
    org_kind=OrgKind.ORDERER,
    grants=frozenset({"audit.read", "bonds.read"}),
)
OPENING = datetime(2026, 6, 10, 1, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Call:
    label: str
    method: str
    path: str  # over {bond}, {work}
    who: Subject
    keyed: bool = False  # send the key file as {"key": ...}
    # expected status before / after opening, and whether contents may show after
    before: int = 200
    after: int = 200
    shows_after: bool = False
    shows_before: bool = False
    # The issuer's name is sealed too, except where the caller holds the key (the key file
    # names its signer: the x5c certificate and the payload) or reads the published list of
    # issuers' certificates.
    issuer_sealed: bool = True


CALLS = [
    # the orderer (obligee) without the privilege
    Call("list", "GET", "/bonds", CLERK),
    Call("list by opening time", "GET", "/bonds?sort=opening_at&order=asc&state=all", CLERK),
    Call("list of the work", "GET", "/bonds?work_id={work}", CLERK),
    Call("export", "GET", "/bonds/export.csv", CLERK),
    Call("detail without key", "GET", "/bonds/{bond}", CLERK),
    Call("revisions", "GET", "/bonds/{bond}/revisions", CLERK),
    Call(
        "open with key",
        "POST",
        "/bonds/open",
        CLERK,
        keyed=True,
        shows_after=True,
        issuer_sealed=False,
    ),
    Call(
        "open this bond",
        "POST",
        "/bonds/{bond}/open",
        CLERK,
        keyed=True,
        shows_after=True,
        issuer_sealed=False,
    ),
    Call(
        "copy with key",
        "POST",
        "/bonds/{bond}/copy",
        CLERK,
        keyed=True,
        before=409,
        shows_after=True,
    ),
    Call("copy without key", "GET", "/bonds/{bond}/copy.pdf", CLERK, before=403, after=403),
    Call("key download", "GET", "/bonds/{bond}/key", CLERK, before=403, after=403),
    Call("tbs", "GET", "/bonds/{bond}/keys/tbs", CLERK, before=403, after=403),
    Call("balances", "GET", "/bonds/balances", CLERK, shows_after=True),
    Call(
        "balance history",
        "GET",
        "/bonds/balances/history?from=2026-06-01&to=2026-07-31&step=day",
        CLERK,
        shows_after=True,
    ),
    Call("balances csv", "GET", "/bonds/balances/export?format=csv", CLERK, shows_after=True),
    Call("balances xlsx", "GET", "/bonds/balances/export?format=xlsx", CLERK, shows_after=True),
    Call("contract security", "GET", "/works/{work}/contract-security", CLERK),
    Call("audit view", "GET", "/audit/events?limit=200", AUDITOR),
    Call("audit export", "GET", "/audit/events/export", AUDITOR),
    # the orderer's 一部の権限者: everything, with a key, on both sides
    Call(
        "privileged open",
        "POST",
        "/bonds/open",
        PRIVILEGED,
        keyed=True,
        shows_before=True,
        shows_after=True,
    ),
    Call("privileged detail", "GET", "/bonds/{bond}", PRIVILEGED),
    # the orderer's keeper of securities
    Call("keeper list", "GET", "/bonds", KEEPER),
    # the issuer and the obligor wrote and applied for it: everything, both sides
    Call("issuer detail", "GET", "/bonds/{bond}", ISSUER, shows_before=True, shows_after=True),
    Call("obligor detail", "GET", "/bonds/{bond}", BUILDER, shows_before=True, shows_after=True),
    Call("obligor list", "GET", "/bonds", BUILDER, shows_before=True, shows_after=True),
    # everyone else: nothing at all
    Call("rival detail", "GET", "/bonds/{bond}", RIVAL, before=404, after=404),
    Call("rival list", "GET", "/bonds", RIVAL),
    Call("rival open", "POST", "/bonds/open", RIVAL, keyed=True, before=403, after=403),
    Call("other orderer open", "POST", "/bonds/open", STRANGER, keyed=True, before=404, after=404),
    Call("other orderer detail", "GET", "/bonds/{bond}", STRANGER, before=404, after=404),
    Call("other issuer detail", "GET", "/bonds/{bond}", ISSUER_B, before=404, after=404),
    Call("other issuer balances", "GET", "/bonds/balances", ISSUER_B, shows_after=True),
    Call(
        "other issuer history",
        "GET",
        "/bonds/balances/history?from=2026-06-01&to=2026-07-31&step=day",
        ISSUER_B,
        shows_after=True,
    ),
    Call("published trust", "GET", "/bonds/trust", CLERK, issuer_sealed=False),
    Call("published status", "GET", "/bonds/status/1", CLERK),
]


def _text(r: Any) -> str:
    ctype = r.headers.get("content-type", "")
    if "spreadsheetml" in ctype:
        with zipfile.ZipFile(io.BytesIO(r.content)) as book:
            return "".join(book.read(n).decode() for n in book.namelist() if n.endswith(".xml"))
    if ctype.startswith("application/pdf"):
        from pypdf import PdfReader

        return "".join(p.extract_text() for p in PdfReader(io.BytesIO(r.content)).pages)
    return str(r.text)


def _secrets(bond: dict[str, Any]) -> list[str]:
    return [str(AMOUNT), f"{AMOUNT:,}", bond["certificate_no"], CONDITIONS, "東日本建設業保証"]


async def _call(h: Harness, call: Call, ids: dict[str, str], key: str) -> Any:
    body = {"key": key} if call.keyed else None
    return await h.call(call.who, call.method, "/api/v1" + call.path.format(**ids), json=body)


async def test_every_endpoint_on_both_sides_of_the_opening_time(h: Harness) -> None:
    await h.certificate()
    bond, key = await h.signed_bond(
        amount=AMOUNT, conditions=CONDITIONS, opening_at="2026-06-10T01:00:00Z"
    )
    ids = {"bond": bond["id"], "work": h.work_id}
    secrets = _secrets(bond)
    problems: list[str] = []
    for phase, at in (("before", OPENING - timedelta(microseconds=1)), ("after", OPENING)):
        h.clock.at = at
        for call in CALLS:
            r = await _call(h, call, ids, key)
            want = call.before if phase == "before" else call.after
            if r.status_code != want:
                problems.append(
                    f"{phase} {call.label}: {r.status_code} (want {want}) {r.text[:200]}"
                )
                continue
            text = _text(r)
            shown = [s for s in secrets if s in text and (call.issuer_sealed or "保証" not in s)]
            may_show = call.shows_before if phase == "before" else call.shows_after
            if shown and not may_show:
                problems.append(f"{phase} {call.label}: shows {shown}")
            if may_show and want == 200 and str(AMOUNT) not in text and f"{AMOUNT:,}" not in text:
                problems.append(f"{phase} {call.label}: lacks the amount")
    assert not problems, "\n".join(problems)


async def test_sealed_answers_are_the_same_whatever_the_contents(h: Harness) -> None:
    """Before opening, two bonds that differ only in their contents answer the orderer the
    same, field for field, apart from their ids: nothing (count, order, field, error)
    depends on the sealed contents."""
    await h.certificate()
    a, key_a = await h.signed_bond(amount=1_000_000, premium=5_000, certificate_no="SAME-A")
    b, _ = await h.signed_bond(
        amount=9_999_999, premium=99_000, certificate_no="SAME-B", conditions="別の特約"
    )
    await h.ok(
        ISSUER,
        "PATCH",
        f"/bonds/{b['id']}",
        json={"version": b["version"], "event": "rebid", "amount": 9_000_000},
    )

    def strip(view: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in view.items() if k != "id"}

    ga = await h.ok(CLERK, "GET", f"/bonds/{a['id']}")
    gb = await h.ok(CLERK, "GET", f"/bonds/{b['id']}")
    assert strip(ga) == strip(gb)
    ra = await h.ok(CLERK, "GET", f"/bonds/{a['id']}/revisions")
    rb = await h.ok(CLERK, "GET", f"/bonds/{b['id']}/revisions")
    assert ra == rb  # the re-bid of b does not show
    oa = await h.present(key_a)
    await h.sign(b["id"])
    ob = await h.present(await h.download(b["id"]))
    assert strip(oa["bond"]) == strip(ob["bond"])


async def test_the_orderers_list_is_ordered_and_counted_by_existence_fields_only(
    h: Harness,
) -> None:
    await h.certificate()
    for amount in (3_000_000, 1_000_000, 2_000_000):
        await h.signed_bond(amount=amount)
    page = await h.ok(CLERK, "GET", "/bonds?sort=created_at&order=asc")
    assert len(page["items"]) == 3
    assert all(item["view"] == "existence" and item["amount"] is None for item in page["items"])
    # the only sort fields are existence fields
    r = await h.call(CLERK, "GET", "/api/v1/bonds?sort=amount")
    assert r.status_code == 422


async def test_the_privilege_does_not_replace_the_key(h: Harness) -> None:
    """The exception for 一部の権限者 lifts the time, not the key (F01<1>)."""
    await h.certificate()
    bond, _ = await h.signed_bond()
    got = await h.ok(PRIVILEGED, "GET", f"/bonds/{bond['id']}")
    assert got["view"] == "existence"
    assert got["amount"] is None


async def test_the_list_pages_by_cursor_in_opening_order_with_filters(h: Harness) -> None:
    """The orderer's list: pages of ``limit`` by cursor, every bond once, in the order of the
    existence field asked for (開札日時), filtered by kind; a cursor that is not one is refused
    as the request's shape, never a 500."""
    await h.certificate()
    openings = [
        "2026-06-12T01:00:00Z",
        "2026-06-10T01:00:00Z",
        "2026-06-15T01:00:00Z",
        "2026-06-11T01:00:00Z",
        "2026-06-14T01:00:00Z",
        "2026-06-13T01:00:00Z",
        "2026-06-16T01:00:00Z",
    ]
    made = [await h.register(opening_at=at) for at in openings]
    await h.register(kind="performance_reservation", opening_at="2026-06-09T01:00:00Z")
    seen: list[dict[str, Any]] = []
    cursor = None
    for _ in range(10):
        query = "/bonds?sort=opening_at&order=asc&kind=bid_bond&limit=3"
        page = await h.ok(CLERK, "GET", query + (f"&cursor={cursor}" if cursor else ""))
        assert len(page["items"]) <= 3
        seen.extend(page["items"])
        cursor = page.get("next_cursor")
        if not cursor:
            break
    assert [b["id"] for b in seen] == [
        b["id"] for b in sorted(made, key=lambda b: str(b["opening_at"]))
    ]
    assert all(b["kind"] == "bid_bond" and b["amount"] is None for b in seen)
    both = await h.ok(CLERK, "GET", "/bonds?sort=opening_at&order=asc&limit=50")
    assert both["items"][0]["kind"] == "performance_reservation"
    r = await h.call(CLERK, "GET", "/api/v1/bonds?cursor=not-a-cursor")
    assert r.status_code in (400, 422), r.text
