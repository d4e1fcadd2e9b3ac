"""Auth keys signed by the issuer (seed 002 認証方式 案3 電子署名されたパスワード; F01<1>, <3>,
<4>; issue 11 §2 and "Bad input"): every accepted algorithm, the Kura-held key, and every way
a key must fail: forged, altered, truncated, expired, superseded, for another bond, from an
untrusted, expired, revoked or retired certificate. Every attempt is audited; nothing is
stored by a refusal; failures are rate-limited per user and per bond."""

from __future__ import annotations

import json
from typing import Any

import pytest

from api.bonds.envelope import b64u, canonical, parse_compact, read_keyfile, unb64u
from api.bonds.offline import sign_tbs
from tests.bonds.harness import (
    BUILDER,
    CLERK,
    ISSUER,
    ISSUER_B,
    PRIVILEGED,
    STRANGER,
    Harness,
)
from tests.bonds.pki import Pki, write_crls

pytestmark = pytest.mark.anyio


def _token(keyfile: str) -> str:
    return read_keyfile(keyfile)[0]


def _with_claims(keyfile: str, **changes: Any) -> str:
    """The key with its payload altered but the signature kept (a tampered key)."""
    head, body, sig = _token(keyfile).split(".")
    claims = json.loads(unb64u(body))
    claims.update(changes)
    return f"{head}.{b64u(canonical(claims))}.{sig}"


async def _opened(h: Harness, key: str) -> dict[str, Any]:
    h.clock.advance(days=10)  # past 開札日時
    found: dict[str, Any] = await h.present(key)
    return found


@pytest.mark.parametrize(
    ("identity", "alg"),
    [("ec", "ES256"), ("ed", "Ed25519"), ("rsa", "PS256"), ("rsa", "RS256")],
)
async def test_every_cryptrec_algorithm_signs_a_key_that_opens(
    h: Harness, pki: Pki, identity: str, alg: str
) -> None:
    """reference §3.3: ECDSA P-256, Ed25519, RSA-PSS and RSASSA-PKCS1-v1_5 with SHA-256."""
    ident = getattr(pki, identity)
    await h.certificate(ident=ident)
    bond = await h.register()
    assert bond["key_state"] == "awaiting_signature"
    await h.sign(bond["id"], ident.signer(alg))
    key = await h.download(bond["id"])
    parsed = parse_compact(_token(key))
    assert parsed.alg == alg
    # F01<1>: the key binds bond id, version, a >= 256-bit secret and the issue time
    assert parsed.claims["bond_id"] == bond["id"]
    assert parsed.claims["revision"] == 1
    assert len(unb64u(parsed.claims["secret"])) * 8 >= 256
    assert parsed.claims["issued_at"].startswith("2026-06-01T01:00:00")
    assert parsed.claims["custody"] == "issuer"
    opened = await _opened(h, key)
    assert opened["bond"]["view"] == "full"
    assert opened["bond"]["amount"] == 1_309_100
    assert opened["key"]["custody"] == "issuer"
    # F01<2>: the orderer also sees the obligor's debt
    assert opened["bond"]["debt"] == {"outstanding": 1_309_100, "bonds": 1}


async def test_a_kura_held_key_signs_at_once_and_says_so(h: Harness, pki: Pki) -> None:
    """issue 11 §2: an issuer without a card opts for a key Kura keeps encrypted; every key
    it signs is marked as such."""
    r = await h.call(
        ISSUER,
        "POST",
        "/api/v1/bonds/certificates/custody",
        files={"file": ("issuer.p12", pki.custodial.pkcs12(), "application/x-pkcs12")},
        data={"password": "p12-pass"},
    )
    assert r.status_code == 201, r.text
    assert r.json()["custody"] == "kura"
    stored = await h.container.records.get("bond_certificates", r.json()["id"])
    assert stored is not None
    assert "PRIVATE" not in json.dumps(stored)
    bond = await h.register()
    assert bond["key_state"] == "active"  # no signing step
    key = await h.download(bond["id"])
    assert parse_compact(_token(key)).claims["custody"] == "kura"
    assert (await _opened(h, key))["key"]["custody"] == "kura"


