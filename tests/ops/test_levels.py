"""The operator gauges as levels for the 鍵とバックアップ page (``api.ops.levels``): the
thresholds of docs/alerts.yml decide 正常 / 注意 / 異常. The expected levels follow from the
dates and counts the test writes (a fixed clock), and the rules' numbers in alerts.yml."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from api.config import Settings
from api.container import Container
from api.kit.clock import FixedClock
from api.ops.levels import checks
from api.ops.metrics import Metrics
from tests.ops.test_operator_metrics import _cert

pytestmark = pytest.mark.anyio
NOW = datetime(2026, 12, 2, 3, 0, tzinfo=UTC)


def by_key(found: list[dict[str, Any]], key: str) -> list[dict[str, Any]]:
    return [c for c in found if c["key"] == key]


async def test_levels_follow_the_alert_rules(settings: Settings, tmp_path: Path) -> None:
    target = tmp_path / "backups"
    newest = target / "generations" / "20261201T000000Z"  # 27 h before NOW: past 26 h
    newest.mkdir(parents=True)
    (newest / "manifest.sha256").write_text("0" * 64 + "  manifest.json\n")
    soon, _, _ = _cert(tmp_path, "soon", NOW + timedelta(days=10))  # < 21 days: error
    later, _, _ = _cert(tmp_path, "later", NOW + timedelta(days=30))  # < 42 days: warn
    anchor, _, _ = _cert(tmp_path, "anchor", NOW + timedelta(days=400))  # ok
    s = settings.model_copy(
        update={
            "backup": settings.backup.model_copy(update={"target": target}),
            "monitor": settings.monitor.model_copy(update={"tls_cert_files": [soon, later]}),
            "bonds": settings.bonds.model_copy(update={"trust_anchors": [anchor]}),
        }
    )
    container = Container(s, clock=FixedClock(NOW))
    await container.open()
    try:
        await container.records.insert("jobs", {"id": "j1", "state": "failed"})
        await container.records.insert("jobs", {"id": "j2", "state": "failed"})
        found = await checks(container, Metrics())
    finally:
        await container.close()
    [backup] = by_key(found, "backup_age")
    assert (backup["level"], backup["value"]) == ("error", 27 * 3600)
    [jobs] = by_key(found, "jobs_failed")
    assert (jobs["level"], jobs["value"]) == ("warn", 2)
    [mail] = by_key(found, "mail_dead")
    assert (mail["level"], mail["value"]) == ("ok", 0)
    [kek] = by_key(found, "kek_age")
    assert kek["level"] == "ok"  # the keyring made at open (system time), not a year old
    certs = {(c["kind"], Path(c["file"]).name): c for c in by_key(found, "certificate")}
    assert certs["tls", "soon.pem"]["level"] == "error"
    assert certs["tls", "soon.pem"]["value"] == 10 * 86400
    assert certs["tls", "later.pem"]["level"] == "warn"
    assert certs["trust_anchor", "anchor.pem"]["level"] == "ok"
    # the soonest first
    assert next(c["file"] for c in by_key(found, "certificate")).endswith("soon.pem")


async def test_nothing_watched_is_not_an_alarm(settings: Settings) -> None:
    container = Container(settings, clock=FixedClock(NOW))
    await container.open()
    try:
        found = await checks(container, Metrics())
    finally:
        await container.close()
    [backup] = by_key(found, "backup_age")
    assert (backup["level"], backup["reason"]) == ("warn", "not_set")
    [cert] = by_key(found, "certificate")
    assert (cert["level"], cert["kind"]) == ("ok", None)
