"""The keyed audit chain and its checkpoints (issue 7 item 6): someone who can write the
database but not read the key file cannot re-chain an edit, cut the end of the log past a
checkpoint, or forge a checkpoint. Run on the embedded backends (SQLite, local blobs) and,
with the servers env, on MongoDB + S3, through ``kura audit`` as an operator would.

The attacks go through the record and blob ports, i.e. with exactly the powers of someone
holding the database's and the bucket's credentials. Expected hashes are computed here from
the documented formulas (``hashlib`` / ``hmac`` over the canonical JSON), not by the code
under test.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import os
import stat
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from api.audit.keys import AuditKeyError
from api.audit.service import AuditLog
from api.cli import cli
from api.cli._run import with_container
from api.config import Settings
from api.container import Container, build_records
from tests.conftest import server_env
from workers.celery_app import beat_schedule, shutdown_runtime

EVENTS = "audit_events"
HEAD = "audit_head"
PREFIX = "audit/checkpoints/"


@pytest.fixture(params=["embedded", pytest.param("real", marks=pytest.mark.servers)])
def env(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The ``KURA_*`` environment of one stack; returns the data folder."""
    data = tmp_path / "kura"
    monkeypatch.setenv("KURA_DATA_DIR", str(data))
    monkeypatch.setenv("KURA_JOBS__EAGER", "true")
    monkeypatch.setenv("KURA_LOG_JSON", "false")
    if request.param == "real":
        tag = uuid.uuid4().hex[:12]
        monkeypatch.setenv("KURA_RECORDS__BACKEND", "mongodb")
        monkeypatch.setenv("KURA_RECORDS__MONGO_URI", server_env("KURA_TEST_MONGO_URI"))
        monkeypatch.setenv("KURA_RECORDS__MONGO_DB", f"kura_audit_{tag}")
        monkeypatch.setenv("KURA_BLOBS__BACKEND", "s3")
        endpoint = server_env("KURA_TEST_S3_ENDPOINT").removeprefix("http://")
        monkeypatch.setenv("KURA_BLOBS__S3_ENDPOINT", endpoint)
        monkeypatch.setenv("KURA_BLOBS__S3_ACCESS_KEY", os.environ["KURA_TEST_S3_ACCESS_KEY"])
        monkeypatch.setenv("KURA_BLOBS__S3_SECRET_KEY", os.environ["KURA_TEST_S3_SECRET_KEY"])
        monkeypatch.setenv("KURA_BLOBS__S3_BUCKET", f"kura-audit-{tag}")
    return data


@pytest.fixture
def key_path(env: Path) -> Path:
    return env.parent / f"{env.name}.audit-key"


