"""Per-scope data keys through the settings, and crypto-erasure (issue 12 §1-2).

Each test builds the deployment's ``Container`` from settings, so the blob adapter, the key
ring, the keyring file and the key store are the ones a real process uses: the embedded stack
always, MongoDB + S3 when the real test servers are on. "What someone with the disk or the
bucket sees" is read through a second blob adapter on the same root or bucket without sealing.
"""

from __future__ import annotations

import json
import os
import stat
import uuid
from collections.abc import AsyncIterator

import pytest
from click.testing import CliRunner

from api.cli import cli
from api.cli._run import with_container
from api.config import Settings
from api.container import Container, build_blobs
from api.keys import scopes
from api.keys.erasure import erase
from api.keys.keyring import KeyringError
from api.keys.ring import DATA_KEYS
from api.works.lifecycle import LegalHoldActive
from storage.errors import KeyDestroyed
from storage.ports import BlobStore
from tests.conftest import server_env

pytestmark = pytest.mark.anyio

MARK = b"KURA-PLAINTEXT-MARKER-"
DATA = MARK * 20000  # ~440 KB, several segments


async def one(data: bytes) -> AsyncIterator[bytes]:
    yield data


async def read(store: BlobStore, key: str, start: int = 0, end: int | None = None) -> bytes:
    return b"".join([c async for c in store.get(key, start, end)])


@pytest.fixture(params=["embedded", "servers"])
async def deployment(request: pytest.FixtureRequest, settings: Settings) -> AsyncIterator[Settings]:
    """Settings of the embedded stack, or of MongoDB + S3 (dropped afterwards)."""
    if request.param == "embedded":
        yield settings
        return
    mongo = server_env("KURA_TEST_MONGO_URI")
    endpoint = server_env("KURA_TEST_S3_ENDPOINT")
    tag = uuid.uuid4().hex[:12]
    real = Settings(
        data_dir=settings.data_dir,
        log_json=False,
        jobs={"eager": True},
        records={"backend": "mongodb", "mongo_uri": mongo, "mongo_db": f"kura_test_{tag}"},
        blobs={
            "backend": "s3",
            "s3_endpoint": endpoint,
            "s3_bucket": f"kura-test-{tag}",
            "s3_access_key": os.environ.get("KURA_TEST_S3_ACCESS_KEY", ""),
            "s3_secret_key": os.environ.get("KURA_TEST_S3_SECRET_KEY", ""),
            "part_size": 5 << 20,
        },
    )
    try:
        yield real
    finally:
        c = Container(real)
        await c.open()
        drop_bucket = getattr(c.blobs, "drop_bucket", None)
        if drop_bucket is not None:
            await drop_bucket()
        for store in (c.records, c.keys.store):
            drop = getattr(store, "drop_database", None)
            if drop is not None:
                await drop()
        await c.close()


async def opened(settings: Settings) -> Container:
    c = Container(settings)
    await c.open()
    return c


def raw_blobs(settings: Settings) -> BlobStore:
    """The same root or bucket without sealing: what the disk or the bucket holds."""
    return build_blobs(settings)


async def test_objects_of_a_scope_are_sealed_with_its_key(deployment: Settings) -> None:
    c = await opened(deployment)
    raw = raw_blobs(deployment)
    await raw.open()
    try:
        key = scopes.prefix(scopes.collab("W1")) + "objects/a.bin"
        info = await c.blobs.put(key, one(DATA))
        assert info.size == len(DATA)
        assert await read(c.blobs, key) == DATA
        assert await read(c.blobs, key, 70000, 70010) == DATA[70000:70010]
        stored = await read(raw, key)
        assert MARK not in stored
        assert len(stored) > len(DATA)
        # Another scope has its own key; objects outside every scope stay as they are.
        other = scopes.prefix(scopes.archive("W1")) + "objects/a.bin"
        await c.blobs.put(other, one(DATA))
        records = [r async for r in c.keys.store.scan(DATA_KEYS)]
        assert sorted(r["scope"] for r in records) == ["wa-W1", "wc-W1"]
        assert all(MARK not in json.dumps(r).encode() for r in records)
        await c.blobs.put("plain/x", one(b"as is"))
        assert await read(raw, "plain/x") == b"as is"
    finally:
        await raw.close()
        await c.close()


