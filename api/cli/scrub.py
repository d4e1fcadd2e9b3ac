"""``kura scrub`` (issue 3 item 2, issue 12 §1): re-read every stored object and report any
that no longer decrypts (a sealed object whose segments fail authentication: altered, cut,
spliced) or whose bytes no longer hash to the SHA-256 they were stored under (bit rot, a
replaced object, a missing one), and content stored outside every scope (run ``kura migrate
encrypt``). Content of an erased scope is listed as erased, not counted as bad. Read-only;
exit 0 when every object is intact, 1 when any is not, 2 on error. Each run is audited
(``blobs.scrubbed``) with its counts."""

from __future__ import annotations

import sys
import time

import click

from api.archive.cas import ContentStore
from api.archive.models import BLOBS
from api.audit.service import AuditLog
from api.cli._run import with_container
from api.container import Container

ACTOR = "system:cli"


def register(cli: click.Group) -> None:
    """Add ``scrub``."""

    @cli.command("scrub")
    @click.option("--quiet", is_flag=True, help="問題のあったものだけを表示する")
    def scrub_cmd(quiet: bool) -> None:
        """Re-read every stored object and verify its SHA-256. Exit 1 when any fails."""

        async def work(c: Container) -> tuple[int, int]:
            started = time.perf_counter()
            cas = ContentStore(c.records, c.blobs, c.clock)
            total = await c.records.count(BLOBS)
            problems = erased = 0

            async def destroyed(scope: str) -> bool:
                return await c.keys.destroyed(scope) is not None

            async for problem in cas.scrub(destroyed):
                line = f"sha256={problem.sha256} key={problem.key} reason={problem.reason}"
                if problem.reason == "erased":
                    # an erased scope's content is gone on purpose (its records go with it)
                    erased += 1
                    if not quiet:
                        click.echo(f"ERASED {line}")
                    continue
                problems += 1
                click.echo(f"BAD {line}")
            async with c.uow():
                await AuditLog(c.records, c.clock).record(
                    ACTOR,
                    "blobs.scrubbed",
                    BLOBS,
                    detail={"objects": total, "bad": problems, "erased": erased},
                )
            if not quiet:
                seconds = time.perf_counter() - started
                click.echo(
                    f"objects checked: {total}, bad: {problems}, erased: {erased} ({seconds:.2f} s)"
                )
            return total, problems

        try:
            _, problems = with_container(work)
        except Exception as exc:
            click.echo(f"scrub failed: {exc}", err=True)
            sys.exit(2)
        sys.exit(1 if problems else 0)
