"""/metrics carries what an operator alerts on (issue 12 §4): failed jobs, dead letters,
free disk of the data folder, the time of the newest backup generation, the age of the
key-encryption key, and the expiry of certificates (the proxy's TLS certificate, the bonds'
trust anchors and CRLs, the issuers' active bond certificates). Expected values come from the
files and records the test writes, never from the code under test."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from api.app import create_app
from api.config import Settings
from api.container import Container

pytestmark = pytest.mark.anyio


def gauge(text: str, name: str) -> float:
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    raise AssertionError(f"{name} not in /metrics")


async def test_operator_gauges(settings: Settings, tmp_path: Path) -> None:
    target = tmp_path / "backups"
    complete = target / "generations" / "20261201T020000Z"
    complete.mkdir(parents=True)
    (complete / "manifest.sha256").write_text("0" * 64 + "  manifest.json\n")
    # Unfinished (no manifest.sha256, or an old-style temp folder): not counted.
    (target / "generations" / "20261202T020000Z").mkdir()
    (target / "generations" / ".tmp-20261203T020000Z").mkdir()
    s = settings.model_copy(
        update={"backup": settings.backup.model_copy(update={"target": target})}
    )
    container = Container(s)
    await container.open()
    try:
        await container.records.insert("jobs", {"id": "j1", "state": "failed"})
        await container.records.insert("jobs", {"id": "j2", "state": "done"})
        await container.records.insert("mails", {"id": "m1", "state": "dead"})
        app = create_app(s, container=container)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            text = (await client.get("/metrics")).text
    finally:
        await container.close()
    assert gauge(text, "kura_jobs_failed") == 1
    assert gauge(text, "kura_mail_dead") == 1
    assert gauge(text, "kura_data_disk_free_bytes") > 0
    # 2026-12-01T02:00:00Z
    assert gauge(text, "kura_backup_last_success_timestamp_seconds") == 1796090400
    assert gauge(text, "kura_backup_generations") == 1


def labelled(text: str, name: str, **labels: str) -> float:
    want = ",".join(f'{k}="{v}"' for k, v in labels.items())
    for line in text.splitlines():
        if line.startswith(f"{name}{{") and want in line:
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"{name} {labels} not in /metrics")


def _cert(tmp_path: Path, name: str, not_after: datetime) -> tuple[Path, Any, Any]:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, name)])
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_after - timedelta(days=90))
        .not_valid_after(not_after)
        .sign(key, hashes.SHA256())
    )
    path = tmp_path / f"{name}.pem"
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return path, cert, key


async def test_certificate_expiry_and_kek_age(settings: Settings, tmp_path: Path) -> None:
    tls_end = datetime(2027, 3, 1, 12, 0, tzinfo=UTC)
    anchor_end = datetime(2035, 1, 1, tzinfo=UTC)
    crl_next = datetime(2026, 12, 8, 0, 0, tzinfo=UTC)
    tls, _, _ = _cert(tmp_path, "proxy", tls_end)
    anchor, anchor_cert, anchor_key = _cert(tmp_path, "anchor", anchor_end)
    crl = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(anchor_cert.subject)
        .last_update(crl_next - timedelta(days=7))
        .next_update(crl_next)
        .sign(anchor_key, hashes.SHA256())
    )
    crl_file = tmp_path / "anchor.crl"
    crl_file.write_bytes(crl.public_bytes(serialization.Encoding.DER))
    s = settings.model_copy(
        update={
            "monitor": settings.monitor.model_copy(update={"tls_cert_files": [tls]}),
            "bonds": settings.bonds.model_copy(
                update={"trust_anchors": [anchor], "crl_files": [crl_file]}
            ),
        }
    )
    container = Container(s)
    await container.open()
    try:
        for ident, state, end in (
            ("c1", "active", "2027-06-30T14:59:59Z"),
            ("c2", "active", "2027-01-31T14:59:59Z"),
            ("c3", "revoked", "2026-12-10T00:00:00Z"),  # not active: not counted
        ):
            await container.records.insert(
                "bond_certificates", {"id": ident, "state": state, "not_after": end}
            )
        app = create_app(s, container=container)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            text = (await client.get("/metrics")).text
    finally:
        await container.close()
    assert labelled(text, "kura_certificate_expiry_timestamp_seconds", kind="tls") == (
        tls_end.timestamp()
    )
    assert labelled(text, "kura_certificate_expiry_timestamp_seconds", kind="trust_anchor") == (
        anchor_end.timestamp()
    )
    assert labelled(text, "kura_crl_next_update_timestamp_seconds") == crl_next.timestamp()
    assert gauge(text, "kura_bond_certificate_earliest_expiry_timestamp_seconds") == (
        datetime(2027, 1, 31, 14, 59, 59, tzinfo=UTC).timestamp()
    )
    # The KEK's age: the creation time written in the keyring file itself.
    ring = json.loads(s.keyring_path.read_text())
    made = datetime.fromisoformat(ring["keks"][-1]["created"].replace("Z", "+00:00"))
    assert gauge(text, "kura_kek_created_timestamp_seconds") == made.timestamp()
