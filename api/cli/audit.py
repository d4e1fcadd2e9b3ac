"""``kura audit verify|export|checkpoint|rotate-key`` (issue 2 item 8, issue 7 item 6).
There is no delete."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from api.audit import checkpoints
from api.audit.keys import rotate_keys
from api.audit.service import AuditLog, EventFilter, Verification, export_lines, iter_events
from api.cli._run import with_container
from api.container import Container


def register(cli: click.Group) -> None:
    """Add the ``audit`` group."""

    @cli.group("audit")
    def audit() -> None:
        """The audit trail."""

    @audit.command("verify")
    @click.option(
        "--checkpoint",
        "files",
        multiple=True,
        type=click.Path(exists=True, dir_okay=False, path_type=Path),
        help="also check a checkpoint file kept elsewhere (kura audit checkpoint -o)",
    )
    def verify_cmd(files: tuple[Path, ...]) -> None:
        """Walk the keyed hash chain and check the signed checkpoints. Exit 0 intact, 1
        naming each broken event, 2 on error (e.g. an unusable key file)."""
        extra = [(str(f), f.read_bytes()) for f in files]

        async def work(c: Container) -> Verification:
            return await AuditLog(c.records, c.clock).check(c.blobs, extra)

        try:
            result = with_container(work)
        except Exception as exc:
            click.echo(f"verify failed: {exc}", err=True)
            sys.exit(2)
        for p in result.problems:
            click.echo(f"BROKEN seq={p.seq} id={p.event_id} reason={p.reason}")
        if result.problems:
            click.echo(f"{len(result.problems)} problem(s) in {result.events} events", err=True)
            sys.exit(1)
        pinned = f", newest at seq {result.newest_checkpoint}" if result.checkpoints else ""
        click.echo(f"intact: {result.events} events, {result.checkpoints} checkpoints{pinned}")

    @audit.command("checkpoint")
    @click.option(
        "--output",
        "-o",
        type=click.Path(dir_okay=False, path_type=Path),
        help="also write the checkpoint to this file (keep it away from the servers)",
    )
    def checkpoint_cmd(output: Path | None) -> None:
        """Pin the chain's head now: a signed checkpoint in the blob store (beat writes one
        every hour). Run it before a backup."""

        async def work(c: Container) -> tuple[checkpoints.Checkpoint | None, bool]:
            return await AuditLog(c.records, c.clock).checkpoint(c.blobs)

        try:
            cp, written = with_container(work)
        except Exception as exc:
            click.echo(f"checkpoint failed: {exc}", err=True)
            sys.exit(2)
        if cp is None:
            click.echo("the audit log is empty: nothing to pin")
            return
        if output is not None:
            output.write_bytes(checkpoints.encode(cp))
        state = "written" if written else "already pinned"
        click.echo(f"checkpoint seq={cp.seq} hash={cp.hash} {state}")

    @audit.command("rotate-key")
    def rotate_key_cmd() -> None:
        """Add a new signing key to the key file (the old keys stay to verify older events).
        Restart every process afterwards, and copy the file to every machine first."""
        from api.config import Settings

        path = Settings().audit_key_path
        try:
            keys = rotate_keys(path)
        except Exception as exc:
            click.echo(f"rotate-key failed: {exc}", err=True)
            sys.exit(2)
        click.echo(f"new signing key {keys.signing_id} in {path} ({len(keys.secrets)} keys)")

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
