"""``kura export --work ID [--folder PATH] OUT.zip`` (issue 3 item 9): the same streamed ZIP
as the API (folder structure and names kept, seed 001 別表1-1 6), written to a file or ``-``
for stdout. Runs on the machine with operator rights; audited as ``files.exported`` by
``system:cli``."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from api.archive.export import ExportService
from api.archive.nodes import NodeService
from api.cli._run import with_container
from api.container import Container
from api.errors import KuraError

ACTOR = "system:cli"


def register(cli: click.Group) -> None:
    """Add ``export``."""

    @cli.command("export")
    @click.option("--work", "work_id", required=True, help="案件 ID")
    @click.option("--folder", default=None, help="このフォルダだけ（例: PHOTO/PIC）")
    @click.option("--compress/--store", default=False, show_default=True)
    @click.argument("out", type=click.Path(dir_okay=False, path_type=Path))
    def export_cmd(work_id: str, folder: str | None, compress: bool, out: Path) -> None:
        """Write a work (or one folder of it) as a ZIP. Exit 1 if not found, 2 on error."""

        async def work(c: Container) -> dict[str, int]:
            nodes = NodeService(c)
            folder_id = None
            if folder:
                node = await nodes.by_path(work_id, folder)
                if node is None:
                    raise click.ClickException(f"フォルダが見つかりません: {folder}")
                folder_id = str(node["id"])
            service = ExportService(nodes)
            plan = await service.prepare(ACTOR, work_id, None, folder_id, compress=compress)
            target = sys.stdout.buffer if str(out) == "-" else out.open("wb")
            try:
                async for chunk in service.stream(plan):
                    target.write(chunk)
            finally:
                if target is not sys.stdout.buffer:
                    target.close()
            return plan.stats

        try:
            stats = with_container(work)
        except click.ClickException:
            raise
        except KuraError as exc:
            click.echo(f"export failed: {exc.detail}", err=True)
            sys.exit(1)
        except Exception as exc:
            click.echo(f"export failed: {exc}", err=True)
            if str(out) != "-":
                out.unlink(missing_ok=True)
            sys.exit(2)
        click.echo(
            f"exported {stats['files']} files, {stats['folders']} folders, "
            f"{stats['bytes']} bytes -> {out}",
            err=str(out) == "-",
        )
