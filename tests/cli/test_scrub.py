"""``kura scrub``: intact objects pass; a changed, truncated or missing object is named."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from api.archive.cas import ContentStore
from api.cli import cli
from api.config import Settings
from api.container import Container


async def _chunks(data: bytes) -> AsyncIterator[bytes]:
    yield data


def _store(settings: Settings, contents: list[bytes]) -> list[dict[str, object]]:
    async def main() -> list[dict[str, object]]:
        container = Container(settings)
        await container.open()
        try:
            cas = ContentStore(container.records, container.blobs, container.clock)
            out = []
            for data in contents:
                async with container.uow() as uow:
                    out.append(await cas.put("o-SCRUB", _chunks(data), uow))
            return out
        finally:
            await container.close()

    return asyncio.run(main())


@pytest.fixture
def env(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("KURA_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("KURA_JOBS__EAGER", "true")
    return settings


def test_scrub_intact_then_names_damaged_objects(env: Settings) -> None:
    a, b, c = _store(env, [b"first object", b"second object", b"third object"])
    runner = CliRunner()
    ok = runner.invoke(cli, ["scrub"])
    assert ok.exit_code == 0, ok.output
    assert "objects checked: 3, bad: 0" in ok.output

    root = env.blobs_root
    Path(root, str(a["key"])).write_bytes(b"first objecT")  # bit rot
    Path(root, str(b["key"])).write_bytes(b"second")  # truncated
    Path(root, str(c["key"])).unlink()  # lost
    bad = runner.invoke(cli, ["scrub", "--quiet"])
    assert bad.exit_code == 1, bad.output
    # Objects are sealed (issue 12 §1): altered or cut ciphertext fails authentication.
    assert f"sha256={a['sha256']} key={a['key']} reason=tampered" in bad.output
    assert f"sha256={b['sha256']} key={b['key']} reason=tampered" in bad.output
    assert f"sha256={c['sha256']} key={c['key']} reason=missing" in bad.output


def test_scrub_error_exits_2(env: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KURA_RECORDS__BACKEND", "mongodb")
    monkeypatch.setenv("KURA_RECORDS__MONGO_URI", "mongodb://127.0.0.1:1/?directConnection=true")
    monkeypatch.setenv("KURA_RECORDS__TIMEOUT_S", "0.3")
    result = CliRunner().invoke(cli, ["scrub"])
    assert result.exit_code == 2, result.output
