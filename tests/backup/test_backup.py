"""The restore drill (issue 12 §3; seed 001 別表3 8, 10, 12): build data, back up, change and
erase some, restore into an empty target, and check that what should be back is back byte for
byte and what was erased is not, also once the key generations rotated past the erasure.

Everything runs through the ``kura`` commands with settings from the environment, on the
embedded stack and (blobs on S3) when the real test servers are on.
"""

from __future__ import annotations

import hashlib
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from api.backup.generations import keep_set, list_generations
from api.cli._run import with_container
from api.config import Settings
from api.container import Container
from api.keys.ring import ScopeKeyRing
from storage.blobs.sealing import HEADER, Header
from storage.errors import KeyDestroyed
from storage.records.sqlite import SqliteRecordStore
from tests.backup.support import BIG, DATA1, DATA2, MARK, kura, one, read
from tests.conftest import server_env


@pytest.fixture(params=["local", "s3"])
def env(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[dict[str, Any]]:
    """Environment of a deployment whose data folder is switched by ``use(name)``."""
    buckets: list[str] = []
    monkeypatch.setenv("KURA_LOG_JSON", "false")
    monkeypatch.setenv("KURA_JOBS__EAGER", "true")
    monkeypatch.setenv("KURA_BACKUP__TARGET", str(tmp_path / "backups"))

    def use(name: str) -> None:
        monkeypatch.setenv("KURA_DATA_DIR", str(tmp_path / name))
        if request.param == "s3":
            bucket = f"kura-test-{name}-{uuid.uuid4().hex[:8]}"
            buckets.append(bucket)
            monkeypatch.setenv("KURA_BLOBS__S3_BUCKET", bucket)

    if request.param == "s3":
        monkeypatch.setenv("KURA_BLOBS__BACKEND", "s3")
        monkeypatch.setenv("KURA_BLOBS__S3_ENDPOINT", server_env("KURA_TEST_S3_ENDPOINT"))
        monkeypatch.setenv(
            "KURA_BLOBS__S3_ACCESS_KEY", os.environ.get("KURA_TEST_S3_ACCESS_KEY", "")
        )
        monkeypatch.setenv(
            "KURA_BLOBS__S3_SECRET_KEY", os.environ.get("KURA_TEST_S3_SECRET_KEY", "")
        )
        monkeypatch.setenv("KURA_BLOBS__PART_SIZE", str(5 << 20))
    use("data")
    yield {"use": use, "root": tmp_path}
    for bucket in buckets:
        monkeypatch.setenv("KURA_BLOBS__S3_BUCKET", bucket)

        async def drop(c: Container) -> None:
            await c.blobs.drop_bucket()  # type: ignore[attr-defined]

        with_container(drop)


def build_data() -> None:
    async def run(c: Container) -> None:
        await c.blobs.put("s/wc-W1/a", one(DATA1), content_type="text/plain")
        await c.blobs.put("s/wc-W2/b", one(DATA2))
        await c.blobs.put("s/wa-W1/big", one(BIG), metadata={"name": "big.bin"})
        await c.blobs.put("plain/x", one(b"outside every scope"))
        await c.records.insert("drill_notes", {"id": "W1", "name": "工事1"})
        await c.records.insert("drill_notes", {"id": "W2", "name": "工事2"})

    with_container(run)


def change_data() -> None:
    async def run(c: Container) -> None:
        await c.blobs.put("s/wc-W1/c", one(b"after the backup"))
        work = await c.records.get("drill_notes", "W1")
        assert work is not None
        await c.records.update("drill_notes", "W1", {"name": "変更後"}, work["version"])

    with_container(run)


def test_restore_drill(env: dict[str, Any]) -> None:
    root: Path = env["root"]
    build_data()
    first = kura("backup")
    assert first.exit_code == 0, first.output
    gen1 = list_generations(root / "backups" / "generations")[-1]
    # The pool holds the stored bytes: sealed objects stay ciphertext in the backup.
    pool = [p for p in (root / "backups" / "pool").rglob("*") if p.is_file()]
    assert pool
    assert sum(MARK in p.read_bytes() for p in pool) == 0
    # Keys are backed up apart from the data.
    assert list_generations(root / "backups-keys" / "generations") == [gen1]
    assert not list((root / "backups").rglob("keyring"))

    change_data()
    erased = kura("keys", "erase", "wc-W2", "--by", "運用者", "--yes")
    assert erased.exit_code == 0, erased.output
    second = kura("backup")
    assert second.exit_code == 0, second.output
    assert "1 copied" in second.output  # incremental: only the new object was copied

    env["use"]("restored")
    restored = kura("restore", gen1)
    assert restored.exit_code == 0, restored.output
    assert "wc-W2" in restored.output
    # Back byte for byte, with the right digests and metadata.
    assert read("s/wc-W1/a") == DATA1
    assert read("s/wa-W1/big") == BIG
    assert read("plain/x") == b"outside every scope"

    async def check(c: Container) -> None:
        info = await c.blobs.stat("s/wc-W1/a")
        assert info is not None
        assert info.sha256 == hashlib.sha256(DATA1).hexdigest()
        assert info.content_type == "text/plain"
        big = await c.blobs.stat("s/wa-W1/big")
        assert big is not None
        assert big.metadata == {"name": "big.bin"}
        work = await c.records.get("drill_notes", "W1")
        assert work is not None
        assert work["name"] == "工事1"  # as in the generation, not as changed after it
        assert await c.keys.destroyed("wc-W2") is not None
        with pytest.raises(KeyDestroyed):
            await c.keys.current("wc-W2")

    with_container(check)
    # What came after the generation is not there; the erased scope is not back.
    assert read("s/wc-W1/c") is None
    assert read("s/wc-W2/b") is None

    # Restoring again into the now non-empty target is refused, nothing changed.
    again = kura("restore", gen1)
    assert again.exit_code == 2
    assert "not empty" in again.output
    assert read("s/wc-W1/a") == DATA1


def test_erased_scope_is_unreadable_in_every_backup_once_key_generations_rotated(
    env: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    root: Path = env["root"]
    build_data()
    assert kura("backup").exit_code == 0
    gen1 = list_generations(root / "backups" / "generations")[-1]
    assert kura("keys", "erase", "wc-W2", "--by", "運用者", "--yes").exit_code == 0
    monkeypatch.setenv("KURA_BACKUP__KEEP_KEYS", "1")
    rotated = kura("backup")
    assert rotated.exit_code == 0, rotated.output
    assert gen1 in rotated.output  # the key generation of gen1 was pruned
    # The data generation gen1 still holds W2's ciphertext ...
    assert gen1 in list_generations(root / "backups" / "generations")
    import json

    # (the erasure rewrote gen1 without W2's records: manifest.sha256 names its new manifest)
    folder = root / "backups" / "generations" / gen1
    manifest = json.loads(
        (folder / (folder / "manifest.sha256").read_text().split()[1]).read_text()
    )
    assert manifest["erasures_applied"] == ["wc-W2"]
    entry = next(e for e in manifest["objects"] if e["key"] == "s/wc-W2/b")
    sha = entry["sha256"]
    stored = (root / "backups" / "pool" / sha[:2] / sha).read_bytes()
    header = Header.parse(stored[:HEADER])
    # ... but no key generation left can unwrap its key.
    for gen in list_generations(root / "backups-keys" / "generations"):
        folder = root / "backups-keys" / "generations" / gen
        ring = ScopeKeyRing(
            SqliteRecordStore(folder / "keys.sqlite3"), folder / "keyring", create_keyring=False
        )

        async def attempt(_: Container, ring: ScopeKeyRing = ring) -> None:
            await ring.open()
            try:
                with pytest.raises(KeyDestroyed):
                    await ring.by_id(header.key_id)
                assert (await ring.by_id(_w1_key_id(root, manifest))).scope == "wc-W1"
            finally:
                await ring.close()

        with_container(attempt)


def _w1_key_id(root: Path, manifest: dict[str, Any]) -> bytes:
    entry = next(e for e in manifest["objects"] if e["key"] == "s/wc-W1/a")
    sha = entry["sha256"]
    return Header.parse((root / "backups" / "pool" / sha[:2] / sha).read_bytes()[:HEADER]).key_id


def test_a_damaged_generation_is_refused_before_anything_is_written(env: dict[str, Any]) -> None:
    root: Path = env["root"]
    build_data()
    assert kura("backup").exit_code == 0
    victim = next(p for p in (root / "backups" / "pool").rglob("*") if p.is_file())
    data = bytearray(victim.read_bytes())
    data[-1] ^= 1
    victim.write_bytes(bytes(data))
    env["use"]("restored")
    failed = kura("restore")
    assert failed.exit_code == 2
    assert "damaged" in failed.output
    assert not (root / "restored").exists()
    assert not (root / "restored.keyring").exists()


def test_backup_target_must_be_apart_from_the_data(env: dict[str, Any]) -> None:
    root: Path = env["root"]
    inside = kura("backup", "--to", str(root / "data" / "bk"))
    assert inside.exit_code == 2
    assert "inside the data folder" in inside.output
    same = kura("backup", "--to", str(root / "b"), "--keys-to", str(root / "b"))
    assert same.exit_code == 2
    assert "apart" in same.output


def test_generations_kept_by_the_policy() -> None:
    """7 daily, 4 weekly, 12 monthly: the newest generation of each bucket is kept."""
    # One generation a day at 02:00 for 120 days (2026-01-01 .. 2026-04-30).
    from datetime import date, timedelta

    days = [date(2026, 1, 1) + timedelta(days=i) for i in range(120)]
    gens = [d.strftime("%Y%m%dT020000Z") for d in days]
    keep = keep_set(gens, 7, 4, 12)
    daily = {f"202604{d:02d}T020000Z" for d in range(24, 31)}
    # Newest of the ISO weeks 2026-W18 (Apr 27-30), W17, W16, W15: the Sundays and Apr 30.
    weekly = {"20260430T020000Z", "20260426T020000Z", "20260419T020000Z", "20260412T020000Z"}
    monthly = {"20260430T020000Z", "20260331T020000Z", "20260228T020000Z", "20260131T020000Z"}
    assert keep == daily | weekly | monthly


def test_settings_defaults() -> None:
    s = Settings()
    assert (s.backup.keep_daily, s.backup.keep_weekly, s.backup.keep_monthly) == (7, 4, 12)


def test_erasure_certificate_names_scope_keys_event_and_backup_horizon(
    env: dict[str, Any], tmp_path: Path
) -> None:
    """Issue 12 §2: the certificate says what was erased, when, by whom, which key, and until
    when older key backups could still decrypt the encrypted copies."""
    import io

    from pypdf import PdfReader

    build_data()
    assert kura("backup").exit_code == 0
    key_gen = list_generations(tmp_path / "backups-keys" / "generations")[-1]
    pdf = tmp_path / "certificate.pdf"
    done = kura(
        "keys",
        "erase",
        "wc-W2",
        "--by",
        "山田",
        "--reason",
        "引渡し後の消去",
        "--yes",
        "--certificate",
        str(pdf),
    )
    assert done.exit_code == 0, done.output
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.read_bytes())).pages)
    compact = "".join(text.split())

    async def facts(c: Container) -> dict[str, Any]:
        record = await c.keys.destroyed("wc-W2")
        assert record is not None
        events = [e async for e in c.records.scan("audit_events")]
        event = next(e for e in events if e.get("action") == "keys.destroyed")
        return {"keys": record["destroyed_keys"], "seq": event["seq"], "hash": event["hash"]}

    known = with_container(facts)
    assert "データ消去証明書" in compact
    assert "wc-W2" in compact
    assert "operator:山田" in compact
    assert "引渡し後の消去" in compact
    assert known["keys"][0] in compact
    assert known["hash"] in compact
    assert key_gen in compact  # the key generation that still holds the key is named
    assert "7回のバックアップ" in compact


def test_interrupted_backup_leaves_no_generation_and_restore_resumes(
    env: dict[str, Any], tmp_path: Path
) -> None:
    build_data()
    # A backup killed half-way: its temporary generation and a partial pool file stay behind.
    gens = tmp_path / "backups" / "generations"
    (gens / ".tmp-20260101T000000Z").mkdir(parents=True)
    (tmp_path / "backups" / "pool" / ".tmp").mkdir(parents=True)
    (tmp_path / "backups" / "pool" / ".tmp" / "partial").write_bytes(b"half")
    assert kura("backup").exit_code == 0
    assert len(list_generations(gens)) == 1
    env["use"]("restored")
    assert kura("restore").exit_code == 0
    # A restore interrupted after the records and keys were written: the marker is still
    # there and an object is missing. Running it again finishes it.
    (tmp_path / "restored" / ".restoring").write_text("interrupted\n")

    async def lose(c: Container) -> None:
        await c.blobs.delete("s/wa-W1/big")

    with_container(lose)
    again = kura("restore")
    assert again.exit_code == 0, again.output
    assert read("s/wa-W1/big") == BIG
    assert not (tmp_path / "restored" / ".restoring").exists()
