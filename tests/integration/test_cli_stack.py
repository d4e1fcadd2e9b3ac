"""``kura import``, ``validate``, ``export``, ``check``, ``reindex`` and ``scrub`` on each stack
(issue 3 item 9, "Done when": the embedded default and the real adapters), invoked through
click's CliRunner with ``KURA_*`` pointing at the stack, as an operator's shell would."""

from __future__ import annotations

import asyncio
import hashlib
import zipfile
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

from click.testing import CliRunner, Result

from api.archive.models import BLOBS
from api.cli import cli
from api.config import Settings
from api.container import Container
from api.kit.ids import new_id
from api.permissions.policy import OrgKind, Subject
from api.works.router import build_service
from api.works.schemas import WorkCreate
from storage.query import Query
from tests.datagen import Options, generate
from tests.integration.conftest import Stack
from tests.works.harness import work_body

T = TypeVar("T")


def run(settings: Settings, work: Callable[[Container], Awaitable[T]]) -> T:
    async def main() -> T:
        container = Container(settings)
        await container.open()
        try:
            return await work(container)
        finally:
            await container.close()

    return asyncio.run(main())


def kura(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def make_work(settings: Settings) -> str:
    """A work registered through the works service by an operator, with real organizations."""

    async def go(c: Container) -> str:
        orderer, contractor, operator = new_id(), new_id(), new_id()
        for oid, kind, name in (
            (orderer, "orderer", "広島県"),
            (contractor, "contractor", "春日建設"),
            (operator, "operator", "運用管理者"),
        ):
            await c.records.insert("organizations", {"id": oid, "kind": kind, "name": name})
        subject = Subject(new_id(), "op", operator, OrgKind.OPERATOR)
        body = work_body(orderer_org_id=orderer, office_id=None, contractor_org_ids=[contractor])
        work = await build_service(c).create(subject, WorkCreate.model_validate(body))
        return str(work["id"])

    return run(settings, go)


def drop_index(stack: Stack, settings: Settings) -> None:
    async def go(c: Container) -> None:
        drop = getattr(c.index, "drop", None)
        if drop is not None:
            await drop()

    if stack.name == "real":
        run(settings, go)


def test_cli_on_stack(stack_env: Stack, tmp_path: Path) -> None:
    settings = stack_env.settings()
    clean = generate(tmp_path / "clean", Options(files=34, seed=21, zip=True))
    folder = generate(tmp_path / "folder", Options(files=34, seed=21))
    broken = generate(tmp_path / "broken", Options(files=34, seed=21, defects=("missing_field",)))
    try:
        _flow(stack_env, settings, clean.root, folder.root, broken.root, tmp_path, clean)
    finally:
        drop_index(stack_env, settings)


def _flow(
    stack: Stack,
    settings: Settings,
    clean_zip: str,
    clean_dir: str,
    broken_dir: str,
    tmp_path: Path,
    manifest: Any,
) -> None:
    # validate: offline, no backends
    for path in (clean_zip, clean_dir):
        result = kura("validate", path)
        assert result.exit_code == 0, result.output
    result = kura("validate", broken_dir, "--format", "json")
    assert result.exit_code != 0, result.output

    # import a ZIP and a folder into a work (eager ingest)
    work_id = make_work(settings)
    result = kura("import", clean_zip, "--work", work_id)
    assert result.exit_code == 0, result.output
    result = kura("import", clean_dir, "--work", work_id, "--folder", "/控え")
    assert result.exit_code == 0, result.output

    # check is clean after ingest; reindex, still clean
    result = kura("check")
    assert result.exit_code == 0, result.output
    result = kura("reindex")
    assert result.exit_code == 0, result.output
    assert "file:" in result.output, result.output
    result = kura("check")
    assert result.exit_code == 0, result.output

    # export: names and bytes as imported (twice: ZIP and folder of the same package)
    out = tmp_path / "export.zip"
    result = kura("export", "--work", work_id, str(out))
    assert result.exit_code == 0, result.output
    with zipfile.ZipFile(out) as zf:
        got = {i.filename: zf.read(i) for i in zf.infolist() if not i.is_dir()}
    assert len(got) == 2 * len(manifest.files), sorted(got)
    for entry in manifest.files:
        copies = [d for name, d in got.items() if name.endswith("/" + entry.path)]
        assert len(copies) == 2, entry.path
        assert {hashlib.sha256(d).hexdigest() for d in copies} == {entry.sha256}
    assert any(name.startswith("控え/") for name in got)

    # scrub: clean, then one object altered behind the store's back
    result = kura("scrub")
    assert result.exit_code == 0, result.output
    assert "bad: 0" in result.output, result.output

    async def corrupt(c: Container) -> str:
        [record] = (await c.records.find(BLOBS, Query(limit=1))).items
        key = str(record["key"])

        async def chunks() -> Any:
            yield b"not the original bytes"

        await c.blobs.put(key, chunks())
        return key

    key = run(settings, corrupt)
    result = kura("scrub", "--quiet")
    assert result.exit_code == 1, result.output
    assert f"key={key}" in result.output
    assert "BAD" in result.output
