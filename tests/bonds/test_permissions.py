"""Permission matrix of the bonds routers on the app as ``create_app`` builds it, with real
sign-ins (``tests.support.perms``): anonymous 401, another organization 404 (a bond's
existence is not revealed), a related user without the right 403, the one who may: allowed.
Refused calls store nothing. Operators are refused too: the bonds rules decide for them
(``api.modules``). The published trust bundle and status lists answer without sign-in.

One exception to "refused calls store nothing": a genuine key presented by another
orderer's user is an attempt, and every attempt is audited (issue 11 §2); that refusal is
tested in ``test_keys.test_a_key_opens_only_for_the_obligee``.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from api.bonds.offline import sign_tbs
from api.bonds.router import router as bonds_router
from api.bonds.router_more import public_router
from api.bonds.router_more import router as more_router
from api.config import Settings
from tests.bonds.harness import bond_settings
from tests.bonds.pki import Pki
from tests.support.perms import (
    API,
    Actor,
    Ids,
    Row,
    World,
    _ok,
    _signed_in,
    check_matrix,
    perm_world,
    uncovered,
)

pytestmark = pytest.mark.anyio

NOW = datetime.now(UTC)
PAST = (NOW - timedelta(days=1)).isoformat()  # the opening time has passed: not sealed
TODAY = NOW.date()
BOND_GRANTS = (
    "bonds.issue",
    "bonds.certificates",
    "bonds.read",
    "bonds.unseal",
    "bonds.securities",
)

# login -> (organization key, grants); issuers are made here, the rest join perm_world's orgs
EXTRA: dict[str, tuple[str, tuple[str, ...]]] = {
    "bissuer": ("issuer", ("bonds.issue", "bonds.certificates")),
    "bissuer_plain": ("issuer", ()),
    "bissuer_b": ("issuer_b", BOND_GRANTS),
    "bbuilder": ("contractor", ("bonds.read",)),
    "bclerk": ("orderer", ("bonds.read", "works.read_org")),
    "bkeeper": ("orderer", ("bonds.securities", "works.read_org")),
    "bstranger": ("other", BOND_GRANTS),
}


def body(ids: Ids, **over: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "kind": "bid_bond",
        "certificate_no": f"M-{datetime.now(UTC).timestamp()}",
        "obligor_org_id": ids["contractor"],
        "obligee_org_id": ids["orderer"],
        "work_number": ids["work_number"],
        "work_title": "道路標示工事",
        "amount": 1_000_000,
        "period_start": TODAY.isoformat(),
        "period_end": (TODAY + timedelta(days=60)).isoformat(),
        "premium": 5000,
        "issued_on": TODAY.isoformat(),
        "opening_at": PAST,
    }
    data.update(over)
    return data


async def add_actors(world: World, stack: AsyncExitStack) -> None:
    for key, name in (
        ("issuer", "東日本建設業保証株式会社"),
        ("issuer_b", "西日本損害保険株式会社"),
    ):
        org = await _ok(
            await world.operator.post(
                f"{API}/organizations", json={"kind": "issuer", "name": name}
            ),
            201,
        )
        world.orgs[key] = str(org["id"])
    for login, (org_key, grants) in EXTRA.items():
        made = await _ok(
            await world.operator.post(
                f"{API}/users",
                json={"login_id": login, "name": f"{login} 太郎", "org_id": world.orgs[org_key]},
            ),
            201,
        )
        user_id = str(made["user"]["id"])
        for grant in grants:
            await _ok(
                await world.operator.post(f"{API}/users/{user_id}/grants", json={"grant": grant}),
                201,
            )
        client, _ = await _signed_in(stack, world.app, login, made["initial_password"])
        world.actors[login] = Actor(login, user_id, world.orgs[org_key], client)


@pytest.fixture
async def world(settings: Settings, pki: Pki) -> AsyncIterator[World]:
    from tests.bonds.pki import write_crls

    write_crls(pki, [pki.revoked.cert])
    async with perm_world(bond_settings(settings, pki)) as w, AsyncExitStack() as stack:
        await add_actors(w, stack)
        yield w


async def setup(world: World, pki: Pki) -> dict[str, str]:
    issuer = world.client("bissuer")
    work = await world.work()
    ids: dict[str, str] = {**world.base_ids(), "work": work["id"], "work_number": work["number"]}
    cert = await _ok(
        await issuer.post(f"{API}/bonds/certificates", json={"chain_pem": pki.ec.chain_pem}), 201
    )
    ids["cert"] = cert["id"]

    async def signed(**over: Any) -> dict[str, Any]:
        bond = await _ok(await issuer.post(f"{API}/bonds", json=body(ids, **over)), 201)
        tbs = (await issuer.get(f"{API}/bonds/{bond['id']}/keys/tbs")).json()
        await _ok(
            await issuer.post(
                f"{API}/bonds/{bond['id']}/keys", json={"key": sign_tbs(tbs, pki.ec.signer())}
            )
        )
        return dict(bond)

    bond = await signed()
    ids["bond"] = bond["id"]
    ids["key"] = (await world.client("bbuilder").get(f"{API}/bonds/{bond['id']}/key")).text
    reservation = await _ok(
        await issuer.post(f"{API}/bonds", json=body(ids, kind="performance_reservation")), 201
    )
    ids["resv"] = reservation["id"]
    unsigned = await _ok(await issuer.post(f"{API}/bonds", json=body(ids)), 201)
    ids["unsigned"] = unsigned["id"]
    tbs = (await issuer.get(f"{API}/bonds/{unsigned['id']}/keys/tbs")).json()
    ids["signed_upload"] = sign_tbs(tbs, pki.ec.signer())
    return ids


def key(ids: Ids) -> dict[str, str]:
    return {"key": ids["key"]}


def p12_upload(pki: Pki) -> Any:
    return lambda ids: {"file": ("issuer.p12", pki.custodial.pkcs12(), "application/x-pkcs12")}


def rows(pki: Pki) -> list[Row]:
    return [
        Row("GET", "/bonds", allowed="bclerk", hidden="bond", other="bstranger", other_status=200),
        Row("GET", "/bonds/export.csv", allowed="bclerk", other="bstranger", other_status=200),
        Row(
            "POST",
            "/bonds",
            allowed="bissuer",
            denied="bissuer_plain",
            ok=201,
            other="bstranger",
            other_status=403,
            json=lambda ids: body(ids),
        ),
        Row(
            "POST",
            "/bonds/securities",
            allowed="bkeeper",
            ok=201,
            other="bstranger",
            other_status=400,
            json=lambda ids: {
                "kind": "cash",
                "work_id": ids["work"],
                "obligor_org_id": ids["contractor"],
                "amount": 1_000_000,
                "paid_on": TODAY.isoformat(),
            },
        ),
        # another orderer's user presenting a genuine key is audited: see the module doc
        Row("POST", "/bonds/open", allowed="bclerk", other=None, json=key),
        Row("GET", "/bonds/{bond}", allowed="bclerk", other="bstranger"),
        Row(
            "PATCH",
            "/bonds/{fresh}",
            allowed="bissuer",
            denied="bissuer_plain",
            other="bissuer_b",
            fresh=True,
            json=lambda ids: {
                "version": int(ids["fresh_version"]),
                "event": "rebid",
                "amount": 900_000,
            },
        ),
        Row(
            "DELETE",
            "/bonds/{fresh}?version={fresh_version}&reason=lost",
            allowed="bissuer",
            denied="bissuer_plain",
            other="bissuer_b",
            fresh=True,
        ),
        Row(
            "GET",
            "/bonds/{bond}/revisions",
            allowed="bbuilder",
            denied="builder",
            other="bstranger",
        ),
        Row(
            "GET",
            "/bonds/{resv}/carry",
            allowed="bissuer",
            denied="bissuer_plain",
            other="bissuer_b",
        ),
        Row("POST", "/bonds/{bond}/open", allowed="bclerk", other="bstranger", json=key),
        Row(
            "GET", "/bonds/{bond}/copy.pdf", allowed="bbuilder", denied="builder", other="bstranger"
        ),
        Row("POST", "/bonds/{bond}/copy", allowed="bclerk", other="bstranger", json=key),
        Row(
            "GET",
            "/bonds/{unsigned}/keys/tbs",
            allowed="bissuer",
            denied="bissuer_plain",
            other="bissuer_b",
        ),
        Row(
            "POST",
            "/bonds/{unsigned}/keys",
            allowed="bissuer",
            denied="bissuer_plain",
            other="bissuer_b",
            json=lambda ids: {"key": ids["signed_upload"]},
        ),
        Row("GET", "/bonds/{bond}/key", allowed="bbuilder", denied="builder", other="bstranger"),
        Row("GET", "/bonds/balances", allowed="bissuer", denied="bissuer_plain", other=None),
        Row(
            "GET",
            "/bonds/balances/history?from=2026-01-01&to=2026-12-31",
            allowed="bissuer",
            denied="bissuer_plain",
            other=None,
        ),
        Row(
            "GET",
            "/bonds/balances/export?format=xlsx",
            allowed="bissuer",
            denied="bissuer_plain",
            other=None,
        ),
        Row(
            "GET",
            "/works/{work}/contract-security",
            allowed="bclerk",
            denied="reader",
            other="outsider",
        ),
        Row("GET", "/bonds/certificates", allowed="bissuer", denied="bissuer_plain", other=None),
        Row("GET", "/bonds/parties", allowed="bissuer", denied="bissuer_plain", other=None),
        Row(
            "POST",
            "/bonds/certificates",
            allowed="bissuer",
            denied="bissuer_plain",
            ok=201,
            other="bstranger",
            other_status=403,
            json={"chain_pem": pki.ed.chain_pem},
        ),
        Row(
            "POST",
            "/bonds/certificates/custody",
            allowed="bissuer",
            denied="bissuer_plain",
            ok=201,
            other="bstranger",
            other_status=403,
            files=p12_upload(pki),
            data={"password": "p12-pass"},
        ),
        Row(
            "DELETE",
            "/bonds/certificates/{cert}",
            allowed="bissuer",
            denied="bissuer_plain",
            other="bissuer_b",
        ),
    ]


async def test_bonds_matrix(world: World, pki: Pki) -> None:
    ids = await setup(world, pki)

    async def fresh() -> Ids:
        made = await _ok(await world.client("bissuer").post(f"{API}/bonds", json=body(ids)), 201)
        return {"fresh": str(made["id"]), "fresh_version": str(made["version"])}

    # denied orderer/contractor users of the bond's organizations: ``plain`` and ``builder``
    # (no bonds grant); the defaults of Row name ``plain``.
    await check_matrix(world, rows(pki), ids, fresh)


async def test_operators_are_refused_by_the_bonds_rules(world: World, pki: Pki) -> None:
    """No operator shortcut for ``bonds.*``: a sealed bond is sealed for operators too."""
    ids = await setup(world, pki)
    for method, path in (
        ("GET", "/bonds"),
        ("GET", f"/bonds/{ids['bond']}"),
        ("GET", f"/bonds/{ids['bond']}/copy.pdf"),
        ("GET", f"/bonds/{ids['bond']}/key"),
        ("GET", "/bonds/balances"),
        ("POST", "/bonds/open"),
    ):
        r = await world.operator.request(
            method, API + path, json=key(ids) if method == "POST" else None
        )
        assert r.status_code in (403, 404), (method, path, r.status_code)
        assert "1000000" not in r.text


async def test_published_trust_and_status_answer_without_sign_in(world: World, pki: Pki) -> None:
    await setup(world, pki)
    r = await world.anonymous.get(f"{API}/bonds/trust")
    assert r.status_code == 200
    trust = r.json()
    assert trust["status_key"]["kty"] == "OKP"
    assert trust["anchors"]
    assert trust["crls"]
    assert any(i["name"] == "東日本建設業保証株式会社" for i in trust["issuers"])
    r = await world.anonymous.get(f"{API}/bonds/status/1")
    assert r.status_code == 200
    assert r.text.count(".") == 2
    assert (await world.anonymous.get(f"{API}/bonds/status/77")).status_code == 404
    json.dumps(trust)


def test_every_endpoint_has_a_row(pki: Pki) -> None:
    public = [Row("GET", "/bonds/trust", allowed="x"), Row("GET", "/bonds/status/{n}", allowed="x")]
    missing = uncovered([bonds_router, more_router, public_router], [*rows(pki), *public])
    assert not missing, missing


_ = Path
