"""``kura import PATH --work ID``: a folder tree, a ZIP or one file into a work's folders.

Safe unpacking and all-or-nothing placement are ``api.deliverables``' job; this module adds
the command, a progress bar over bytes (click's, which stays quiet when not on a terminal),
and resumability: an interrupted run keeps what it committed, and running it again skips
every file already present with the same SHA-256.

Every run leaves an ``imports`` record (also when the input is refused), visible through the
API. When the import brings a 電子納品 package (INDEX_C.XML / INDEX_D.XML) its check runs and
its findings are printed like ``kura validate`` prints them. Exit codes: 0 done without an
E finding; 1 refused, failed, or done with an E finding in the package check; 130
interrupted (a re-run continues).
"""

from __future__ import annotations

import asyncio
import sys
import zipfile
from contextlib import ExitStack
from pathlib import Path
from typing import Any, cast

import click

from api.archive.nodes import OnConflict
from api.auth.service import AuthService
from api.config import Settings
from api.container import Container
from api.deliverables.intake import ImportFailed, ImportResult, ImportService
from api.deliverables.unpack import (
    Limits,
    Plan,
    UnpackError,
    open_zip,
    scan_file,
    scan_folder,
    scan_zip,
)
from api.deliverables.zipimport import check_package
from api.errors import KuraError
from api.permissions.policy import Subject
from api.users.repository import UserRepository
from storage.query import Record

ACTOR = "system:cli"
SEVERITY = {"E": "エラー", "W": "警告", "N": "通知"}


def default_target(path: Path, plan: Plan) -> str:
    """A folder or ZIP goes to ``/<name>`` (ZIP without extension), or to the root when it
    holds a single top folder with that name (no doubled level); one file to the root."""
    if plan.kind == "file":
        return "/"
    stem = path.stem if plan.kind == "zip" else path.name
    return "/" if plan.top_folder() == stem else f"/{stem}"


async def _actor(container: Container, login_id: str | None) -> Subject | str:
    if login_id is None:
        return ACTOR
    user = await UserRepository(container.records).get_by_login_id(login_id)
    if user is None:
        raise click.ClickException(f"ログインID {login_id} の利用者が見つかりません。")
    auth = AuthService(container.records, container.uow, container.clock, container.settings.auth)
    return await auth.subject_for(user)


async def run_import(
    settings: Settings,
    path: Path,
    work_id: str,
    folder: str | None,
    on_conflict: OnConflict,
    login_id: str | None,
    limits: Limits = Limits(),
) -> tuple[ImportResult, Record | None]:
    """Scan ``path``, import it, run the 電子納品 check on a package root; returns the
    result and the check's ``deliverables`` record (None without a package)."""
    container = Container(settings)
    await container.open()
    try:
        actor = await _actor(container, login_id)
        service = ImportService(container)
        if isinstance(actor, Subject):
            work = await service.nodes.work(actor, work_id, "files.write")
        else:
            found = await container.records.get("works", work_id)
            if found is None:
                raise click.ClickException(f"案件 {work_id} が見つかりません。")
            work = found
        source = f"cli:{path.name}"
        with ExitStack() as stack:
            try:
                plan = _scan(stack, path, limits)
            except UnpackError as exc:
                await service.reject(actor, work, exc, source=source)
                raise
            target = folder if folder is not None else default_target(path, plan)
            total = plan.total_size
            bar = stack.enter_context(
                click.progressbar(length=total, label="取り込み中", file=sys.stderr)
            )
            result = await service.run(
                actor,
                work,
                target,
                plan,
                on_conflict=on_conflict,
                source=source,
                progress=bar.update,
            )
        deliverable = await check_package(container, result.import_id, work_id, target, plan)
        return result, deliverable
    finally:
        await container.close()


def _scan(stack: ExitStack, path: Path, limits: Limits) -> Plan:
    if path.is_dir():
        return scan_folder(path, limits)
    if not path.is_file():
        raise click.ClickException(f"{path} が見つかりません。")
    if path.suffix.lower() == ".zip" or zipfile.is_zipfile(path):
        fp = stack.enter_context(path.open("rb"))
        zf = stack.enter_context(open_zip(fp, limits))
        return scan_zip(zf, limits)
    return scan_file(path, limits)


