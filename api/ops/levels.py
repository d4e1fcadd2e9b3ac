"""The operator gauges of ``/metrics`` (``api.ops.watch``) as plain levels for a page: each
value with ``ok`` / ``warn`` / ``error`` (正常 / 注意 / 異常 in the interface), by the
thresholds of the example alert rules (``docs/alerts.yml``), so the page and the alerts agree:

    backup age          error: no complete generation, or the newest older than 26 h
                        (RPO 24 h, KuraBackupTooOld / KuraBackupMissing); warn: no target set
    failed jobs         warn: any (KuraJobsFailed)
    dead letters        warn: any (KuraMailDeadLetters)
    disk free           error: < 10 GB (KuraDiskLow); warn: < 20 GB
    KEK age             warn: older than a year (KuraKekOld)
    TLS certificate     error: < 21 days (KuraTlsCertificateExpiresSoon); warn: < 42 days
    trust anchor        warn: < 60 days (KuraTrustAnchorExpiresSoon); error: expired
    CRL next update     error: < 1 day (KuraCrlStale); warn: < 7 days
    issuer certificate  warn: < 30 days (KuraBondIssuerCertificateExpiresSoon); error: expired

The values are read after ``refresh`` from the same gauges a scrape exports.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from api.kit.clock import to_iso
from api.ops.metrics import Metrics
from api.ops.watch import refresh

if TYPE_CHECKING:
    from api.container import Container

OK, WARN, ERROR, UNKNOWN = "ok", "warn", "error", "unknown"
HOUR = 3600.0
DAY = 86400.0
GB = 1e9

BACKUP_MAX_AGE_S = 26 * HOUR
DISK_ERROR = 10 * GB
DISK_WARN = 20 * GB
KEK_MAX_AGE_S = 365 * DAY
# certificate kind → (error below, warn below) seconds left
CERT_LIMITS = {
    "tls": (21 * DAY, 42 * DAY),
    "trust_anchor": (0.0, 60 * DAY),
    "crl": (1 * DAY, 7 * DAY),
    "bond_issuer": (0.0, 30 * DAY),
}


def _value(metrics: Metrics, name: str) -> float | None:
    value = metrics.registry.get_sample_value(name)
    return None if value is None else float(value)


def _below(value: float, error: float, warn: float) -> str:
    return ERROR if value < error else WARN if value < warn else OK


def _certificate(kind: str, file: str, at: float, now: float) -> dict[str, Any]:
    left = at - now
    error, warn = CERT_LIMITS[kind]
    return {
        "key": "certificate",
        "kind": kind,
        "file": file,
        "expires_at": to_iso(datetime.fromtimestamp(at, UTC)),
        "value": left,
        "level": _below(left, error, warn),
    }


async def checks(container: Container, metrics: Metrics) -> list[dict[str, Any]]:
    """Every value an operator alerts on, with its level (see the module docstring)."""
    await refresh(container, metrics)
    now = container.clock.now().timestamp()
    out: list[dict[str, Any]] = []
    b = container.settings.backup
    last = _value(metrics, "kura_backup_last_success_timestamp_seconds")
    if b.target is None and not b.s3_bucket:
        out.append({"key": "backup_age", "value": None, "level": WARN, "reason": "not_set"})
    elif not last:
        out.append({"key": "backup_age", "value": None, "level": ERROR, "reason": "none"})
    else:
        age = max(0.0, now - last)
        level = ERROR if age > BACKUP_MAX_AGE_S else OK
        out.append({"key": "backup_age", "value": age, "level": level})
    for key, name in (("jobs_failed", "kura_jobs_failed"), ("mail_dead", "kura_mail_dead")):
        count = _value(metrics, name)
        level = UNKNOWN if count is None else WARN if count > 0 else OK
        out.append({"key": key, "value": count, "level": level})
    free = _value(metrics, "kura_data_disk_free_bytes")
    out.append(
        {
            "key": "disk_free",
            "value": free,
            "level": UNKNOWN if not free else _below(free, DISK_ERROR, DISK_WARN),
        }
    )
    made = _value(metrics, "kura_kek_created_timestamp_seconds")
    if made:
        age = max(0.0, now - made)
        out.append({"key": "kek_age", "value": age, "level": WARN if age > KEK_MAX_AGE_S else OK})
    else:
        out.append({"key": "kek_age", "value": None, "level": UNKNOWN})
    certificates: list[dict[str, Any]] = []
    for family in metrics.cert_expiry.collect():
        for sample in family.samples:
            labels = sample.labels
            certificates.append(
                _certificate(labels["kind"], labels["file"], float(sample.value), now)
            )
    for family in metrics.crl_next_update.collect():
        for sample in family.samples:
            certificates.append(_certificate("crl", sample.labels["file"], sample.value, now))
    issuer = _value(metrics, "kura_bond_certificate_earliest_expiry_timestamp_seconds")
    if issuer is not None and math.isfinite(issuer) and issuer > 0:
        certificates.append(_certificate("bond_issuer", "", issuer, now))
    if certificates:
        out.extend(sorted(certificates, key=lambda c: float(c["value"])))
    else:
        out.append({"key": "certificate", "kind": None, "value": None, "level": OK})
    return out
