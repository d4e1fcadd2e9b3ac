"""The operators' read-only view of backups and keys (issue 12 §3-4; seed 001 別表3 8, 10):
``GET /api/v1/backups`` (generations with date, kind, objects and bytes, the newest one's
age, the retention policy of data and keys, the key-encryption key) and
``GET /api/v1/backups/watch`` (the values operators alert on, with the levels of
docs/alerts.yml). Operators only: anonymous 401, everyone else 403, problem+json."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from api.backup.generations import Target, backup
from api.config import BackupSettings, Settings
from api.container import build_blobs
from tests.backup.support import DATA1, DATA2, one
from tests.proposals.harness import API, MANAGER, OPERATOR, STRANGER, SUP, Harness, harness

pytestmark = pytest.mark.anyio


@pytest.fixture
async def h(settings: Settings, tmp_path: Path) -> AsyncIterator[Harness]:
    target = BackupSettings(target=tmp_path / "backups", keep_keys=3)
    async with harness(settings.model_copy(update={"backup": target})) as the_harness:
        yield the_harness


def check(found: dict[str, Any], key: str) -> dict[str, Any]:
    return next(c for c in found["checks"] if c["key"] == key)


async def test_only_operators_read_backups_and_watch(h: Harness) -> None:
    for url in ("/backups", "/backups/watch"):
        for who, status in ((None, 401), (STRANGER, 403), (SUP, 403), (MANAGER, 403)):
            r = await h.call(who, "GET", API + url)
            assert r.status_code == status, (url, who and who.login_id, r.text)
            assert r.headers["content-type"].startswith("application/problem+json")
            assert r.json()["title"]  # Japanese, from api.errors
        r = await h.call(OPERATOR, "GET", API + url)
        assert r.status_code == 200, r.text


async def test_generations_with_kind_counts_and_age(h: Harness) -> None:
    c = h.container
    # nothing backed up yet: the watch says so as an error (KuraBackupMissing)
    empty = await h.ok(OPERATOR, "GET", "/backups")
    assert empty["configured"] is True
    assert empty["generations"] == []
    assert empty["newest_age_s"] is None
    assert empty["policy"]["keep_keys"] == 3
    assert check(await h.ok(OPERATOR, "GET", "/backups/watch"), "backup_age")["level"] == "error"

    await c.blobs.put("s/wc-W1/a", one(DATA1))
    await backup(c, Target.of(c.settings))
    h.clock.advance(hours=2)
    await c.blobs.put("s/wc-W2/b", one(DATA2))
    await backup(c, Target.of(c.settings))
    h.clock.advance(hours=1)

    found = await h.ok(OPERATOR, "GET", "/backups")
    second, first = found["generations"]  # newest first
    assert first["kind"] == "full"
    assert second["kind"] == "incremental"
    assert first["objects"] == 1
    assert second["objects"] == 2
    # bytes as stored (sealed: ciphertext, larger than the plain data), read beside the app
    raw = build_blobs(c.settings)
    await raw.open()
    try:
        sizes = {i.key: i.size async for i in raw.list("s/")}
    finally:
        await raw.close()
    assert sizes["s/wc-W2/b"] > len(DATA2)
    assert second["bytes"] == sum(sizes.values())
    assert first["bytes"] == sizes["s/wc-W1/a"]
    assert second["copied_bytes"] == sizes["s/wc-W2/b"]
    assert first["created_at"].startswith("2026-06-08T01:00:00")
    assert found["newest_age_s"] == 3600
    assert [g["name"] for g in found["key_generations"]] == [second["name"], first["name"]]
    assert found["keys"]["kek"] == "keyring"
    assert found["keys"]["count"] == 1
    assert found["keys"]["scopes_active"] == 2
    assert found["target"] == str(c.settings.backup.target)

    watch = await h.ok(OPERATOR, "GET", "/backups/watch")
    age = check(watch, "backup_age")
    assert (age["level"], age["value"]) == ("ok", 3600)
    assert check(watch, "jobs_failed")["level"] == "ok"
    assert check(watch, "kek_age")["level"] == "ok"
    assert {c["key"] for c in watch["checks"]} >= {"disk_free", "mail_dead", "certificate"}
    # past the RPO's margin (26 h, docs/alerts.yml KuraBackupTooOld): an error
    h.clock.advance(hours=26)
    assert check(await h.ok(OPERATOR, "GET", "/backups/watch"), "backup_age")["level"] == "error"


async def test_a_generation_made_before_summaries_is_read_from_its_manifest(h: Harness) -> None:
    c = h.container
    await c.blobs.put("s/wc-W1/a", one(DATA1))
    await backup(c, Target.of(c.settings))
    root = c.settings.backup.target
    assert root is not None
    [summary] = list(root.glob("generations/*/summary.json"))
    summary.unlink()
    [gen] = (await h.ok(OPERATOR, "GET", "/backups"))["generations"]
    assert (gen["kind"], gen["objects"]) == ("full", 1)
    assert gen["bytes"] > len(DATA1)  # sealed
    assert gen["copied_bytes"] is None


async def test_without_a_target_the_page_says_so(settings: Settings) -> None:
    async with harness(settings) as h:
        found = await h.ok(OPERATOR, "GET", "/backups")
        assert found["configured"] is False
        assert found["generations"] == []
        age = check(await h.ok(OPERATOR, "GET", "/backups/watch"), "backup_age")
        assert (age["level"], age["reason"]) == ("warn", "not_set")
