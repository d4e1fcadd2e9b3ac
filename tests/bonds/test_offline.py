"""The issuer's signing helper and the orderer's offline check (issue 11 §2).

- ``kura bond sign`` with a PKCS#12 file and with an IC card through PKCS#11: SoftHSM (Debian
  ``softhsm2``) stands in for the card, the key generated on the token and never exported;
  a fake ``TokenSession`` checks every mechanism the port asks for.
- ``kura bond verify`` without Kura: the trust bundle saved from ``GET /bonds/trust``, the
  status list snapshot inside the key file and a newer one, the status age, the ttl, the
  Kura-held key mark, a forged key.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from api.bonds.envelope import KEY_TYP, parse_compact, read_keyfile, sign_compact, verify
from api.bonds.signers import Pkcs11Signer
from api.cli import cli
from api.kit import pkcs11lib
from tests.bonds.harness import CLERK, ISSUER, Harness
from tests.bonds.pki import Identity, Pki, make_cert

pytestmark = pytest.mark.anyio
SOFTHSM = Path("/usr/lib/softhsm/libsofthsm2.so")


def run(*args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False, env=env)


async def _tbs(h: Harness, tmp: Path) -> tuple[dict[str, Any], Path]:
    await h.certificate()
    bond = await h.register()
    tbs = await h.ok(ISSUER, "GET", f"/bonds/{bond['id']}/keys/tbs")
    path = tmp / "bond.tbs.json"
    path.write_text(json.dumps(tbs, ensure_ascii=False))
    return bond, path


async def _upload(h: Harness, bond_id: str, keyfile: Path) -> None:
    text = keyfile.read_text()  # noqa: ASYNC240 (a small test file)
    await h.ok(ISSUER, "POST", f"/bonds/{bond_id}/keys", json={"key": text})


async def _trust(h: Harness, tmp: Path) -> Path:
    trust = await h.ok(None, "GET", "/bonds/trust")  # published: no sign-in
    path = tmp / "trust.json"
    path.write_text(json.dumps(trust, ensure_ascii=False))
    return path


async def test_sign_with_pkcs12_then_verify_offline(h: Harness, pki: Pki, tmp_path: Path) -> None:
    bond, tbs = await _tbs(h, tmp_path)
    p12 = tmp_path / "issuer.p12"
    p12.write_bytes(pki.ec.pkcs12())
    password = tmp_path / "password"
    password.write_text("p12-pass\n")
    out = tmp_path / "signed.kurakey"
    result = run(
        "bond",
        "sign",
        str(tbs),
        "-o",
        str(out),
        "--p12",
        str(p12),
        "--password-file",
        str(password),
    )
    assert result.exit_code == 0, result.output
    await _upload(h, bond["id"], out)
    key = tmp_path / "key.kurakey"
    key.write_text(await h.download(bond["id"]))
    trust = await _trust(h, tmp_path)
    at = "2026-06-01T01:02:00Z"  # two minutes after Kura signed the status snapshot
    result = run("bond", "verify", str(key), "--trust", str(trust), "--at", at)
    assert result.exit_code == 0, result.output
    assert "判定: 有効" in result.output
    assert "状態リスト: 最新（失効していません）" in result.output
    assert "2分前" in result.output
    assert bond["certificate_no"] in result.output
    # past the list's ttl (300 s) the answer is valid but says the status is old: exit 3
    result = run("bond", "verify", str(key), "--trust", str(trust), "--at", "2026-06-01T02:00:00Z")
    assert result.exit_code == 3
    assert "状態リストが有効期間を過ぎています" in result.output
    assert "60分前" in result.output


async def test_offline_verification_with_a_newer_status_list_finds_a_superseded_key(
    h: Harness, tmp_path: Path
) -> None:
    await h.certificate()
    bond, old = await h.signed_bond()
    old_file = tmp_path / "old.kurakey"
    old_file.write_text(old)
    await h.ok(
        ISSUER,
        "PATCH",
        f"/bonds/{bond['id']}",
        json={"version": bond["version"], "event": "rebid", "amount": 1_000_000},
    )
    trust = await _trust(h, tmp_path)
    ref = parse_compact(read_keyfile(old)[0]).claims["status"]
    status = tmp_path / "status.jwt"
    r = await h.call(None, "GET", f"/api/v1/bonds/status/{ref['list']}")
    status.write_text(r.text)
    at = "2026-06-01T01:01:00Z"
    # the snapshot inside the old file still says current (that is why the age is shown)
    assert run("bond", "verify", str(old_file), "--trust", str(trust), "--at", at).exit_code == 0
    result = run(
        "bond", "verify", str(old_file), "--trust", str(trust), "--status", str(status), "--at", at
    )
    assert result.exit_code == 1
    assert "無効" in result.output


async def test_offline_verification_refuses_a_forged_key(h: Harness, tmp_path: Path) -> None:
    await h.certificate()
    _, key = await h.signed_bond()
    head, body, sig = read_keyfile(key)[0].split(".")
    forged = tmp_path / "forged.kurakey"
    forged.write_text(f"{head}.{body[:-4]}AAAA.{sig}")
    trust = await _trust(h, tmp_path)
    result = run(
        "bond",
        "verify",
        str(forged),
        "--trust",
        str(trust),
        "--at",
        "2026-06-01T01:01:00Z",
        "--json",
    )
    assert result.exit_code == 1
    assert json.loads(result.output)["valid"] is False


async def test_offline_verification_names_a_kura_held_key(
    h: Harness, pki: Pki, tmp_path: Path
) -> None:
    r = await h.call(
        ISSUER,
        "POST",
        "/api/v1/bonds/certificates/custody",
        files={"file": ("i.p12", pki.custodial.pkcs12(), "application/x-pkcs12")},
        data={"password": "p12-pass"},
    )
    assert r.status_code == 201
    bond = await h.register()
    key = tmp_path / "k.kurakey"
    key.write_text(await h.download(bond["id"]))
    trust = await _trust(h, tmp_path)
    result = run("bond", "verify", str(key), "--trust", str(trust), "--at", "2026-06-01T01:01:00Z")
    assert result.exit_code == 0
    assert "Kuraが保管する鍵" in result.output


async def test_unreadable_input_exits_2(tmp_path: Path) -> None:
    result = run("bond", "verify", str(tmp_path / "missing"), "--trust", str(tmp_path / "t"))
    assert result.exit_code == 2


# -- PKCS#11 -------------------------------------------------------------------------------------
@dataclass
class FakeSession:
    """A ``TokenSession`` over an in-memory key: checks the mechanisms the port sends."""

    key: Any
    cert: x509.Certificate
    seen: list[str]

    def certificate(self, label: str) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.DER)

    def sign(self, label: str, mechanism: str, data: bytes) -> bytes:
        self.seen.append(mechanism)
        if mechanism == "ECDSA":  # a card signs the digest the host computed
            from cryptography.hazmat.primitives.asymmetric.utils import Prehashed

            r, s = decode_dss_signature(self.key.sign(data, ec.ECDSA(Prehashed(hashes.SHA256()))))
            return r.to_bytes(32, "big") + s.to_bytes(32, "big")
        if mechanism == "EDDSA":
            return bytes(self.key.sign(data))
        if mechanism == "SHA256_RSA_PKCS_PSS":
            return bytes(
                self.key.sign(data, padding.PSS(padding.MGF1(hashes.SHA256()), 32), hashes.SHA256())
            )
        if mechanism == "SHA256_RSA_PKCS":
            return bytes(self.key.sign(data, padding.PKCS1v15(), hashes.SHA256()))
        raise AssertionError(mechanism)


@pytest.mark.parametrize(
    ("make", "alg", "mechanism"),
    [
        (lambda: ec.generate_private_key(ec.SECP256R1()), "ES256", "ECDSA"),
        (ed25519.Ed25519PrivateKey.generate, "Ed25519", "EDDSA"),
        (lambda: rsa.generate_private_key(65537, 2048), "PS256", "SHA256_RSA_PKCS_PSS"),
        (lambda: rsa.generate_private_key(65537, 2048), "RS256", "SHA256_RSA_PKCS"),
    ],
)
def test_the_pkcs11_port_asks_for_the_right_mechanism(
    pki: Pki, make: Any, alg: str, mechanism: str
) -> None:
    key = make()
    cert = make_cert("ICカード 試験", key.public_key(), pki.inter.subject, pki.inter_key, ca=False)
    session = FakeSession(key, cert, [])
    signer = Pkcs11Signer(session, "issuer", [pki.inter], alg)
    token = sign_compact({"typ": KEY_TYP}, b'{"a":1}', signer)
    verify(parse_compact(token), cert.public_key())
    assert session.seen == [mechanism]


@pytest.fixture
def softhsm(tmp_path: Path, pki: Pki) -> Iterator[tuple[dict[str, str], Identity]]:
    """A SoftHSM token ``kura`` holding an ECDSA key generated on it and its certificate
    from the test CA (as a card issued by a CA holds them)."""
    if not SOFTHSM.exists() or shutil.which("softhsm2-util") is None:
        pytest.skip("softhsm2 not installed (apt-get install softhsm2; scripts/setup --dev)")
    from pkcs11 import Attribute, CertificateType, KeyType, ObjectClass
    from pkcs11.util.ec import encode_ec_public_key, encode_named_curve_parameters

    tokens = tmp_path / "tokens"
    tokens.mkdir()
    conf = tmp_path / "softhsm2.conf"
    conf.write_text(
        f"directories.tokendir = {tokens}\nobjectstore.backend = file\nlog.level = ERROR\n"
    )
    env = {**os.environ, "SOFTHSM2_CONF": str(conf)}
    subprocess.run(
        [
            "softhsm2-util",
            "--init-token",
            "--free",
            "--label",
            "kura",
            "--so-pin",
            "12345678",
            "--pin",
            "5678",
        ],
        env=env,
        check=True,
        capture_output=True,
    )
    old = os.environ.get("SOFTHSM2_CONF")
    os.environ["SOFTHSM2_CONF"] = str(conf)
    try:
        lib = pkcs11lib.acquire(str(SOFTHSM))  # one library object per process
        with lib.get_token(token_label="kura").open(rw=True, user_pin="5678") as session:
            params = session.create_domain_parameters(
                KeyType.EC,
                {Attribute.EC_PARAMS: encode_named_curve_parameters("secp256r1")},
                local=True,
            )
            public, _private = params.generate_keypair(store=True, label="issuer")
            spki = serialization.load_der_public_key(encode_ec_public_key(public))
            cert = make_cert(
                "ICカード 東日本保証株式会社", spki, pki.inter.subject, pki.inter_key, ca=False
            )
            session.create_object(
                {
                    Attribute.CLASS: ObjectClass.CERTIFICATE,
                    Attribute.CERTIFICATE_TYPE: CertificateType.X_509,
                    Attribute.LABEL: "issuer",
                    Attribute.VALUE: cert.public_bytes(serialization.Encoding.DER),
                    Attribute.SUBJECT: cert.subject.public_bytes(),
                    Attribute.TOKEN: True,
                }
            )
        yield {"SOFTHSM2_CONF": str(conf)}, Identity(_private, cert, [pki.inter])  # type: ignore[arg-type]
    finally:
        pkcs11lib.release(str(SOFTHSM))
        if old is None:
            os.environ.pop("SOFTHSM2_CONF", None)
        else:
            os.environ["SOFTHSM2_CONF"] = old


async def test_sign_on_an_ic_card_through_pkcs11(
    h: Harness, pki: Pki, tmp_path: Path, softhsm: tuple[dict[str, str], Identity]
) -> None:
    """seed 002: the issuer's certificate on an IC card; the key never leaves it."""
    env, card = softhsm
    await h.certificate(ident=card)
    bond = await h.register()
    tbs = tmp_path / "t.json"
    tbs.write_text(json.dumps(await h.ok(ISSUER, "GET", f"/bonds/{bond['id']}/keys/tbs")))
    chain = tmp_path / "inter.pem"
    chain.write_bytes(pki.inter.public_bytes(serialization.Encoding.PEM))
    pin = tmp_path / "pin"
    pin.write_text("5678")
    out = tmp_path / "signed.kurakey"
    result = run(
        "bond",
        "sign",
        str(tbs),
        "-o",
        str(out),
        "--pkcs11-module",
        str(SOFTHSM),
        "--token",
        "kura",
        "--key-label",
        "issuer",
        "--pin-file",
        str(pin),
        "--chain",
        str(chain),
        env=env,
    )
    assert result.exit_code == 0, result.output
    await _upload(h, bond["id"], out)
    h.clock.advance(days=10)
    opened = await h.present(await h.download(bond["id"]), who=CLERK)
    assert opened["bond"]["view"] == "full"
    assert "ICカード" in opened["key"]["certificate_subject"]
    # a wrong PIN is a clear error, not a crash
    pin.write_text("0000")
    result = run(
        "bond",
        "sign",
        str(tbs),
        "-o",
        str(out),
        "--pkcs11-module",
        str(SOFTHSM),
        "--token",
        "kura",
        "--key-label",
        "issuer",
        "--pin-file",
        str(pin),
        env=env,
    )
    assert result.exit_code == 1
    assert "PIN" in result.output