async def test_wrong_p12_password_is_refused(h: Harness, pki: Pki) -> None:
    r = await h.call(
        ISSUER,
        "POST",
        "/api/v1/bonds/certificates/custody",
        files={"file": ("issuer.p12", pki.custodial.pkcs12(), "application/x-pkcs12")},
        data={"password": "wrong"},
    )
    assert r.status_code == 400
    assert "パスワード" in r.json()["detail"]


@pytest.mark.parametrize(
    ("identity", "code"),
    [
        ("untrusted", "untrusted"),
        ("expired", "expired"),
        ("revoked", "revoked"),
        ("weak", "weak_key"),
        ("no_signing", "untrusted"),
    ],
)
async def test_bad_certificates_are_refused_at_registration(
    h: Harness, pki: Pki, identity: str, code: str
) -> None:
    """seed 002 証明書: issued by a configured CA, valid, not revoked, a signing key."""
    before = await h.container.records.count("bond_certificates")
    r = await h.call(
        ISSUER,
        "POST",
        "/api/v1/bonds/certificates",
        json={"chain_pem": getattr(pki, identity).chain_pem},
    )
    assert r.status_code == 400, r.text
    assert r.json()["reason"] == code
    assert await h.container.records.count("bond_certificates") == before


async def test_missing_crl_fails_closed(h: Harness, pki: Pki) -> None:
    """Revocation unknown is no pass: without a current CRL the certificate is refused."""
    for path in pki.crl_files:
        path.unlink()
    try:
        r = await h.call(
            ISSUER, "POST", "/api/v1/bonds/certificates", json={"chain_pem": pki.ec.chain_pem}
        )
        assert r.status_code == 400
        assert r.json()["reason"] == "revocation_unknown"
    finally:
        write_crls(pki, [pki.revoked.cert])


async def test_a_certificate_revoked_after_registration_stops_its_keys(
    h: Harness, pki: Pki
) -> None:
    """issue 11 §2: revocation is checked at registration and at every use."""
    await h.certificate()
    _, key = await h.signed_bond()
    write_crls(pki, [pki.revoked.cert, pki.ec.cert])
    h.clock.advance(days=10)
    refused = await h.present(key, status=400)
    assert refused["reason"] == "revoked"
    assert "失効" in refused["detail"]


async def test_an_expired_certificate_stops_its_keys(h: Harness, pki: Pki) -> None:
    ident = pki.issue("短期 保証株式会社", days=45)  # valid 2026-05-02 .. 2026-06-16
    await h.certificate(ident=ident)
    bond = await h.register()
    await h.sign(bond["id"], ident.signer())
    key = await h.download(bond["id"])
    h.clock.advance(days=30)
    assert (await h.present(key, status=400))["reason"] == "expired"


async def test_a_retired_certificate_stops_its_keys(h: Harness) -> None:
    cert = await h.certificate()
    _, key = await h.signed_bond()
    await h.ok(ISSUER, "DELETE", f"/bonds/certificates/{cert['id']}")
    h.clock.advance(days=10)
    assert (await h.present(key, status=400))["reason"] == "retired"


async def test_keys_signed_by_another_issuers_certificate_are_refused(h: Harness, pki: Pki) -> None:
    """An issuer signs its own keys: a certificate registered by another issuer does not
    count, at upload and at presentation."""
    await h.certificate()
    await h.certificate(who=ISSUER_B, ident=pki.ec_b)
    bond = await h.register()
    tbs = await h.ok(ISSUER, "GET", f"/bonds/{bond['id']}/keys/tbs")
    text = sign_tbs(tbs, pki.ec_b.signer())
    r = await h.call(ISSUER, "POST", f"/api/v1/bonds/{bond['id']}/keys", json={"key": text})
    assert r.status_code == 400
    assert r.json()["reason"] == "unregistered"


async def test_upload_of_a_stale_signature_is_refused(h: Harness, pki: Pki) -> None:
    """The signed payload must be exactly the one Kura prepared for the current revision."""
    await h.certificate()
    bond = await h.register()
    old_tbs = await h.ok(ISSUER, "GET", f"/bonds/{bond['id']}/keys/tbs")
    await h.ok(
        ISSUER,
        "PATCH",
        f"/bonds/{bond['id']}",
        json={"version": bond["version"], "event": "rebid", "amount": 1_200_000},
    )
    text = sign_tbs(old_tbs, pki.ec.signer())
    r = await h.call(ISSUER, "POST", f"/api/v1/bonds/{bond['id']}/keys", json={"key": text})
    assert r.status_code == 400
    assert r.json()["reason"] == "payload_mismatch"


