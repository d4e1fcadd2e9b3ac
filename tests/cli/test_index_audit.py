"""``kura reindex`` / ``kura check`` drift detection and ``kura audit verify`` / ``export``,
on the embedded backends (SQLite records, tantivy index, local blobs)."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from api import consistency
from api.cli import cli
from api.cli._run import with_container
from api.container import Container
from api.kit.ids import new_id
from api.works.router import build_service
from api.works.schemas import WorkCreate
from tests.works.harness import CLERK, seed, work_body


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    data = tmp_path / "kura"
    monkeypatch.setenv("KURA_DATA_DIR", str(data))
    monkeypatch.setenv("KURA_JOBS__EAGER", "true")
    monkeypatch.setenv("KURA_LOG_JSON", "false")
    return data


def make_works(n: int) -> list[dict[str, Any]]:
    async def work(c: Container) -> list[dict[str, Any]]:
        await seed(c)
        service = build_service(c)
        return [
            await service.create(CLERK, WorkCreate.model_validate(work_body(title=f"工事{i}")))
            for i in range(n)
        ]

    return with_container(work)


def kura(*args: str) -> Any:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def test_check_clean_then_drift_then_reindex(env: Path) -> None:
    works = make_works(4)
    ok = kura("check")
    assert ok.exit_code == 0, ok.output
    assert "clean" in ok.output

    stray = new_id()

    async def damage(c: Container) -> None:
        await c.index.delete([works[0]["id"]])  # missing in index
        doc = {"id": stray, "type": "work", "title": "迷子", "stamp": 1, "acl": ["user:x"]}
        await c.index.upsert([doc])  # orphaned in index
        await c.records.update("works", works[1]["id"], {"title": "裏で変更"}, 1)  # stale
        await c.index.refresh()

    with_container(damage)
    bad = kura("check")
    assert bad.exit_code == 1, bad.output
    assert f"missing_in_index works/{works[0]['id']}" in bad.output
    assert f"orphaned_in_index work/{stray}" in bad.output
    assert f"stale_in_index works/{works[1]['id']} record version 2, index stamp 1" in bad.output
    assert "missing_in_index: 1" in bad.output
    assert "DRIFT" in bad.output

    rebuilt = kura("reindex", "--batch", "2")
    assert rebuilt.exit_code == 0, rebuilt.output
    assert "work: 4 documents" in rebuilt.output
    again = kura("check")
    assert again.exit_code == 0, again.output


def test_check_error_exits_2(env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    env.mkdir(parents=True)
    (env / "not-a-db").mkdir()
    monkeypatch.setenv("KURA_RECORDS__SQLITE_PATH", str(env / "not-a-db"))
    result = kura("check")
    assert result.exit_code == 2


@pytest.fixture
def blob_registry() -> Iterator[None]:
    consistency.register_blob_refs(
        "test_files", lambda r: [r["blob_key"]] if r.get("blob_key") else [], "testfiles/"
    )
    yield
    consistency.unregister_blob_refs("test_files")


async def _chunks(data: bytes) -> AsyncIterator[bytes]:
    yield data


def test_blob_drift_through_registry(env: Path, blob_registry: None) -> None:
    async def setup(c: Container) -> None:
        await c.blobs.put("testfiles/a.bin", _chunks(b"a"))
        await c.blobs.put("testfiles/stray.bin", _chunks(b"s"))
        await c.blobs.put("elsewhere/ignored.bin", _chunks(b"i"))
        await c.records.insert("test_files", {"id": "f1", "blob_key": "testfiles/a.bin"})
        await c.records.insert("test_files", {"id": "f2", "blob_key": "testfiles/gone.bin"})

    with_container(setup)
    report = with_container(consistency.check)
    assert report.counts["missing_blob"] == 1
    assert report.counts["orphaned_blob"] == 1
    assert {(d.kind, d.ref) for d in report.items} == {
        ("missing_blob", "testfiles/gone.bin"),
        ("orphaned_blob", "testfiles/stray.bin"),
    }
    out = kura("check")
    assert out.exit_code == 1
    assert "missing_blob testfiles/gone.bin test_files/f2" in out.output


def test_report_caps_listed_items_but_counts_all(env: Path) -> None:
    works = make_works(3)

    async def wipe(c: Container) -> None:
        await c.index.clear()

    with_container(wipe)
    report = with_container(lambda c: consistency.check(c, max_items=1))
    assert report.counts["missing_in_index"] == len(works)
    assert len(report.items) == 1
    assert "2 more not listed" in "\n".join(report.lines())


# audit ------------------------------------------------------------------------------------------


def _db(env: Path) -> sqlite3.Connection:
    return sqlite3.connect(env / "kura.sqlite3")


def test_audit_verify_intact(env: Path) -> None:
    make_works(3)
    result = kura("audit", "verify")
    assert result.exit_code == 0, result.output
    assert "intact: 3 events" in result.output


def test_audit_verify_names_edited_event(env: Path) -> None:
    make_works(4)
    with _db(env) as db:
        db.execute(
            """UPDATE audit_events SET doc = json_set(doc, '$.actor_id', 'mallory')
               WHERE id = '0000000000000002'"""
        )
    result = kura("audit", "verify")
    assert result.exit_code == 1
    assert "BROKEN seq=2 id=0000000000000002 reason=edited" in result.output


def test_audit_verify_names_removed_event(env: Path) -> None:
    make_works(4)
    with _db(env) as db:
        db.execute("DELETE FROM audit_events WHERE id = '0000000000000002'")
    result = kura("audit", "verify")
    assert result.exit_code == 1
    assert "BROKEN seq=2 id=0000000000000003 reason=missing: expected seq 2" in result.output


def test_audit_verify_names_swapped_events(env: Path) -> None:
    make_works(4)
    with _db(env) as db:  # events 2 and 3 exchange places in the log
        db.execute("UPDATE audit_events SET id='tmp' WHERE id='0000000000000002'")
        db.execute("UPDATE audit_events SET id='0000000000000002' WHERE id='0000000000000003'")
        db.execute("UPDATE audit_events SET id='0000000000000003' WHERE id='tmp'")
    result = kura("audit", "verify")
    assert result.exit_code == 1
    assert "id=0000000000000002" in result.output
    assert "id=0000000000000003" in result.output
    assert "reordered" in result.output or "chain broken" in result.output


def test_audit_export_cli(env: Path, tmp_path: Path) -> None:
    make_works(2)
    out = kura("audit", "export", "--format", "jsonl")
    assert out.exit_code == 0
    lines = [json.loads(x) for x in out.stdout.splitlines()]
    assert [e["action"] for e in lines] == ["works.created", "works.created"]
    target = tmp_path / "audit.csv"
    out = kura("audit", "export", "--format", "csv", "-o", str(target))
    assert out.exit_code == 0
    text = target.read_bytes().decode("utf-8")
    assert text.startswith("seq,id,at,")
    assert text.count("\r\n") == 3


def test_audit_verify_names_events_removed_from_the_end(env: Path) -> None:
    make_works(4)
    with _db(env) as db:
        (last,) = db.execute("SELECT MAX(id) FROM audit_events").fetchone()
        db.execute("DELETE FROM audit_events WHERE id = ?", (last,))
    result = kura("audit", "verify")
    assert result.exit_code == 1
    assert f"id={last}" in result.output
    assert "removed from the end" in result.output


def test_audit_export_cli_by_organization(env: Path) -> None:
    """Issue 7 item 1: ``--org`` exports the events concerning one organization."""
    from tests.works.harness import ORDERER, OTHER_ORDERER

    make_works(2)
    out = kura("audit", "export", "--format", "jsonl", "--org", ORDERER)
    assert [json.loads(x)["org_ids"] for x in out.stdout.splitlines()] == [[ORDERER]] * 2
    out = kura("audit", "export", "--format", "jsonl", "--org", OTHER_ORDERER)
    assert out.stdout == ""


def test_audit_verify_names_a_moved_event(env: Path) -> None:
    """The organizations an event concerns are part of its hash: moving an event into
    another organization's view is an edit ``verify`` names."""
    make_works(2)
    with _db(env) as db:
        db.execute(
            """UPDATE audit_events SET doc = json_set(doc, '$.org_ids', json('["elsewhere"]'))
               WHERE id = '0000000000000001'"""
        )
    result = kura("audit", "verify")
    assert result.exit_code == 1
    assert "BROKEN seq=1 id=0000000000000001 reason=edited" in result.output