def kura(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def record(n: int) -> None:
    async def work(c: Container) -> None:
        log = AuditLog(c.records, c.clock)
        for i in range(n):
            async with c.uow():
                await log.record("system:test", "things.created", f"things/{i}", after={"i": i})

    with_container(work)


async def events(c: Container) -> list[dict[str, Any]]:
    return [e async for e in c.records.scan(EVENTS)]


def sha256_hash(event: dict[str, Any]) -> str:
    """The plain SHA-256 chain hash an attacker (or the old code) computes."""
    body = {k: v for k, v in event.items() if k not in ("hash", "version")}
    raw = json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(raw.encode()).hexdigest()


async def rechain(
    c: Container, events_: list[dict[str, Any]], start: int, rehash: Any = sha256_hash
) -> None:
    """Rewrite events from index ``start`` on with recomputed hashes and links, and move the
    head to the new last hash: what a database writer does to hide an edit."""
    prev = events_[start - 1]["hash"] if start else "0" * 64
    for event in events_[start:]:
        event["prev_hash"] = prev
        event["hash"] = rehash(event)
        prev = event["hash"]
        await c.records.replace(EVENTS, event, event["version"])
    head = await c.records.get(HEAD, "head")
    assert head is not None
    last = events_[-1]
    await c.records.update(
        HEAD, "head", {"seq": last["seq"], "hash": last["hash"]}, head["version"]
    )


def verify(*args: str) -> Result:
    return kura("audit", "verify", *args)


def key_secrets(path: Path) -> dict[str, bytes]:
    data = json.loads(path.read_text())
    return {k["id"]: base64.b64decode(k["secret"]) for k in data["keys"]}


@pytest.fixture(autouse=True)
def drop_mongo(env: Path) -> Iterator[None]:
    yield
    if os.environ.get("KURA_RECORDS__BACKEND") == "mongodb":

        async def drop(c: Container) -> None:
            await c.records.drop_database()  # type: ignore[attr-defined]

        with_container(drop)


# -- the keyed chain -------------------------------------------------------------------------


def test_events_are_sealed_with_hmac_under_the_key_file(env: Path, key_path: Path) -> None:
    record(3)
    assert key_path.exists()
    assert not key_path.is_relative_to(env)
    assert stat.S_IMODE(key_path.stat().st_mode) == 0o600
    (key_id, secret), *_ = key_secrets(key_path).items()
    assert key_id == hashlib.sha256(b"kura-audit-key-id\0" + secret).hexdigest()[:16]
    stored = with_container(events)
    for event in stored:
        assert event["key_id"] == key_id
        body = {k: v for k, v in event.items() if k not in ("hash", "version")}
        raw = json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        message = b"kura-audit-event\n" + raw.encode()
        assert event["hash"] == hmac.new(secret, message, hashlib.sha256).hexdigest()
        assert event["hash"] != sha256_hash(event)
    assert [e["prev_hash"] for e in stored[1:]] == [e["hash"] for e in stored[:-1]]
    out = verify()
    assert out.exit_code == 0, out.output
    assert "intact: 3 events, 0 checkpoints" in out.output
    exported = [json.loads(line) for line in kura("audit", "export").stdout.splitlines()]
    assert [e["key_id"] for e in exported] == [key_id] * 3


def test_an_edit_rechained_with_sha256_and_a_new_head_fails_verify(env: Path) -> None:
    """The regression of issue 7 item 6: edit an event, re-chain everything after it with
    plain SHA-256 and update the head. The unkeyed chain passed this; the keyed one must not."""
    record(4)

    async def attack(c: Container) -> None:
        stored = await events(c)
        stored[1]["actor_id"] = "mallory"
        await rechain(c, stored, 1)

    with_container(attack)
    out = verify()
    assert out.exit_code == 1, out.output
    for seq in (2, 3, 4):
        assert f"BROKEN seq={seq} id={seq:016d} reason=edited: hash does not match" in out.output
    assert "chain broken" not in out.output  # the links were rebuilt; only the key betrays it


def test_stripping_the_key_ids_to_pass_as_legacy_fails_verify(env: Path) -> None:
    record(3)

    async def attack(c: Container) -> None:
        stored = await events(c)
        for event in stored:
            del event["key_id"]
        stored[0]["target"] = "things/forged"
        await rechain(c, stored, 0)

    with_container(attack)
    out = verify()
    assert out.exit_code == 1, out.output
    assert "BROKEN seq=1 id=0000000000000001 reason=unkeyed" in out.output
    assert "BROKEN seq=3 id=0000000000000003 reason=unkeyed" in out.output


def test_an_event_under_an_unknown_key_fails_verify(env: Path, key_path: Path) -> None:
    record(2)
    other = os.urandom(32)

    def forged(event: dict[str, Any]) -> str:
        event["key_id"] = hashlib.sha256(b"kura-audit-key-id\0" + other).hexdigest()[:16]
        body = {k: v for k, v in event.items() if k not in ("hash", "version")}
        raw = json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        return hmac.new(other, b"kura-audit-event\n" + raw.encode(), hashlib.sha256).hexdigest()

    async def attack(c: Container) -> None:
        stored = await events(c)
        stored[1]["action"] = "things.deleted"
        await rechain(c, stored, 1, forged)

    with_container(attack)
    out = verify()
    assert out.exit_code == 1
    assert "BROKEN seq=2 id=0000000000000002 reason=unknown key id" in out.output


def test_rotated_keys_sign_new_events_and_old_ones_still_verify(env: Path, key_path: Path) -> None:
    record(2)
    (first,) = key_secrets(key_path)
    out = kura("audit", "rotate-key")
    assert out.exit_code == 0, out.output
    ids = list(key_secrets(key_path))
    assert ids[0] == first
    assert len(ids) == 2
    assert stat.S_IMODE(key_path.stat().st_mode) == 0o600
    record(2)
    assert [e["key_id"] for e in with_container(events)] == [first, first, ids[1], ids[1]]
    assert verify().exit_code == 0


# -- the key file ----------------------------------------------------------------------------


def open_container() -> None:
    async def noop(c: Container) -> None:
        return None

    with_container(noop)


def test_an_exposed_key_file_is_a_clear_error(env: Path, key_path: Path) -> None:
    record(1)
    key_path.chmod(0o644)
    with pytest.raises(AuditKeyError, match=r"mode 0644.*chmod 600"):
        open_container()
    out = verify()
    assert out.exit_code == 2
    assert f"audit key file {key_path}: group or others may access it" in out.stderr
    key_path.chmod(0o600)
    assert verify().exit_code == 0


@pytest.mark.allowed_skip("CI runs as root, and root reads any file whatever its mode")
@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any file")
def test_an_unreadable_key_file_is_a_clear_error(env: Path, key_path: Path) -> None:
    record(1)
    key_path.chmod(0o200)
    try:
        with pytest.raises(AuditKeyError, match="cannot be read"):
            open_container()
    finally:
        key_path.chmod(0o600)


def test_a_malformed_or_missing_key_file_is_a_clear_error(
    env: Path, key_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    record(1)
    good = key_path.read_bytes()
    key_path.write_bytes(b'{"format": "kura-audit-keys/1", "keys": []}')
    with pytest.raises(AuditKeyError, match="malformed"):
        open_container()
    key_path.unlink()
    monkeypatch.setenv("KURA_AUDIT__CREATE_KEY", "false")
    with pytest.raises(AuditKeyError, match="missing and KURA_AUDIT__CREATE_KEY is false"):
        open_container()
    key_path.write_bytes(good)
    key_path.chmod(0o600)
    assert verify().exit_code == 0


def test_the_key_file_path_is_a_setting(env: Path, tmp_path: Path, monkeypatch: Any) -> None:
    custom = tmp_path / "secrets" / "kura-audit.key"
    monkeypatch.setenv("KURA_AUDIT__KEY_FILE", str(custom))
    assert Settings().audit_key_path == custom
    record(1)
    assert stat.S_IMODE(custom.stat().st_mode) == 0o600
    assert not (env.parent / f"{env.name}.audit-key").exists()


# -- legacy (unkeyed) events -----------------------------------------------------------------


def write_legacy_chain(n: int) -> list[dict[str, Any]]:
    """The events the code before keyed hashing wrote: plain SHA-256, no key id."""

    async def work() -> list[dict[str, Any]]:
        records = build_records(Settings())
        await records.open()
        try:
            prev, out = "0" * 64, []
            for seq in range(1, n + 1):
                event: dict[str, Any] = {
                    "id": f"{seq:016d}",
                    "seq": seq,
                    "at": f"2025-01-0{seq}T00:00:00.000000Z",
                    "actor_id": "system:old",
                    "actor_login": None,
                    "action": "things.created",
                    "target": f"things/{seq}",
                    "before_digest": None,
                    "after_digest": None,
                    "detail": {},
                    "prev_hash": prev,
                }
                event["hash"] = prev = sha256_hash(event)
                out.append(await records.insert(EVENTS, event))
            await records.insert(HEAD, {"id": "head", "seq": n, "hash": prev})
            return out
        finally:
            await records.close()

    return asyncio.run(work())


def test_legacy_events_verify_up_to_the_boundary_the_key_file_pinned(
    env: Path, key_path: Path
) -> None:
    legacy = write_legacy_chain(3)
    record(2)  # first start after the upgrade: the key file pins event 3
    assert json.loads(key_path.read_text())["legacy"] == {"until": 3, "hash": legacy[2]["hash"]}
    stored = with_container(events)
    assert [e.get("key_id") is None for e in stored] == [True, True, True, False, False]
    out = verify()
    assert out.exit_code == 0, out.output
    assert "intact: 5 events" in out.output


def test_an_edit_of_legacy_events_rechained_with_sha256_fails_verify(env: Path) -> None:
    write_legacy_chain(3)
    record(1)

    async def attack(c: Container) -> None:
        stored = await events(c)
        stored[1]["actor_id"] = "mallory"
        await rechain(c, stored[:3], 1)  # the legacy part only; event 4 is keyed

    with_container(attack)
    out = verify()
    assert out.exit_code == 1
    assert "BROKEN seq=3 id=0000000000000003 reason=edited: differs from the hash pinned" in (
        out.output
    )
    assert "BROKEN seq=4 id=0000000000000004 reason=chain broken" in out.output


def test_legacy_events_cut_before_any_keyed_event_are_found(env: Path) -> None:
    write_legacy_chain(3)
    open_container()  # the upgrade's first start creates the key file (legacy until 3)

    async def attack(c: Container) -> None:
        stored = await events(c)
        await c.records.delete(EVENTS, stored[2]["id"], stored[2]["version"])
        head = await c.records.get(HEAD, "head")
        assert head is not None
        await c.records.update(HEAD, "head", {"seq": 2, "hash": stored[1]["hash"]}, 1)

    with_container(attack)
    out = verify()
    assert out.exit_code == 1
    assert "BROKEN seq=3 id=0000000000000003 reason=missing: events 3..3 removed" in out.output


# -- checkpoints -----------------------------------------------------------------------------


async def checkpoint_objects(c: Container) -> list[str]:
    return [info.key async for info in c.blobs.list(PREFIX)]


def test_checkpoints_are_written_once_per_head_and_verified(env: Path) -> None:
    assert "audit.checkpoint" in {e["task"] for e in beat_schedule(Settings()).values()}
    assert kura("audit", "checkpoint").output.strip() == "the audit log is empty: nothing to pin"
    record(3)
    out = kura("audit", "checkpoint")
    assert out.exit_code == 0, out.output
    assert "checkpoint seq=3" in out.output
    assert "written" in out.output
    assert "already pinned" in kura("audit", "checkpoint").output

    async def beat(c: Container) -> None:  # the beat task, eagerly, in its own container
        await c.jobs.enqueue("audit.checkpoint")

    try:
        with_container(beat)
        record(2)
        with_container(beat)
    finally:
        shutdown_runtime()  # close the eager worker's own container
    assert with_container(checkpoint_objects) == [
        f"{PREFIX}{3:016d}.json",
        f"{PREFIX}{5:016d}.json",
    ]
    out = verify()
    assert out.exit_code == 0, out.output
    assert "intact: 5 events, 2 checkpoints, newest at seq 5" in out.output


def cut_after(keep: int) -> None:
    """Delete the events after ``keep`` and set the head back to event ``keep``: each kept
    event is genuine, so the chain alone cannot tell."""

    async def attack(c: Container) -> None:
        stored = await events(c)
        for event in stored[keep:]:
            await c.records.delete(EVENTS, event["id"], event["version"])
        head = await c.records.get(HEAD, "head")
        assert head is not None
        last = stored[keep - 1]
        await c.records.update(
            HEAD, "head", {"seq": last["seq"], "hash": last["hash"]}, head["version"]
        )

    with_container(attack)


def test_events_cut_from_the_end_are_found_by_a_checkpoint(env: Path, tmp_path: Path) -> None:
    record(5)
    assert kura("audit", "checkpoint", "-o", str(tmp_path / "cp.json")).exit_code == 0
    cut_after(3)
    out = verify()
    assert out.exit_code == 1
    assert (
        f"BROKEN seq=4 id=0000000000000004 reason=missing: events 4..5 removed "
        f"(pinned by {PREFIX}{5:016d}.json)"
    ) in out.output

    async def remove_checkpoints(c: Container) -> None:  # who can also write the bucket
        for key in await checkpoint_objects(c):
            await c.blobs.delete(key)

    with_container(remove_checkpoints)
    assert verify().exit_code == 0  # nothing left inside Kura pins event 5 ...
    out = verify("--checkpoint", str(tmp_path / "cp.json"))
    assert out.exit_code == 1  # ... but the file the operator kept does
    assert "missing: events 4..5 removed" in out.output


def test_forged_or_foreign_checkpoints_fail_verify(env: Path) -> None:
    record(3)
    assert kura("audit", "checkpoint").exit_code == 0
    key = f"{PREFIX}{3:016d}.json"

    async def forge(c: Container) -> None:
        raw = b"".join([chunk async for chunk in c.blobs.get(key)])
        doc = json.loads(raw)
        doc["seq"] = 9  # claims more events than there were
        await c.blobs.put(f"{PREFIX}{9:016d}.json", one(json.dumps(doc).encode()))
        doc.update(seq=3, key_id="0123456789abcdef")
        await c.blobs.put(f"{PREFIX}{4:016d}.json", one(json.dumps(doc).encode()))
        await c.blobs.put(f"{PREFIX}{5:016d}.json", one(b"not json"))

    with_container(forge)
    out = verify()
    assert out.exit_code == 1
    assert f"BROKEN seq=9 id=0000000000000009 reason=checkpoint {PREFIX}" in out.output
    assert "forged: its mac does not match its content" in out.output
    assert "signed with unknown key id 0123456789abcdef" in out.output
    assert f"id={PREFIX}{5:016d}.json reason=checkpoint unreadable: not JSON" in out.output
    assert "removed" not in out.output  # a forged checkpoint pins nothing


def test_an_edit_of_a_checkpointed_event_is_named_by_the_checkpoint(env: Path) -> None:
    record(3)
    assert kura("audit", "checkpoint").exit_code == 0

    async def attack(c: Container) -> None:
        stored = await events(c)
        stored[2]["hash"] = "f" * 64  # an attacker's guess at a hash for event 3
        await rechain(c, stored, 3)
        await c.records.replace(EVENTS, stored[2], stored[2]["version"])

    with_container(attack)
    out = verify()
    assert out.exit_code == 1
    assert f"reason=edited: differs from checkpoint {PREFIX}{3:016d}.json" in out.output


def test_no_checkpoint_certifies_a_tampered_head(env: Path) -> None:
    record(3)

    async def attack(c: Container) -> None:
        stored = await events(c)
        stored[2]["actor_id"] = "mallory"
        await rechain(c, stored, 2)

    with_container(attack)
    out = kura("audit", "checkpoint")
    assert out.exit_code == 2
    assert "event 3 does not match the head or its key" in out.stderr
    assert with_container(checkpoint_objects) == []


async def one(data: bytes) -> AsyncIterator[bytes]:
    yield data
