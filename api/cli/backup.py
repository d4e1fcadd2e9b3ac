"""``kura backup`` and ``kura restore`` (issue 12 §3; seed 001 別表3 8, 10).

    kura backup [--to DIR] [--keys-to DIR]      write a generation, prune by the policy
    kura backup --list [--to DIR]               the generations (data and keys)
    kura restore [GENERATION] [--from DIR] [--keys-from DIR]
                                                into an empty data folder / bucket

Exit 0 on success, 2 on error (nothing half-applied: see ``api.backup``).
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import click

from api.backup.generations import BackupError, BackupResult, Target, backup, list_generations
from api.backup.restore import RestoreResult, finish, prepare
from api.cli._run import with_container
from api.config import Settings
from api.container import Container
from api.keys.kek import KekError

_PATH = click.Path(file_okay=False, path_type=Path)


def register(cli: click.Group) -> None:
    """Add ``backup`` and ``restore``."""

    @cli.command("backup")
    @click.option("--to", "to", type=_PATH, help="データの世代を置くフォルダ")
    @click.option("--keys-to", "keys_to", type=_PATH, help="鍵の世代を置くフォルダ（別の場所）")
    @click.option("--list", "show", is_flag=True, help="世代の一覧を表示する")
    def backup_cmd(to: Path | None, keys_to: Path | None, show: bool) -> None:
        """Write a backup generation (records, objects, keys apart) and prune old ones."""
        settings = Settings()
        try:
            target = Target.of(settings, to, keys_to)
        except BackupError as exc:
            click.echo(f"backup failed: {exc}", err=True)
            sys.exit(2)
        if show:
            for gen in list_generations(target.generations):
                click.echo(f"data\t{gen}")
            for gen in list_generations(target.key_generations):
                click.echo(f"keys\t{gen}")
            return

        async def work(c: Container) -> BackupResult:
            return await backup(c, target)

        try:
            done = with_container(work, settings)
        except (BackupError, KekError, OSError) as exc:
            click.echo(f"backup failed: {exc}", err=True)
            sys.exit(2)
        click.echo(
            f"generation {done.generation}: {done.objects} objects "
            f"({done.copied} copied, {done.copied_bytes} bytes; {done.reused} unchanged); "
            f"pruned: {', '.join(done.pruned) or '-'}; "
            f"key generations pruned: {', '.join(done.pruned_keys) or '-'}"
        )

    @cli.command("restore")
    @click.argument("generation", required=False)
    @click.option("--from", "source", type=_PATH, help="データの世代があるフォルダ")
    @click.option("--keys-from", "keys_from", type=_PATH, help="鍵の世代があるフォルダ")
    def restore_cmd(generation: str | None, source: Path | None, keys_from: Path | None) -> None:
        """Restore GENERATION (default: the newest) into an empty data folder, verify it, and
        re-apply every erasure made after it."""
        settings = Settings()
        try:
            target = Target.of(settings, source, keys_from)
            plan = asyncio.run(prepare(settings, target, generation))
        except (BackupError, OSError) as exc:
            click.echo(f"restore failed: {exc}", err=True)
            sys.exit(2)

        async def work(c: Container) -> RestoreResult:
            return await finish(c, target, plan)

        try:
            done = with_container(work, settings)
        except (BackupError, KekError, OSError) as exc:
            click.echo(f"restore failed (run the same command again to resume): {exc}", err=True)
            sys.exit(2)
        click.echo(
            f"restored generation {done.generation} (keys {done.key_generation}): "
            f"{done.objects} objects; erased scopes re-applied: "
            f"{', '.join(done.erased_scopes) or '-'} ({done.skipped_erased} objects not restored)"
        )
