"""Signing and verifying key files without Kura: what ``kura bond sign`` and
``kura bond verify`` run (no database, no server; issue 11 §2).

- ``sign_tbs``: the issuer signs the to-be-signed file Kura prepared (PKCS#12 file or IC card).
- ``verify_keyfile``: an orderer checks a key file offline against a trust bundle (published
  at ``GET /api/v1/bonds/trust``, saved once): the issuer's signature, the certificate's chain
  to the bundle's anchors, its validity and revocation (the bundle's CRLs), that the
  certificate is registered in Kura for that issuer, and whether the key is still current by
  a signed status list (the snapshot inside the key file, or a newer one given), with the
  list's age. Works when Kura cannot be reached (module anchors §2: offline verification
  from one file, status age stated).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ed25519
from joserfc.jwk import OKPKey

from api.bonds import status as status_lists
from api.bonds.envelope import (
    KEY_TYP,
    EnvelopeError,
    Signer,
    cert_id,
    keyfile,
    parse_compact,
    read_keyfile,
    sign_compact,
    verify,
)
from api.bonds.keys import payload_of
from api.bonds.pki import CertificateRejected, TrustStore


def sign_tbs(tbs: dict[str, Any], signer: Signer) -> str:
    """The key file text for a to-be-signed file."""
    payload = payload_of(tbs)
    return keyfile(sign_compact({"typ": KEY_TYP}, payload, signer))


@dataclass
class Report:
    """What ``verify_keyfile`` found; ``valid`` only when every check passed."""

    valid: bool = False
    current: bool | None = None  # by the status list; None: unknown (no list)
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    claims: dict[str, Any] = field(default_factory=dict)
    certificate: str = ""
    status_age_s: float | None = None
    status_issued_at: datetime | None = None

    @property
    def exit_code(self) -> int:
        """0 valid and current by a fresh list; 1 invalid; 3 valid but the status is
        unknown or older than its ttl."""
        if not self.valid:
            return 1
        return 0 if self.current and not self.warnings else 3


def status_key_of(trust: dict[str, Any]) -> ed25519.Ed25519PublicKey:
    key = OKPKey.import_key(trust["status_key"])
    public = key.public_key
    if not isinstance(public, ed25519.Ed25519PublicKey):
        raise EnvelopeError("malformed", "信頼情報の状態鍵が正しくありません。")
    return public


class Verifier:
    """Checks key files against one trust bundle; the trust store and the status lists are
    read once (an orderer checking many keys, the benchmark)."""

    def __init__(self, trust: dict[str, Any]) -> None:
        self.trust = trust
        anchors = [x509.load_pem_x509_certificate(p.encode()) for p in trust.get("anchors", [])]
        crls = [x509.load_pem_x509_crl(p.encode()) for p in trust.get("crls", [])]
        self.store = TrustStore(anchors, require_crl=True, crls=crls)
        self.status_key = status_key_of(trust)
        self._lists: dict[str, status_lists.StatusList] = {}

    def status(self, token: str) -> status_lists.StatusList:
        found = self._lists.get(token)
        if found is None:
            found = status_lists.read(token, self.status_key)
            self._lists = {token: found}  # the newest one given
        return found

    def verify(self, text: str, now: datetime, status_token: str | None = None) -> Report:
        return verify_keyfile(text, self.trust, now, status_token, verifier=self)


def verify_keyfile(
    text: str,
    trust: dict[str, Any],
    now: datetime,
    status_token: str | None = None,
    *,
    verifier: Verifier | None = None,
) -> Report:
    report = Report()
    try:
        token, snapshot = read_keyfile(text)
        parsed = parse_compact(token)
        claims = parsed.claims
        report.claims = {k: v for k, v in claims.items() if k != "secret"}
        if not parsed.chain:
            raise EnvelopeError("malformed", "認証キーに証明書がありません。")
        leaf = parsed.leaf
        report.certificate = leaf.subject.rfc4514_string()
        registered = _registered(trust, str(claims.get("issuer_org_id")), cert_id(leaf))
        if registered is None:
            raise CertificateRejected(
                "unregistered", "発行機関がボンド管理システムに登録した証明書ではありません。"
            )
        if registered.get("state") != "active":
            raise CertificateRejected("retired", "署名した証明書は登録が取り消されています。")
        checker = verifier or Verifier(trust)
        validation = checker.store.validate(leaf, parsed.chain[1:], now)
        verify(parsed, validation.chain[0].public_key())
        report.valid = True
        if claims.get("custody") == "kura":
            report.notes.append(
                "この認証キーは、発行機関の依頼によりKuraが保管する鍵で署名されています。"
            )
        _status(report, checker, claims, status_token or snapshot, now)
    except (EnvelopeError, CertificateRejected) as exc:
        report.valid = False
        report.problems.append(exc.message)
    return report


def _registered(trust: dict[str, Any], issuer: str, ident: str) -> dict[str, Any] | None:
    for entry in trust.get("issuers", []):
        if entry.get("org_id") != issuer:
            continue
        for cert in entry.get("certificates", []):
            if cert.get("id") == ident:
                return dict(cert)
    return None


def _status(
    report: Report,
    checker: Verifier,
    claims: dict[str, Any],
    token: str | None,
    now: datetime,
) -> None:
    ref = claims.get("status") or {}
    if token is None:
        report.current = None
        report.warnings.append("状態リストがないため、認証キーが最新かどうか確認できません。")
        return
    listed = checker.status(token)
    if listed.list_id != str(ref.get("list")):
        raise EnvelopeError("malformed", "状態リストが認証キーのものと一致しません。")
    report.status_issued_at = listed.issued_at
    report.status_age_s = listed.age_seconds(now)
    if listed.revoked(int(ref.get("index", -1))):
        report.current = False
        report.valid = False
        report.problems.append(
            "この認証キーは更新または削除により無効になっています（状態リストによる）。"
        )
        return
    report.current = True
    if listed.stale(now):
        report.warnings.append(
            "状態リストが有効期間を過ぎています。最新の状態リストで確認してください。"
        )
    if now > listed.expires_at:
        report.current = None