async def _refusal(h: Harness, key: str, who: Any = CLERK) -> dict[str, Any]:
    h.clock.advance(days=10)
    before = await h.container.records.count("bond_openings")
    r = await h.call(who, "POST", "/api/v1/bonds/open", json={"key": key})
    assert r.status_code in (400, 404), r.text
    assert await h.container.records.count("bond_openings") == before  # nothing stored
    # error messages reveal nothing sealed (issue 11 §3)
    assert "1309100" not in r.text
    assert "1,309,100" not in r.text
    body: dict[str, Any] = r.json()
    return body


async def test_forged_altered_and_truncated_keys_fail(h: Harness, pki: Pki) -> None:
    """issue 11 "Bad input": forged, altered, truncated keys; a key for another bond."""
    await h.certificate()
    bond, key = await h.signed_bond()
    other, other_key = await h.signed_bond()
    head, body, sig = _token(key).split(".")
    cases = {
        "altered revision": _with_claims(key, revision=2),
        "altered bond": _with_claims(key, bond_id=other["id"]),
        "altered secret": _with_claims(key, secret=b64u(b"\x00" * 32)),
        "truncated": _token(key)[:-20],
        "no signature": f"{head}.{body}.",
        "alg none": ".".join(
            [b64u(canonical({**parse_compact(_token(key)).header, "alg": "none"})), body, sig]
        ),
        "garbage": "これは認証キーではありません",
        "json without key": json.dumps({"type": "kura-bond-auth-key"}),
        "untrusted signer": sign_tbs(
            {
                "type": "kura-bond-tbs",
                "payload": body,
                "payload_sha256": __import__("hashlib").sha256(unb64u(body)).hexdigest(),
            },
            pki.untrusted.signer(),
        ),
    }
    for label, forged in cases.items():
        refused = await _refusal(h, forged)
        assert refused["code"] == "key_refused", (label, refused)
        h.clock.at = h.clock.at.replace(day=1)
    refusals = await h.audit("bonds.key_refused")
    assert len(refusals) == len(cases)  # every attempt audited
    # the key for another bond, presented on this bond's page
    r = await h.call(CLERK, "POST", f"/api/v1/bonds/{bond['id']}/open", json={"key": other_key})
    assert r.status_code == 400
    assert r.json()["reason"] == "other_bond"


async def test_a_rebid_makes_the_old_key_fail_at_once(h: Harness) -> None:
    """F01<3>: ボンド情報更新を行った段階で以前の認証キーでは内容確認できなくなる."""
    await h.certificate()
    bond, old_key = await h.signed_bond()
    updated = await h.ok(
        ISSUER,
        "PATCH",
        f"/bonds/{bond['id']}",
        json={"version": bond["version"], "event": "rebid", "amount": 1_250_000, "premium": 11_000},
    )
    assert updated["revision"] == 2
    assert updated["key_state"] == "awaiting_signature"
    h.clock.advance(days=10)
    refused = await h.present(old_key, status=400)
    assert refused["reason"] == "superseded"
    # until the issuer signs again the contractor has no key to download
    r = await h.call(BUILDER, "GET", f"/api/v1/bonds/{bond['id']}/key")
    assert r.status_code == 409
    await h.sign(bond["id"])
    new_key = await h.download(bond["id"])
    opened = await h.present(new_key)
    assert opened["bond"]["amount"] == 1_250_000
    assert opened["bond"]["premium_difference"] == -1_000  # F01<3> 増減分
    assert opened["key"]["revision"] == 2


async def test_deletion_revokes_the_key(h: Harness) -> None:
    """F01<4>: ボンド情報削除を行った段階で以前の認証キーでは内容確認できなくなる."""
    await h.certificate()
    bond, key = await h.signed_bond()
    await h.ok(ISSUER, "DELETE", f"/bonds/{bond['id']}?version={bond['version']}&reason=lost")
    h.clock.advance(days=10)
    assert (await h.present(key, status=400))["reason"] == "revoked"


