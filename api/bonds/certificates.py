"""Issuers' certificates (seed 002 証明書, 発行機関のみ) and the opt-in Kura-held key.

An issuer registers the certificate its IC card (or key file) signs with, with the
intermediates up to a configured trust anchor. Kura checks the chain, validity and revocation
(``api.bonds.pki``) at registration and again at every use of a key it signed; it stores the
certificate only, never the private key. The exception is opt-in (issue 11 §2): an issuer
without a card uploads a PKCS#12 file; Kura keeps the private key encrypted under its wrap
key (``api.bonds.kurakey``), signs that issuer's keys itself, and every key so signed says
``custody: "kura"`` in its signed payload, shown by every verifier.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from api.audit.service import AuditLog
from api.bonds import kurakey, pki
from api.bonds.envelope import cert_id, default_alg
from api.bonds.models import CERTIFICATES
from api.bonds.permissions import BondResource
from api.bonds.signers import KeySigner, SignerError
from api.errors import Conflict, NotAuthenticated, NotFoundError, ValidationFailed
from api.kit.clock import from_iso, to_iso
from api.permissions.policy import Subject
from storage.errors import DuplicateKey
from storage.query import Eq, Query, Record

if TYPE_CHECKING:
    from api.container import Container

_stores: dict[tuple[Any, ...], pki.TrustStore] = {}


def trust_store(container: Container) -> pki.TrustStore:
    """The configured anchors and CRLs (anchors re-read when their files change)."""
    cfg = container.settings.bonds
    stamp: list[Any] = [cfg.require_crl, tuple(str(p) for p in cfg.crl_files)]
    for path in cfg.trust_anchors:
        try:
            stamp.append((str(path), path.stat().st_mtime))
        except OSError:
            stamp.append((str(path), None))
    key = tuple(stamp)
    store = _stores.get(key)
    if store is None:
        anchors = [p for p in cfg.trust_anchors if p.exists()]
        store = pki.TrustStore.from_files(anchors, cfg.crl_files, require_crl=cfg.require_crl)
        _stores.clear()
        _stores[key] = store
    return store


def kura_keys(container: Container) -> kurakey.KuraKeys:
    return kurakey.load(container.settings.bonds_key_path)


def _name(name: x509.Name) -> str:
    return name.rfc4514_string()


def describe(cert: x509.Certificate) -> dict[str, Any]:
    return {
        "subject": _name(cert.subject),
        "issuer": _name(cert.issuer),
        "serial": format(cert.serial_number, "x"),
        "not_before": to_iso(cert.not_valid_before_utc),
        "not_after": to_iso(cert.not_valid_after_utc),
        "algorithm": default_alg(cert.public_key()),
    }


_parsed: dict[tuple[str, ...], list[x509.Certificate]] = {}


def chain_of(record: Record) -> list[x509.Certificate]:
    """The stored chain, parsed (remembered per PEM text: certificates never change)."""
    key = tuple(record["chain"])
    found = _parsed.get(key)
    if found is None:
        found = [x509.load_pem_x509_certificate(p.encode()) for p in key]
        if len(_parsed) > 10_000:
            _parsed.clear()
        _parsed[key] = found
    return list(found)


def _pem(cert: x509.Certificate) -> str:
    return cert.public_bytes(serialization.Encoding.PEM).decode()


@dataclass
class Usable:
    record: Record
    validation: pki.Validation


class CertificateService:
    def __init__(self, container: Container) -> None:
        self.container = container
        self.records = container.records
        self.clock = container.clock
        self.policy = container.policy
        self.audit = AuditLog(container.records, container.clock)

    def _require(self, subject: Subject | None) -> Subject:
        if subject is None:
            raise NotAuthenticated()
        self.policy.require(subject, "bonds.certificates", BondResource(org_id=subject.org_id))
        return subject

    def _validate(self, chain: list[x509.Certificate]) -> pki.Validation:
        try:
            return trust_store(self.container).validate(chain[0], chain[1:], self.clock.now())
        except pki.CertificateRejected as exc:
            raise ValidationFailed(exc.message, reason=exc.code) from exc

    async def register(self, subject: Subject | None, chain_pem: str) -> Record:
        """An issuer-held certificate (its key on an IC card or in the issuer's file)."""
        who = self._require(subject)
        try:
            chain = x509.load_pem_x509_certificates(chain_pem.encode())
        except ValueError as exc:
            raise ValidationFailed("証明書（PEM形式）を読み取れません。") from exc
        if not 1 <= len(chain) <= 5:
            raise ValidationFailed("証明書は5枚までのチェーンで指定してください。")
        return await self._store(who, chain, custody="issuer", sealed_key=None)

    async def register_custody(
        self, subject: Subject | None, pkcs12: bytes, password: str
    ) -> Record:
        """Opt-in: Kura keeps the issuer's private key, encrypted, and signs with it."""
        who = self._require(subject)
        try:
            signer = KeySigner.from_pkcs12(pkcs12, password.encode() or None)
        except SignerError as exc:
            raise ValidationFailed(str(exc)) from exc
        der = signer.key.private_bytes(
            serialization.Encoding.DER,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        ident = cert_id(signer.chain[0])
        sealed = kura_keys(self.container).seal(der, f"custody:{ident}")
        return await self._store(who, signer.chain, custody="kura", sealed_key=sealed)

    async def _store(
        self,
        subject: Subject,
        chain: list[x509.Certificate],
        *,
        custody: str,
        sealed_key: str | None,
    ) -> Record:
        validation = self._validate(chain)
        leaf = chain[0]
        now = to_iso(self.clock.now())
        record: Record = {
            "id": cert_id(leaf),
            "issuer_org_id": subject.org_id,
            **describe(leaf),
            # the verified path without the anchor: what goes into the keys' x5c
            "chain": [_pem(c) for c in validation.chain[:-1]],
            "custody": custody,
            "state": "active",
            "registered_at": now,
            "registered_by": subject.user_id,
        }
        if sealed_key is not None:
            record["private_key"] = sealed_key
        async with self.container.uow():
            try:
                stored = await self.records.insert(CERTIFICATES, record)
            except DuplicateKey as exc:
                raise Conflict("この証明書はすでに登録されています。") from exc
            await self.audit.record(
                subject,
                "bonds.certificate_registered",
                f"{CERTIFICATES}/{stored['id']}",
                after={k: v for k, v in stored.items() if k != "private_key"},
                detail={"org_id": subject.org_id, "custody": custody},
            )
        return stored

    async def list(self, subject: Subject | None) -> list[Record]:
        who = self._require(subject)
        page = await self.records.find(
            CERTIFICATES,
            Query(
                where=(Eq("issuer_org_id", who.org_id),),
                sort=(("registered_at", -1),),
                limit=200,
            ),
        )
        return page.items

    async def retire(self, subject: Subject | None, ident: str) -> Record:
        who = self._require(subject)
        record = await self.records.get(CERTIFICATES, ident) if len(ident) == 64 else None
        if record is None or record.get("issuer_org_id") != who.org_id:
            raise NotFoundError()
        if record["state"] == "retired":
            return record
        async with self.container.uow():
            stored = await self.records.update(
                CERTIFICATES,
                ident,
                {"state": "retired", "retired_at": to_iso(self.clock.now()), "private_key": None},
                record["version"],
            )
            await self.audit.record(
                who,
                "bonds.certificate_retired",
                f"{CERTIFICATES}/{ident}",
                detail={"org_id": who.org_id},
            )
        return stored

    async def custody_of(self, issuer_org_id: str) -> Record | None:
        """The issuer's active Kura-held certificate, if it opted for one."""
        page = await self.records.find(
            CERTIFICATES,
            Query(
                where=(
                    Eq("issuer_org_id", issuer_org_id),
                    Eq("custody", "kura"),
                    Eq("state", "active"),
                ),
                sort=(("registered_at", -1),),
                limit=1,
            ),
        )
        now = self.clock.now()
        for record in page.items:
            if from_iso(record["not_after"]) > now:
                return record
        return None

    def custody_signer(self, record: Record) -> KeySigner:
        der = kura_keys(self.container).open(record["private_key"], f"custody:{record['id']}")
        key = serialization.load_der_private_key(der, None)
        assert not isinstance(key, bytes)
        return KeySigner(key, chain_of(record))  # type: ignore[arg-type]

    async def usable(
        self, ident: str, issuer_org_id: str | None, record: Record | None = None
    ) -> Usable:
        """The registered, active certificate ``ident`` of the issuer, checked now (chain,
        validity, revocation): at every use of a key (issue 11 §2). ``record``: the
        certificate's record when the caller has read it already."""
        if record is None and len(ident) == 64:
            record = await self.records.get(CERTIFICATES, ident)
        if (
            record is None
            or record["id"] != ident
            or (issuer_org_id is not None and record["issuer_org_id"] != issuer_org_id)
        ):
            raise pki.CertificateRejected(
                "unregistered", "発行機関が登録した証明書で署名されていません。"
            )
        if record["state"] != "active":
            raise pki.CertificateRejected("retired", "署名した証明書は登録が取り消されています。")
        chain = chain_of(record)
        validation = trust_store(self.container).validate(chain[0], chain[1:], self.clock.now())
        return Usable(record, validation)
