"""``kura jobs``: counts per state (exit 1 when jobs failed), the failed list, retry, discard
and an immediate sweep, on the embedded backends with eager jobs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from api.cli import cli
from api.cli._run import with_container
from api.container import Container
from api.jobs.models import JOBS


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    data = tmp_path / "kura"
    monkeypatch.setenv("KURA_DATA_DIR", str(data))
    monkeypatch.setenv("KURA_JOBS__EAGER", "true")
    monkeypatch.setenv("KURA_LOG_JSON", "false")
    return data


def kura(*args: str) -> Any:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def failed_jobs(n: int) -> list[str]:
    async def make(c: Container) -> list[str]:
        ids = []
        for i in range(n):
            async with c.uow() as uow:
                job_id = uow.enqueue("system.echo", i=i)
            job = await c.records.get(JOBS, job_id)
            assert job is not None
            changes = {"state": "failed", "last_error": "worker lost", "due_at": None}
            await c.records.update(JOBS, job_id, changes, int(job["version"]))
            ids.append(job_id)
        return ids

    return with_container(make)


def states() -> dict[str, str]:
    async def read(c: Container) -> dict[str, str]:
        return {str(j["id"]): str(j["state"]) async for j in c.records.scan(JOBS)}

    return with_container(read)


def test_summary_list_retry_discard(env: Path) -> None:
    ok = kura("jobs")
    assert ok.exit_code == 0, ok.output
    assert "failed: 0" in ok.output

    a, b = failed_jobs(2)
    summary = kura("jobs")
    assert summary.exit_code == 1  # cron alerts on it
    assert "failed: 2" in summary.output
    listed = kura("jobs", "list", "--state", "failed")
    assert listed.exit_code == 0
    assert [line.split()[0] for line in listed.output.splitlines()] == [b, a]
    assert "worker lost" in listed.output

    retried = kura("jobs", "retry", a)
    assert "再実行: 1件" in retried.output
    assert states() == {a: "done", b: "failed"}
    assert "失敗したジョブだけ" in kura("jobs", "retry", a).output  # done: refused, named
    assert "再実行: 1件" in kura("jobs", "retry", "--all-failed").output
    assert set(states().values()) == {"done"}
    assert kura("jobs").exit_code == 0

    assert "削除: 1件" in kura("jobs", "discard", b).output
    assert list(states()) == [a]
    assert kura("jobs", "retry").exit_code == 2  # neither ids nor --all-failed


def test_sweep_now(env: Path) -> None:
    swept = kura("jobs", "sweep")
    assert swept.exit_code == 0, swept.output
    for key in ("sent", "restarted", "failed", "resent", "purged", "files_requeued"):
        assert f"{key}: 0" in swept.output
