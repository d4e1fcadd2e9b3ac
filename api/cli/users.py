"""``kura user add`` and ``kura user reset-password``: accounts from the command line."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import click
from pydantic import ValidationError

from api.cli._run import with_container
from api.container import Container
from api.errors import KuraError
from api.users.bootstrap import operator_org
from api.users.schemas import UserCreate
from api.users.service import UserService

ACTOR = "system:cli"


async def add_user(
    container: Container,
    login_id: str,
    name: str,
    org_id: str | None,
    email: str | None,
    operator: bool,
) -> str:
    if operator and org_id is None:
        org_id = await operator_org(container, ACTOR)
    if org_id is None:
        raise click.UsageError("--org か --operator を指定してください。")
    data = UserCreate(login_id=login_id, name=name, org_id=org_id, email=email)
    _, password = await UserService.of(container).create_as(ACTOR, data)
    return password


async def reset_password(container: Container, login_id: str) -> str:
    service = UserService.of(container)
    user = await service.repo.get_by_login_id(login_id)
    if user is None:
        raise click.ClickException(f"ログインID {login_id} の利用者が見つかりません。")
    _, password = await service.reset_password_as(ACTOR, user)
    return password


def _run_printing(work: Callable[[Container], Awaitable[str]], label: str) -> None:
    try:
        password = with_container(work)
    except ValidationError as exc:
        raise click.ClickException(
            "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        ) from exc
    except KuraError as exc:
        raise click.ClickException(exc.detail) from exc
    click.echo(f"{label}: {password}")
    click.echo("次回ログイン時にパスワードの変更が必要です。この表示は一度だけです。")


def register(cli: click.Group) -> None:
    """Add ``kura user add`` and ``kura user reset-password``."""

    @cli.group("user")
    def user() -> None:
        """利用者アカウントの管理。"""

    @user.command("add")
    @click.argument("login_id")
    @click.option("--name", required=True, help="氏名")
    @click.option("--org", "org_id", default=None, help="所属組織のID")
    @click.option("--email", default=None, help="メールアドレス")
    @click.option("--operator", is_flag=True, help="運用管理者の組織に登録する")
    def add(
        login_id: str, name: str, org_id: str | None, email: str | None, operator: bool
    ) -> None:
        """利用者を登録し、初期パスワードを表示します。"""
        _run_printing(
            lambda c: add_user(c, login_id, name, org_id, email, operator), "初期パスワード"
        )

    @user.command("reset-password")
    @click.argument("login_id")
    def reset(login_id: str) -> None:
        """パスワードを初期化し、新しい一時パスワードを表示します。"""
        _run_printing(lambda c: reset_password(c, login_id), "一時パスワード")