def _echo_findings(findings: list[dict[str, str]] | Any, limit: int = 20) -> None:
    items = list(findings)
    for f in items[:limit]:
        where = f" [{f['path']}]" if f.get("path") else ""
        click.echo(f"  {f['severity']} {f['message']}{where}", err=True)
    if len(items) > limit:
        click.echo(f"  …ほか{len(items) - limit}件", err=True)


def render_package(deliverable: Record) -> str:
    """The 電子納品 check's findings and counts, in the lines ``kura validate`` prints."""
    report = deliverable.get("report") or {}
    lines = [
        f"電子納品チェック: 要領: {deliverable.get('standard') or '－'}  "
        f"適用要領基準: {deliverable.get('applied_standard') or '－'}  "
        f"DTD: {deliverable.get('dtd_version') or '－'}  プロファイル: {report.get('profile')}"
    ]
    for f in report.get("findings") or []:
        where = str(f.get("path") or "-")
        if f.get("line"):
            where += f":{f['line']}" + (f":{f['column']}" if f.get("column") else "")
        lines.append(f"{f['severity']} [規則{f.get('rule', '')}] {where}: {f.get('message', '')}")
    counts = report.get("counts") or {}
    lines.append(" / ".join(f"{SEVERITY[s]} {int(counts.get(s, 0))}件" for s in "EWN"))
    return "\n".join(lines)


def register(cli: click.Group) -> None:
    """Add ``kura import``."""

    @cli.command("import")
    @click.argument("path", type=click.Path(exists=True, path_type=Path))
    @click.option("--work", "work_id", required=True, help="取り込み先の案件ID")
    @click.option("--folder", default=None, help="取り込み先フォルダ（既定: /<名前>）")
    @click.option(
        "--on-conflict",
        type=click.Choice(["rename", "replace", "error"]),
        default="rename",
        show_default=True,
        help="同じ名前のファイルがあるとき（同じ内容なら常にスキップ）",
    )
    @click.option("--as", "login_id", default=None, help="この利用者の権限で取り込む")
    def import_(
        path: Path, work_id: str, folder: str | None, on_conflict: str, login_id: str | None
    ) -> None:
        """フォルダ・ZIP・ファイルを案件のフォルダに取り込みます（再実行で続きから）。

        電子納品のパッケージなら検査結果を表示し、エラー（E）があれば終了コード1で終わります。
        """
        mode = cast(OnConflict, on_conflict)
        try:
            result, deliverable = asyncio.run(
                run_import(Settings(), path, work_id, folder, mode, login_id)
            )
        except KeyboardInterrupt:
            click.echo(
                "\n中断しました。取り込み済みの分は保存されています。"
                "同じコマンドをもう一度実行すると続きから取り込みます。",
                err=True,
            )
            sys.exit(130)
        except (UnpackError, ImportFailed) as exc:
            click.echo(f"エラー: {exc.detail}", err=True)
            _echo_findings([f.to_dict() for f in exc.findings])
            sys.exit(1)
        except KuraError as exc:
            raise click.ClickException(exc.detail) from exc
        click.echo(
            f"取り込み完了: {result.target} 新規{result.created}件 置換{result.replaced}件 "
            f"スキップ{result.skipped}件（同じ内容） フォルダ{result.folders}件 "
            f"{result.bytes:,}バイト {result.seconds:.1f}秒 (import {result.import_id})"
        )
        if result.findings:
            click.echo("指摘:", err=True)
            _echo_findings([f.to_dict() for f in result.findings])
        if deliverable is not None:
            click.echo(render_package(deliverable))
            errors = int(((deliverable.get("report") or {}).get("counts") or {}).get("E", 0))
            if errors:
                click.echo(
                    f"電子納品チェックでエラーが{errors}件あります（取り込んだ内容は保存されています）。",
                    err=True,
                )
                sys.exit(1)
