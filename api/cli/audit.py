"""``kura audit verify`` and ``kura audit export`` (issue 2 item 8). There is no delete."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from api.audit.service import AuditLog, EventFilter, Problem, export_lines, iter_events
from api.cli._run import with_container
from api.container import Container


def register(cli: click.Group) -> None:
    """Add the ``audit`` group."""

    @cli.group("audit")
    def audit() -> None:
        """The audit trail."""

    @audit.command("verify")
    def verify_cmd() -> None:
        """Walk the hash chain. Exit 0 intact, 1 naming each broken event, 2 on error."""

        async def work(c: Container) -> tuple[int, list[Problem]]:
            problems = await AuditLog(c.records, c.clock).verify()
            return await c.records.count("audit_events"), problems

        try:
            total, problems = with_container(work)
        except Exception as exc:
            click.echo(f"verify failed: {exc}", err=True)
            sys.exit(2)
        for p in problems:
            click.echo(f"BROKEN seq={p.seq} id={p.event_id} reason={p.reason}")
        if problems:
            click.echo(f"{len(problems)} problem(s) in {total} events", err=True)
            sys.exit(1)
        click.echo(f"intact: {total} events")

    @audit.command("export")
    @click.option("--format", "fmt", type=click.Choice(["csv", "jsonl"]), default="jsonl")
    @click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path))
    @click.option("--action")
    @click.option("--actor")
    @click.option("--target")
    @click.option("--org", help="Only events concerning this organization id.")
    def export_cmd(
        fmt: str,
        output: Path | None,
        action: str | None,
        actor: str | None,
        target: str | None,
        org: str | None,
    ) -> None:
        """Write the events in chain order as CSV or JSON lines (stdout by default)."""
        flt = EventFilter(action=action, actor_id=actor, target=target, org_id=org)

        async def work(c: Container) -> int:
            n = 0
            out = output.open("w", encoding="utf-8", newline="") if output else sys.stdout
            try:
                async for line in export_lines(iter_events(c.records, flt), fmt):
                    out.write(line)
                    n += 1
            finally:
                if output:
                    out.close()
            return n

        try:
            n = with_container(work)
        except Exception as exc:
            click.echo(f"export failed: {exc}", err=True)
            sys.exit(2)
        click.echo(f"exported {n - (1 if fmt == 'csv' else 0)} events", err=True)
