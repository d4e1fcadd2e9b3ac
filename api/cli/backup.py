"""``kura backup`` and ``kura restore`` (issue 12 §3; seed 001 別表3 8, 10).

    kura backup [--to DIR|s3://BUCKET] [--keys-to DIR|s3://BUCKET]
                                                write a generation, prune by the policy
    kura backup --list [--to ...]               the generations (data and keys)
    kura restore [GENERATION] [--from DIR|s3://BUCKET] [--keys-from DIR|s3://BUCKET]
                                                into an empty data folder / bucket

Exit 0 on success, 1 when refused (another backup writes into the target:
``api.backup.lock``), 2 on error (nothing half-applied: see ``api.backup``).
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import click

from api.backup.generations import BackupError, BackupResult, Target, backup, generations
from api.backup.lock import BackupLocked
from api.backup.restore import RestoreResult, finish, prepare
from api.cli._run import with_container
from api.config import Settings
from api.container import Container
from api.keys.kek import KekError
from storage.errors import StorageError


def _place(value: str | None) -> Path | str | None:
    """A folder, or ``s3://bucket`` as it is."""
    if value is None or value.startswith("s3://"):
        return value
    return Path(value)


def register(cli: click.Group) -> None:
    """Add ``backup`` and ``restore``."""

    @cli.command("backup")
    @click.option("--to", "to", help="データの世代を置くフォルダ、または s3://バケット")
    @click.option(
        "--keys-to", "keys_to", help="鍵の世代を置くフォルダ、または s3://バケット（別の場所）"
    )
    @click.option("--list", "show", is_flag=True, help="世代の一覧を表示する")
    def backup_cmd(to: str | None, keys_to: str | None, show: bool) -> None:
        """Write a backup generation (records, objects, keys apart) and prune old ones."""
        settings = Settings()
        try:
            target = Target.of(settings, _place(to), _place(keys_to))
        except BackupError as exc:
            click.echo(f"backup failed: {exc}", err=True)
            sys.exit(2)
        if show:

            async def listing() -> tuple[list[str], list[str]]:
                await target.open()
                try:
                    return await generations(target.data), await generations(target.keys)
                finally:
                    await target.close()

            try:
                data, keys = asyncio.run(listing())
            except (OSError, StorageError) as exc:
                click.echo(f"backup failed: {exc}", err=True)
                sys.exit(2)
            for gen in data:
                click.echo(f"data\t{gen}")
            for gen in keys:
                click.echo(f"keys\t{gen}")
            return

        async def work(c: Container) -> BackupResult:
            return await backup(c, target)

        try:
            done = with_container(work, settings)
        except BackupLocked as exc:
            click.echo(f"backup refused: {exc}", err=True)
            sys.exit(1)
        except (BackupError, KekError, OSError, StorageError) as exc:
            click.echo(f"backup failed: {exc}", err=True)
            sys.exit(2)
        click.echo(
            f"generation {done.generation}: {done.objects} objects "
            f"({done.copied} copied, {done.copied_bytes} bytes; {done.reused} unchanged); "
            f"pruned: {', '.join(done.pruned) or '-'}; "
            f"key generations pruned: {', '.join(done.pruned_keys) or '-'}"
        )
        for gen, erased in sorted(done.erased.items()):
            click.echo(f"generation {gen}: records of erased {', '.join(erased)} removed")
        if done.erase_failed:
            # the new generation is complete; an older one still holds an erased scope's
            # records (api.backup.erased): the next run retries
            for gen, why in sorted(done.erase_failed.items()):
                click.echo(
                    f"backup incomplete: generation {gen} still holds the records of an erased "
                    f"scope (retried by the next run): {why}",
                    err=True,
                )
            sys.exit(2)

    @cli.command("restore")
    @click.argument("generation", required=False)
    @click.option("--from", "source", help="データの世代があるフォルダ、または s3://バケット")
    @click.option("--keys-from", "keys_from", help="鍵の世代があるフォルダ、または s3://バケット")
    def restore_cmd(generation: str | None, source: str | None, keys_from: str | None) -> None:
        """Restore GENERATION (default: the newest) into an empty data folder, verify it, and
        re-apply every erasure made after it."""
        settings = Settings()
        try:
            target = Target.of(settings, _place(source), _place(keys_from))
            plan = asyncio.run(prepare(settings, target, generation))
        except (BackupError, OSError, StorageError) as exc:
            click.echo(f"restore failed: {exc}", err=True)
            sys.exit(2)

        async def work(c: Container) -> RestoreResult:
            return await finish(c, target, plan)

        try:
            done = with_container(work, settings)
        except (BackupError, KekError, OSError, StorageError) as exc:
            click.echo(f"restore failed (run the same command again to resume): {exc}", err=True)
            sys.exit(2)
        click.echo(
            f"restored generation {done.generation} (keys {done.key_generation}): "
            f"{done.objects} objects; erased scopes re-applied: "
            f"{', '.join(done.erased_scopes) or '-'} ({done.skipped_erased} objects not restored)"
        )
