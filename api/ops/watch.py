"""The gauges an operator alerts on (issue 12 §4), refreshed at each scrape of ``/metrics``:
failed jobs, dead letters, free disk, the newest backup generation (folder or bucket), the
age of the key-encryption key, and the expiry of certificates: the TLS certificate the proxy
serves (``KURA_MONITOR__TLS_CERT_FILES``), the bonds' trust anchors, the next update of their
CRLs, and the earliest expiry of the bond issuers' active certificates. The example alert
rules are ``docs/alerts.yml``.

A scrape never fails for a gauge: a backend that does not answer leaves its gauge as it was
(``kura_backend_up`` says why) and the failure is logged.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
import time
from datetime import UTC, datetime
from pathlib import Path

from cryptography import x509

from api.container import Container
from api.ops.metrics import Metrics
from storage.query import Eq, Query

log = logging.getLogger("kura.metrics")

# Listing a bucket's generations costs a LIST per generation: at most this often.
BACKUP_LISTING_S = 300.0


async def refresh(container: Container, metrics: Metrics) -> None:
    """Set every operator gauge from the deployment's current state."""
    from api.jobs.models import JOBS, JobState
    from api.mail.outbox import MAILS

    try:
        failed = Eq("state", JobState.FAILED.value)
        metrics.jobs_failed.set(await container.records.count(JOBS, (failed,)))
        metrics.mail_dead.set(await container.records.count(MAILS, (Eq("state", "dead"),)))
    except Exception as exc:
        log.warning("metrics: records not counted: %s", exc)
    with contextlib.suppress(OSError):
        disk = await asyncio.to_thread(shutil.disk_usage, container.settings.data_dir)
        metrics.disk_free.set(disk.free)
    try:
        await _backup(container, metrics)
    except Exception as exc:
        log.warning("metrics: backup generations not listed: %s", exc)
    created = _kek_created(container)
    if created is not None:
        metrics.kek_created.set(created.timestamp())
    await asyncio.to_thread(_certificate_files, container, metrics)
    try:
        await _bond_certificates(container, metrics)
    except Exception as exc:
        log.warning("metrics: bond certificates not read: %s", exc)


async def _backup(container: Container, metrics: Metrics) -> None:
    from api.backup.generations import GEN_FORMAT, Target, generations

    b = container.settings.backup
    if b.target is None and not b.s3_bucket:
        return
    now = time.monotonic()
    if b.s3_bucket and now - metrics.backup_listed_at < BACKUP_LISTING_S:
        return
    target = Target.of(container.settings)
    # Not opened: a scrape must not create the folder or the bucket it watches.
    try:
        gens = await generations(target.data)
    finally:
        await target.data.close()
    metrics.backup_listed_at = now
    newest = 0.0
    if gens:
        with contextlib.suppress(ValueError):
            when = datetime.strptime(gens[-1][:16], GEN_FORMAT).replace(tzinfo=UTC)
            newest = when.timestamp()
    metrics.backup_last.set(newest)
    metrics.backup_generations.set(len(gens))


def _kek_created(container: Container) -> datetime | None:
    try:
        return container.keys.port.created()
    except Exception:
        return None


def _certificate_files(container: Container, metrics: Metrics) -> None:
    """The proxy's TLS certificate(s) and the bonds' trust anchors (``not_valid_after``), the
    bonds' CRLs (``next_update``), read from their files (small; read at each scrape)."""
    from api.bonds.pki import load_pem_or_der_certs

    settings = container.settings
    groups: list[tuple[str, list[Path]]] = [
        ("tls", list(settings.monitor.tls_cert_files)),
        ("trust_anchor", list(settings.bonds.trust_anchors)),
    ]
    for kind, paths in groups:
        for path in paths:
            try:
                certs = load_pem_or_der_certs(path.read_bytes())
            except (OSError, ValueError) as exc:
                log.warning("metrics: certificate file %s not read: %s", path, exc)
                continue
            if certs:
                # A file with a chain: the leaf (first) is what expires for its users.
                expiry = min(c.not_valid_after_utc for c in certs[:1])
                metrics.cert_expiry.labels(kind, str(path)).set(expiry.timestamp())
    for path in settings.bonds.crl_files:
        try:
            raw = path.read_bytes()
            crl = (
                x509.load_pem_x509_crl(raw) if b"-----BEGIN" in raw else x509.load_der_x509_crl(raw)
            )
        except (OSError, ValueError) as exc:
            log.warning("metrics: CRL file %s not read: %s", path, exc)
            continue
        if crl.next_update_utc is not None:
            metrics.crl_next_update.labels(str(path)).set(crl.next_update_utc.timestamp())


async def _bond_certificates(container: Container, metrics: Metrics) -> None:
    """The earliest ``not_after`` of the issuers' active certificates (seed 002 証明書)."""
    from api.bonds.models import CERTIFICATES
    from api.kit.clock import from_iso

    page = await container.records.find(
        CERTIFICATES,
        Query(where=(Eq("state", "active"),), sort=(("not_after", 1),), limit=1),
    )
    # None active: nothing expires (+Inf never fires an "expires within" rule).
    items = page.items
    earliest = from_iso(str(items[0]["not_after"])).timestamp() if items else float("inf")
    metrics.bond_cert_expiry.set(earliest)
