"""First-run operator account and the ``kura user`` commands."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from api.cli import cli
from api.users.bootstrap import ensure_operator
from tests.auth.harness import Harness


@pytest.mark.anyio
async def test_ensure_operator_once(h: Harness) -> None:
    password = await ensure_operator(h.container)
    assert password is not None
    assert len(password) >= 16
    assert await ensure_operator(h.container) is None
    c, r = await h.login("admin", password)
    assert r.status_code == 200
    assert r.json()["password_change_required"] is True
    me = await c.get("/api/v1/auth/me")
    assert me.json()["org_kind"] == "operator"
    assert [e["actor_id"] for e in await h.events("users.created")] == ["system:bootstrap"]
    assert len(await h.events("organizations.created")) == 1


def _env(tmp_path: Path) -> dict[str, str]:
    return {
        "KURA_DATA_DIR": str(tmp_path / "data"),
        "KURA_JOBS__EAGER": "true",
        "KURA_AUTH__ARGON2_TIME_COST": "1",
        "KURA_AUTH__ARGON2_MEMORY_KIB": "8192",
    }


def _password(output: str) -> str:
    line = next(x for x in output.splitlines() if "パスワード:" in x)
    return line.split(": ", 1)[1].strip()


def test_cli_add_and_reset(tmp_path: Path) -> None:
    runner = CliRunner()
    env = _env(tmp_path)
    r = runner.invoke(cli, ["user", "add", "ops1", "--name", "運用 一郎", "--operator"], env=env)
    assert r.exit_code == 0, r.output
    first = _password(r.output)
    r = runner.invoke(cli, ["user", "add", "ops1", "--name", "重複", "--operator"], env=env)
    assert r.exit_code != 0
    assert "すでに" in r.output
    r = runner.invoke(cli, ["user", "add", "bad id", "--name", "x", "--operator"], env=env)
    assert r.exit_code != 0
    assert "login_id" in r.output
    r = runner.invoke(cli, ["user", "add", "lost", "--name", "x", "--org", "NOPE"], env=env)
    assert r.exit_code != 0
    assert "組織" in r.output
    r = runner.invoke(cli, ["user", "reset-password", "ops1"], env=env)
    assert r.exit_code == 0, r.output
    assert _password(r.output) != first
    r = runner.invoke(cli, ["user", "reset-password", "nobody"], env=env)
    assert r.exit_code != 0
    assert "見つかりません" in r.output