async def test_keyring_file_is_created_0600_outside_the_data_folder(settings: Settings) -> None:
    c = await opened(settings)
    await c.blobs.put("s/o-ORG1/x", one(b"x"))
    await c.close()
    path = settings.keyring_path
    assert path.exists()
    assert settings.data_dir not in path.parents
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    # The wrapped keys are kept apart from the records too (own store beside the keyring).
    assert path.with_name(path.name + ".keys.sqlite3").exists()


async def test_an_exposed_or_malformed_keyring_refuses_to_start(settings: Settings) -> None:
    c = await opened(settings)
    await c.close()
    path = settings.keyring_path
    path.chmod(0o644)
    with pytest.raises(KeyringError, match="chmod 600"):
        await opened(settings)
    path.chmod(0o600)
    path.write_text('{"format": "kura-keyring/1", "keks": []}')
    with pytest.raises(KeyringError, match="malformed"):
        await opened(settings)


async def test_a_missing_keyring_is_not_replaced_while_keys_exist(settings: Settings) -> None:
    c = await opened(settings)
    await c.blobs.put("s/wc-W1/a", one(DATA))
    await c.close()
    settings.keyring_path.unlink()
    with pytest.raises(KeyringError, match="restore the keyring"):
        await opened(settings)
    assert not settings.keyring_path.exists()


async def test_a_wrong_keyring_cannot_unwrap_and_says_so(settings: Settings) -> None:
    c = await opened(settings)
    key = "s/wc-W1/a"
    await c.blobs.put(key, one(DATA))
    await c.close()
    # Another deployment's keyring put in its place.
    other = settings.model_copy(update={"data_dir": settings.data_dir.parent / "other"})
    await (await opened(other)).close()
    settings.keyring_path.write_bytes(other.keyring_path.read_bytes())
    c = await opened(settings)
    try:
        with pytest.raises(KeyringError, match="has no key"):
            await read(c.blobs, key)
    finally:
        await c.close()


async def test_erasure_makes_every_copy_unreadable(deployment: Settings) -> None:
    """Seed 001 別表3 12, seed 003 遵守事項 (3): after erasure nothing of the scope can be
    decrypted, not even a copy of its ciphertext taken before (a backup) and put back."""
    c = await opened(deployment)
    other_process = await opened(deployment)
    raw = raw_blobs(deployment)
    await raw.open()
    try:
        scope = scopes.collab("W1")
        keys = [scopes.prefix(scope) + f"objects/{i}" for i in range(3)]
        for key in keys:
            await c.blobs.put(key, one(DATA))
        kept = scopes.prefix(scopes.collab("W2")) + "objects/0"
        await c.blobs.put(kept, one(DATA))
        assert await read(other_process.blobs, keys[0]) == DATA  # its key is now cached
        copy = await read(raw, keys[0])  # a backup of the ciphertext

        done = await erase(c, scope, "operator:test", "引渡し後の消去")
        assert done.objects == 3
        assert len(done.destroyed.key_ids) == 1

        assert [i async for i in c.blobs.list(scopes.prefix(scope))] == []
        await raw.put(keys[0], one(copy))  # the backup copy put back
        with pytest.raises(KeyDestroyed):
            await read(c.blobs, keys[0])
        other_process.keys.revalidate_s = 0.0001  # the other process notices within this
        with pytest.raises(KeyDestroyed):
            await read(other_process.blobs, keys[0])
        # Nothing new goes into an erased scope; other scopes are untouched.
        with pytest.raises(KeyDestroyed):
            await c.blobs.put(keys[1], one(b"new"))
        assert await read(c.blobs, kept) == DATA
        # The key store no longer holds any wrapped key of the scope.
        assert [r async for r in c.keys.store.scan(DATA_KEYS) if r["scope"] == scope] == []
        again = await erase(c, scope, "operator:test")
        assert again.destroyed.already
        events = [e async for e in c.records.scan("audit_events")]
        erased = [e for e in events if e.get("action") == "keys.destroyed"]
        assert erased
        assert erased[0]["target"] == f"key_scopes/{scope}"
        assert erased[0]["detail"]["keys"] == list(done.destroyed.key_ids)
    finally:
        await raw.close()
        await other_process.close()
        await c.close()


