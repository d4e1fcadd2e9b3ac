"""``kura mail outbox|show|flush|retry`` on the embedded outbox."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from api.cli import cli
from api.cli._run import with_container
from api.container import Container
from api.mail.compose import Mail


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    data = tmp_path / "kura"
    monkeypatch.setenv("KURA_DATA_DIR", str(data))
    monkeypatch.setenv("KURA_JOBS__EAGER", "true")
    monkeypatch.setenv("KURA_LOG_JSON", "false")
    return data


def test_outbox_lists_and_shows_the_raw_message(env: Path) -> None:
    async def work(c: Container) -> str | None:
        async with c.uow() as uow:
            return await c.outbox().queue(
                uow,
                key="k1",
                mail=Mail(
                    "sato@pref.example.jp", "佐藤", "利用者IDのお知らせ", "本文", "account.created"
                ),
            )

    mid = with_container(work)
    assert mid is not None
    out = CliRunner().invoke(cli, ["mail", "outbox"], catch_exceptions=False)
    assert out.exit_code == 0
    assert "transport: outbox" in out.output
    assert "stored=1" in out.output
    assert f"{mid}  stored" in out.output
    assert "利用者IDのお知らせ" in out.output
    shown = CliRunner().invoke(cli, ["mail", "show", mid], catch_exceptions=False)
    assert shown.exit_code == 0
    assert "To: =?utf-8?" in shown.output
    assert CliRunner().invoke(cli, ["mail", "show", "nope"]).exit_code == 1
    assert CliRunner().invoke(cli, ["mail", "retry", mid]).exit_code == 1  # not dead
    flushed = CliRunner().invoke(cli, ["mail", "flush"], catch_exceptions=False)
    assert flushed.exit_code == 0
    assert "claimed=0" in flushed.output
