"""``kura migrate``: data migrations an operator runs once after an upgrade.

    kura migrate encrypt [--limit N]   move content stored before scopes existed into its scope
                                       (sealed, erasable per work); resumable, idempotent

Prints the counts; exit 0 when nothing is left, 1 when references remain (``--limit`` reached,
or content that could not be verified: named on stderr), 2 on error. Each run is audited
(``blobs.migrated``). ``kura scrub`` then verifies every object.
"""

from __future__ import annotations

import sys
import time

import click

from api.archive.migrate import Migration, MigrationReport
from api.audit.service import AuditLog
from api.cli._run import with_container
from api.container import Container

ACTOR = "system:cli"


def register(cli: click.Group) -> None:
    """Add ``migrate``."""

    @cli.group("migrate")
    def migrate_group() -> None:
        """データの移行（アップグレード後に一度実行する）"""

    @migrate_group.command("encrypt")
    @click.option(
        "--limit", type=click.IntRange(min=1), default=None, help="この回に移す参照の上限"
    )
    def encrypt_cmd(limit: int | None) -> None:
        """Move every object stored outside a scope into its scope (sealed with its key)."""

        async def work(c: Container) -> MigrationReport:
            report = await Migration(c, limit=limit).run()
            async with c.uow():
                await AuditLog(c.records, c.clock).record(
                    ACTOR, "blobs.migrated", "migrations/encrypt", detail=report.as_dict()
                )
            return report

        started = time.perf_counter()
        try:
            report = with_container(work)
        except Exception as exc:
            click.echo(f"migrate encrypt failed: {exc}", err=True)
            sys.exit(2)
        for problem in report.problems:
            click.echo(f"PROBLEM {problem}", err=True)
        click.echo(
            f"references moved: {report.references} (copied {report.copied}, reused "
            f"{report.reused}), old objects deleted: {report.deleted}, derived files: "
            f"{report.derived}, packages: {report.packages}, caches dropped: {report.caches}, "
            f"remaining: {report.remaining}, problems: {len(report.problems)} "
            f"({time.perf_counter() - started:.2f} s)"
        )
        sys.exit(1 if report.remaining or report.problems else 0)