async def test_a_key_opens_only_for_the_obligee(h: Harness) -> None:
    """A genuine key presented by another orderer answers as an unknown bond (404)."""
    await h.certificate()
    bond, key = await h.signed_bond()
    h.clock.advance(days=10)
    r = await h.call(STRANGER, "POST", "/api/v1/bonds/open", json={"key": key})
    assert r.status_code == 404
    assert bond["id"] not in r.text


async def test_every_attempt_is_audited_without_contents(h: Harness) -> None:
    """issue 11 §2: every attempt, good or bad, audited; §3: the audit says no amount."""
    await h.certificate()
    bond, key = await h.signed_bond()
    await h.present(key)  # sealed
    await h.present(key, who=PRIVILEGED)  # 一部の権限者
    h.clock.advance(days=10)
    await h.present(key)
    await h.present(_with_claims(key, revision=5), status=400)
    presented = await h.audit("bonds.key_presented")
    assert [e["detail"]["result"] for e in presented] == ["sealed", "opened_privileged", "opened"]
    assert all(e["target"] == f"bonds/{bond['id']}" for e in presented)
    assert len(await h.audit("bonds.key_refused")) == 1
    everything = json.dumps(await h.audit("bonds.registered") + presented, ensure_ascii=False)
    assert "1309100" not in everything
    assert bond["certificate_no"] not in everything


async def test_failures_are_rate_limited_per_user_and_per_bond(h: Harness, settings: Any) -> None:
    """issue 11 §2: key guesses rate-limited per user and per bond (defaults 10 / 20 in
    15 minutes), and the throttled attempts are audited too."""
    await h.certificate()
    _, key = await h.signed_bond()
    wrong = _with_claims(key, secret=b64u(b"\x01" * 32))
    h.clock.advance(days=10)
    for _ in range(10):
        await h.present(wrong, status=400)
    r = await h.call(CLERK, "POST", "/api/v1/bonds/open", json={"key": key})
    assert r.status_code == 429  # the user is throttled, even with the right key
    # another user of the same orderer: the bond's own limit (20) is not reached yet
    for _ in range(10):
        await h.present(wrong, who=PRIVILEGED, status=400)
    r = await h.call(PRIVILEGED, "POST", "/api/v1/bonds/open", json={"key": key})
    assert r.status_code == 429
    throttled = [
        e for e in await h.audit("bonds.key_refused") if "throttled" in e["detail"]["reason"]
    ]
    assert len(throttled) == 2
    h.clock.advance(minutes=16)  # the window passes
    assert (await h.present(key))["bond"]["view"] == "full"
    # the hourly sweep (beat ``bonds.sweep_attempts``) drops the attempts past the window
    from api.bonds.keys import KeyService

    assert await h.container.records.count("bond_attempts") == 40
    assert await KeyService(h.container).throttle.sweep(h.clock.now()) == 40
    assert await h.container.records.count("bond_attempts") == 0


def test_the_attempt_sweep_runs_hourly_on_beat(settings: Any) -> None:
    from workers.celery_app import create_celery

    app = create_celery(settings)
    entry = app.conf.beat_schedule["bonds-sweep-attempts"]
    assert entry["task"] == "bonds.sweep_attempts"
    assert entry["schedule"] == 3600.0
    from workers.tasks.bonds import sweep_attempts

    assert sweep_attempts.name == "bonds.sweep_attempts"


async def test_the_published_status_list_shows_superseded_keys(h: Harness) -> None:
    """A signed status list (module anchors §2): the old key's bit is set after a re-bid."""
    from api.bonds import status as status_lists
    from api.bonds.certificates import kura_keys

    await h.certificate()
    bond, key = await h.signed_bond()
    ref = parse_compact(_token(key)).claims["status"]
    r = await h.call(None, "GET", f"/api/v1/bonds/status/{ref['list']}")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/statuslist+jwt")
    public = kura_keys(h.container).status_public
    assert not status_lists.read(r.text, public).revoked(ref["index"])
    await h.ok(
        ISSUER,
        "PATCH",
        f"/bonds/{bond['id']}",
        json={"version": bond["version"], "event": "rebid", "amount": 1_000_000},
    )
    r = await h.call(None, "GET", f"/api/v1/bonds/status/{ref['list']}")
    listed = status_lists.read(r.text, public)
    assert listed.revoked(ref["index"])
    assert len(listed.bits) * 8 == status_lists.SIZE  # W3C: at least 131,072 entries