async def test_erasure_of_a_work_under_legal_hold_is_refused(settings: Settings) -> None:
    c = await opened(settings)
    try:
        await c.records.insert("works", {"id": "W1", "legal_hold": {"reason": "訴訟"}})
        key = "s/wa-W1/objects/a"
        await c.blobs.put(key, one(DATA))
        with pytest.raises(LegalHoldActive):
            await erase(c, scopes.archive("W1"), "operator:test")
        assert await read(c.blobs, key) == DATA
        assert await c.keys.destroyed("wa-W1") is None
    finally:
        await c.close()


def test_kura_keys_erase_and_list(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KURA_DATA_DIR", str(settings.data_dir))

    async def setup(c: Container) -> None:
        await c.blobs.put("s/wc-W9/a", one(DATA))

    with_container(setup)
    runner = CliRunner()
    refused = runner.invoke(cli, ["keys", "erase", "wc-W9", "--by", "山田"], input="n\n")
    assert refused.exit_code == 1
    done = runner.invoke(cli, ["keys", "erase", "wc-W9", "--by", "山田", "--yes"])
    assert done.exit_code == 0, done.output
    assert "destroyed" in done.output
    assert "objects deleted: 1" in done.output
    listed = runner.invoke(cli, ["keys", "list"])
    assert listed.exit_code == 0
    assert "wc-W9\tdestroyed" in listed.output
    assert "operator:山田" in listed.output
    bad = runner.invoke(cli, ["keys", "erase", "not-a-scope", "--by", "x", "--yes"])
    assert bad.exit_code == 2
    assert "not a scope" in bad.output


async def test_reading_erased_or_damaged_content_answers_problem_json(settings: Settings) -> None:
    """Never a bare 5xx: an erased scope is 410 ``erased``, a tampered object 500
    ``data_damaged``, both problem+json with a Japanese title."""
    import httpx
    from fastapi.responses import Response

    from api.app import create_app

    c = await opened(settings)
    app = create_app(settings, container=c)

    @app.get("/test-blob/{key:path}")
    async def blob(key: str) -> Response:
        return Response(b"".join([x async for x in c.blobs.get(key)]))

    try:
        await c.blobs.put("s/wc-W1/a", one(DATA))
        await c.blobs.put("s/wc-W2/b", one(DATA))
        raw = raw_blobs(settings)
        stored = bytearray(await read(raw, "s/wc-W2/b"))
        stored[-1] ^= 1
        await raw.put("s/wc-W2/b", one(bytes(stored)))
        copy = await read(raw, "s/wc-W1/a")
        await erase(c, "wc-W1", "operator:test")
        await raw.put("s/wc-W1/a", one(copy))  # a copy that survived (a restored disk)
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            gone = await client.get("/test-blob/s/wc-W1/a")
            damaged = await client.get("/test-blob/s/wc-W2/b")
    finally:
        await c.close()
    assert gone.status_code == 410
    assert gone.headers["content-type"].startswith("application/problem+json")
    assert gone.json()["code"] == "erased"
    assert "消去" in gone.json()["title"]
    assert damaged.status_code == 500
    assert damaged.json()["code"] == "data_damaged"
