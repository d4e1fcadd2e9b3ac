"""/metrics carries what an operator alerts on (issue 12 §4): failed jobs, dead letters,
free disk of the data folder, the time of the newest backup generation."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

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
    (target / "generations" / "20261201T020000Z").mkdir(parents=True)
    (target / "generations" / ".tmp-20261202T020000Z").mkdir()  # unfinished: not counted
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
