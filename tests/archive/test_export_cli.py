"""``kura export --work ID [--folder PATH] OUT.zip`` on the embedded backends."""

from __future__ import annotations

import asyncio
import zipfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner

from api.archive.cas import upload_key
from api.archive.nodes import NodeService, ensure_indexes
from api.cli import export as export_cli
from api.config import Settings
from api.container import Container
from api.keys import scopes
from api.kit.ids import new_id
from storage.query import Eq, Query
from tests.works.harness import OPERATOR


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("KURA_DATA_DIR", str(tmp_path / "kura"))
    monkeypatch.setenv("KURA_JOBS__EAGER", "true")
    monkeypatch.setenv("KURA_LOG_JSON", "false")
    return tmp_path


def _fill() -> dict[str, Any]:
    async def main() -> dict[str, Any]:
        c = Container(Settings())
        await c.open()
        try:
            await ensure_indexes(c.records)
            work = await c.records.insert("works", {"id": new_id(), "title": "工事", "acl": []})
            svc = NodeService(c)
            for folder, name, data in (("A/B", "図面.pdf", b"%PDF-1.4 1"), ("C", "x.txt", b"2")):

                async def one(d: bytes = data) -> AsyncIterator[bytes]:
                    yield d

                async with c.uow() as uow:
                    scope = scopes.archive(str(work["id"]))
                    info = await c.blobs.put(upload_key(scope), one())
                    await svc.add_file(OPERATOR, work, folder, name, info, uow=uow, scope=scope)
            return work
        finally:
            await c.close()

    return asyncio.run(main())


def _events() -> list[dict[str, Any]]:
    async def main() -> list[dict[str, Any]]:
        c = Container(Settings())
        await c.open()
        try:
            q = Query(where=(Eq("action", "files.exported"),), limit=10)
            return (await c.records.find("audit_events", q)).items
        finally:
            await c.close()

    return asyncio.run(main())


def test_export_cli(env: Path) -> None:
    work = _fill()
    group = click.Group()
    export_cli.register(group)
    runner = CliRunner()
    out = env / "all.zip"
    result = runner.invoke(group, ["export", "--work", work["id"], str(out)])
    assert result.exit_code == 0, result.output
    assert "2 files" in result.output
    assert sorted(zipfile.ZipFile(out).namelist()) == [
        "A/",
        "A/B/",
        "A/B/図面.pdf",
        "C/",
        "C/x.txt",
    ]
    part = env / "part.zip"
    result = runner.invoke(group, ["export", "--work", work["id"], "--folder", "A", str(part)])
    assert result.exit_code == 0, result.output
    assert zipfile.ZipFile(part).read("A/B/図面.pdf") == b"%PDF-1.4 1"
    result = runner.invoke(group, ["export", "--work", work["id"], "--folder", "Z", str(part)])
    assert result.exit_code == 1
    result = runner.invoke(group, ["export", "--work", new_id(), str(env / "none.zip")])
    assert result.exit_code == 1
    assert not (env / "none.zip").exists()
    events = _events()
    assert len(events) == 2
    assert {e["actor_id"] for e in events} == {"system:cli"}
    assert events[1]["detail"]["folder_id"] is not None
