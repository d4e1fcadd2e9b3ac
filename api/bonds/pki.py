"""Issuer certificates: the chain to the configured trust anchors, validity and revocation.

Seed 002 クライアントアプリケーションの要件 証明書 (発行機関のみ): certificates issued by
①商業登記認証局 ②公的個人認証局 ③ブリッジ認証局と相互認証している政府共用認証局もしくは民間認証
局, on IC cards. Kura does not decide which CAs those are: the operator configures their root
certificates (``KURA_BONDS__TRUST_ANCHORS``) and their CRLs (``KURA_BONDS__CRL_FILES``,
re-read when a file changes). A certificate is checked when an issuer registers it and at
every use of a key it signed (issue 11 §2):

- path validation with ``cryptography.x509.verification`` (RFC 5280 chain building, CA
  constraints, signatures, validity of every certificate at the given time); the end entity
  needs the digitalSignature or nonRepudiation key usage, no particular EKU;
- revocation from the CRLs: each CRL's signature is checked against the certificate that
  issued it, a CRL past its nextUpdate does not count, and with ``require_crl`` (default) a
  certificate whose issuer has no current CRL is refused: revocation unknown fails closed;
- the key is on the CRYPTREC list (``envelope.check_public_key``).

Refusals are ``CertificateRejected`` with a stable code and a Japanese reason.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.types import CertificateIssuerPublicKeyTypes
from cryptography.x509.verification import (
    Criticality,
    ExtensionPolicy,
    Policy,
    PolicyBuilder,
    Store,
    VerificationError,
)

from api.bonds.envelope import EnvelopeError, check_public_key

MAX_DEPTH = 6


class CertificateRejected(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def _signing_usage(policy: Policy, cert: x509.Certificate, ku: x509.KeyUsage) -> None:
    if not (ku.digital_signature or ku.content_commitment):
        raise ValueError("the certificate's key usage does not allow signatures")


_EE_POLICY = ExtensionPolicy.permit_all().require_present(
    x509.KeyUsage, Criticality.AGNOSTIC, _signing_usage
)


def load_pem_or_der_certs(data: bytes) -> list[x509.Certificate]:
    if b"-----BEGIN" in data:
        return x509.load_pem_x509_certificates(data)
    return [x509.load_der_x509_certificate(data)]


@dataclass(frozen=True)
class Validation:
    chain: list[x509.Certificate]  # leaf first, anchor last
    not_after: datetime


class TrustStore:
    """The configured anchors and CRLs; cheap to call per use (CRLs cached by file mtime)."""

    def __init__(
        self,
        anchors: Sequence[x509.Certificate],
        crl_files: Sequence[Path] = (),
        *,
        require_crl: bool = True,
        crls: Sequence[x509.CertificateRevocationList] = (),
    ) -> None:
        self.anchors = list(anchors)
        self.crl_files = list(crl_files)
        self.require_crl = require_crl
        self._fixed_crls = list(crls)
        self._stamp: tuple[tuple[str, int, int], ...] | None = None
        self._crls: list[x509.CertificateRevocationList] = []
        # Validations remembered per chain while the CRLs are unchanged, used only for times
        # inside the window every certificate and CRL of the chain covers: the same answer
        # as a full check, without rebuilding the path at every key presented.
        self._memo: dict[tuple[bytes, ...], tuple[Validation, datetime, datetime]] = {}

    @classmethod
    def from_files(
        cls, anchor_files: Sequence[Path], crl_files: Sequence[Path], *, require_crl: bool
    ) -> TrustStore:
        anchors: list[x509.Certificate] = []
        for path in anchor_files:
            anchors += load_pem_or_der_certs(path.read_bytes())
        return cls(anchors, crl_files, require_crl=require_crl)

    # CRLs ----------------------------------------------------------------------------------
    def _current_crls(self) -> list[x509.CertificateRevocationList]:
        stamp = []
        for path in self.crl_files:
            try:
                st = os.stat(path)
            except OSError:
                continue
            stamp.append((str(path), st.st_mtime_ns, st.st_size))
        key = tuple(stamp)
        if key != self._stamp:
            self._memo.clear()
            loaded: list[x509.CertificateRevocationList] = []
            for path_s, _, _ in stamp:
                raw = Path(path_s).read_bytes()
                try:
                    if b"-----BEGIN" in raw:
                        loaded.append(x509.load_pem_x509_crl(raw))
                    else:
                        loaded.append(x509.load_der_x509_crl(raw))
                except ValueError:
                    continue  # an unreadable CRL counts as none (fails closed below)
            self._crls, self._stamp = loaded, key
        return self._crls + self._fixed_crls

    def _revocation(
        self, cert: x509.Certificate, issuer: x509.Certificate, at: datetime
    ) -> datetime | None:
        """Raise when revoked or unknown; else the time until which this answer holds (the
        earliest nextUpdate of the CRLs used), None when it must not be remembered."""
        found = False
        until: datetime | None = datetime.max.replace(tzinfo=at.tzinfo)
        for crl in self._current_crls():
            if crl.issuer != issuer.subject:
                continue
            public = issuer.public_key()
            if not crl.is_signature_valid(_issuer_key(public)):
                continue
            next_update = crl.next_update_utc
            if next_update is not None and next_update < at:
                continue  # stale: it cannot say the certificate is still good
            if crl.last_update_utc > at:
                continue
            found = True
            entry = crl.get_revoked_certificate_by_serial_number(cert.serial_number)
            if entry is not None and entry.revocation_date_utc <= at:
                raise CertificateRejected("revoked", "証明書は失効しています。")
            if entry is not None:
                until = None  # revoked from a later date: never remember
            elif until is not None and next_update is not None:
                until = min(until, next_update)
        if not found and self.require_crl:
            raise CertificateRejected(
                "revocation_unknown",
                "証明書の失効情報（CRL）を確認できません。運用管理者に連絡してください。",
            )
        return until

    # validation ------------------------------------------------------------------------------
    def validate(
        self, leaf: x509.Certificate, intermediates: Sequence[x509.Certificate], at: datetime
    ) -> Validation:
        """The verified chain at ``at``, or ``CertificateRejected``."""
        self._current_crls()  # re-read changed CRL files (clears the memo)
        memo_key = tuple(c.fingerprint(hashes.SHA256()) for c in [leaf, *intermediates])
        known = self._memo.get(memo_key)
        if known is not None and known[1] <= at < known[2]:
            return known[0]
        if not self.anchors:
            raise CertificateRejected(
                "no_trust_anchors",
                "信頼する認証局が設定されていません。運用管理者に連絡してください。",
            )
        try:
            check_public_key(leaf.public_key())
        except EnvelopeError as exc:
            raise CertificateRejected(exc.code, exc.message) from exc
        if leaf.not_valid_after_utc < at:
            raise CertificateRejected("expired", "証明書の有効期間が終了しています。")
        if leaf.not_valid_before_utc > at:
            raise CertificateRejected("not_yet_valid", "証明書の有効期間が始まっていません。")
        verifier = (
            PolicyBuilder()
            .store(Store(self.anchors))
            .time(at)
            .max_chain_depth(MAX_DEPTH)
            .extension_policies(
                ca_policy=ExtensionPolicy.webpki_defaults_ca(), ee_policy=_EE_POLICY
            )
            .build_client_verifier()
        )
        try:
            verified = verifier.verify(leaf, list(intermediates))
        except VerificationError as exc:
            text = str(exc)
            if "expired" in text or "not yet valid" in text:
                raise CertificateRejected(
                    "chain_expired", "証明書チェーンの有効期間外の証明書があります。"
                ) from exc
            raise CertificateRejected(
                "untrusted", "信頼する認証局が発行した証明書ではありません。"
            ) from exc
        chain = list(verified.chain)
        until: datetime | None = min(c.not_valid_after_utc for c in chain)
        for cert, issuer in itertools.pairwise(chain):
            holds = self._revocation(cert, issuer, at)
            until = None if holds is None or until is None else min(until, holds)
        result = Validation(chain, min(c.not_valid_after_utc for c in chain))
        if until is not None:
            start = max(c.not_valid_before_utc for c in chain)
            if len(self._memo) > 10_000:
                self._memo.clear()
            self._memo[memo_key] = (result, start, until)
        return result


def _issuer_key(public: object) -> CertificateIssuerPublicKeyTypes:
    return public  # type: ignore[return-value]
