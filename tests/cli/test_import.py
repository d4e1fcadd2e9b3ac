"""``kura import``: folders and ZIPs into a work, resumable, refusals in Japanese."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import click
import pytest
from click.testing import CliRunner

from api.archive.models import NODES
from api.cli import imports
from api.config import Settings
from api.container import Container
from api.deliverables.intake import IMPORTS
from api.kit.ids import new_id
from storage.query import Eq, Query
from tests.deliverables.packages import package as valid_package
from tests.deliverables.packages import write_folder
from tests.deliverables.zips import make_zip

T = TypeVar("T")


@click.group()
def cli() -> None:
    """Only ``kura import`` (registered here, independent of the main group's list)."""


imports.register(cli)


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    data = tmp_path / "kura"
    monkeypatch.setenv("KURA_DATA_DIR", str(data))
    monkeypatch.setenv("KURA_JOBS__EAGER", "true")
    monkeypatch.setenv("KURA_LOG_JSON", "false")
    return data


def with_container(work: Callable[[Container], Awaitable[T]]) -> T:
    async def main() -> T:
        container = Container(Settings())
        await container.open()
        try:
            return await work(container)
        finally:
            await container.close()

    return asyncio.run(main())


def make_work() -> str:
    async def run(c: Container) -> str:
        work = {"id": new_id(), "title": "橋梁補修工事", "status": "in_progress", "acl": []}
        await c.records.insert("works", work)
        return str(work["id"])

    return with_container(run)


def node_paths(work_id: str) -> set[str]:
    async def run(c: Container) -> set[str]:
        page = await c.records.find(NODES, Query(where=(Eq("work_id", work_id),), limit=1000))
        return {str(n["path"]) for n in page.items}

    return with_container(run)


def kura(*args: str) -> Any:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def package(root: Path) -> Path:
    """A valid 電子納品 package (no E finding) in the folder ``root``."""
    return write_folder(valid_package(), root)


def import_records() -> list[dict[str, Any]]:
    async def run(c: Container) -> list[dict[str, Any]]:
        page = await c.records.find(IMPORTS, Query(sort=(("queued_at", 1),), limit=10))
        return page.items

    return with_container(run)


def test_import_folder_then_resume(env: Path, tmp_path: Path) -> None:
    work_id = make_work()
    src = package(tmp_path / "delivery")
    count = len(valid_package())
    first = kura("import", str(src), "--work", work_id)
    assert first.exit_code == 0, first.output
    assert f"取り込み完了: /delivery 新規{count}件" in first.output
    assert "エラー 0件" in first.output  # the 電子納品 check ran, like kura validate prints it
    assert "/delivery/MEET/ORG/MEET0011.PDF" in node_paths(work_id)

    (src / "OTHRS" / "EXTRA.TXT").write_bytes(b"extra")
    again = kura("import", str(src), "--work", work_id)
    assert again.exit_code == 0, again.output
    assert "新規1件" in again.output
    assert f"スキップ{count}件" in again.output
    [one, two] = import_records()
    assert (one["state"], two["state"]) == ("done", "done")
    assert one["source"] == "cli:delivery"
    assert one["package"]["counts"]["E"] == 0
    assert one.get("reason") is None


def test_package_errors_are_printed_and_exit_non_zero(env: Path, tmp_path: Path) -> None:
    """Issue 7 item 15: ``kura import`` prints the 電子納品 findings and exits 1 on an E
    finding, like ``kura validate``; the files stay imported."""
    work_id = make_work()
    files = valid_package()
    del files["MEET/ORG/MEET0011.PDF"]  # declared in MEET.XML
    src = write_folder(files, tmp_path / "delivery")
    result = kura("import", str(src), "--work", work_id)
    assert result.exit_code == 1, result.output
    assert "取り込み完了" in result.output
    assert "E [規則" in result.output
    assert "MEET0011.PDF" in result.output
    assert "電子納品チェックでエラーが" in result.output
    assert "/delivery/MEET/MEET.XML" in node_paths(work_id)
    [record] = import_records()
    assert record["state"] == "done"
    assert record["package"]["counts"]["E"] >= 1
    assert "電子納品チェックでエラー" in record["reason"]


def test_import_zip_to_chosen_folder(env: Path, tmp_path: Path) -> None:
    work_id = make_work()
    zpath = tmp_path / "dl.zip"
    zpath.write_bytes(make_zip([("dl/INDEX_D.XML", b"<x/>"), ("dl/REPORT/R01.PDF", b"%")]))
    result = kura("import", str(zpath), "--work", work_id)
    assert result.exit_code == 1, result.output  # stored, but the package check has E
    assert "取り込み完了" in result.output
    assert "/dl/REPORT/R01.PDF" in node_paths(work_id)  # no doubled dl/dl level
    other = kura("import", str(zpath), "--work", work_id, "--folder", "/業務/成果")
    assert "取り込み完了" in other.output
    assert "/業務/成果/dl/INDEX_D.XML" in node_paths(work_id)


def test_hostile_zip_refused_and_nothing_stored(env: Path, tmp_path: Path) -> None:
    work_id = make_work()
    zpath = tmp_path / "evil.zip"
    zpath.write_bytes(make_zip([("ok.txt", b"1"), ("../../etc/cron.d/x", b"x")]))
    result = kura("import", str(zpath), "--work", work_id)
    assert result.exit_code == 1
    assert "上位フォルダを指すパス" in result.output
    assert node_paths(work_id) == set()
    [record] = import_records()  # the refusal is recorded, visible through the API
    assert record["state"] == "rejected"
    assert "上位フォルダを指すパス" in record["reason"]
    assert record["findings"][0]["code"] == "unsafe_path"


def test_conflict_error_leaves_the_work_unchanged(env: Path, tmp_path: Path) -> None:
    work_id = make_work()
    src = package(tmp_path / "delivery")
    assert kura("import", str(src), "--work", work_id).exit_code == 0
    (src / "INDEX_C.XML").write_bytes(b"<constdata>changed</constdata>")
    (src / "NEW.TXT").write_bytes(b"new")
    before = node_paths(work_id)
    result = kura("import", str(src), "--work", work_id, "--on-conflict", "error")
    assert result.exit_code == 1
    assert "同じ名前のファイルがすでにあります" in result.output
    assert node_paths(work_id) == before

    async def states(c: Container) -> list[str]:
        page = await c.records.find(IMPORTS, Query(limit=10))
        return sorted(str(r["state"]) for r in page.items)

    assert with_container(states) == ["done", "rejected"]


def test_unknown_user_and_work(env: Path, tmp_path: Path) -> None:
    work_id = make_work()
    src = package(tmp_path / "delivery")
    result = kura("import", str(src), "--work", work_id, "--as", "nobody")
    assert result.exit_code == 1
    assert "nobody の利用者が見つかりません" in result.output
    missing = kura("import", str(src), "--work", new_id())
    assert missing.exit_code == 1
    assert "が見つかりません" in missing.output
