"""``kura mail``: read the outbox, show one message raw, send what is due, retry a dead one."""

from __future__ import annotations

import sys

import click

from api.audit.service import AuditLog
from api.cli._run import with_container
from api.container import Container
from api.mail.outbox import STATES


def register(cli: click.Group) -> None:
    """Add the ``mail`` group."""

    @cli.group("mail")
    def mail() -> None:
        """Outgoing mail (the outbox)."""

    @mail.command("outbox")
    @click.option("--state", type=click.Choice(STATES))
    @click.option("--limit", type=click.IntRange(1, 10_000), default=50, show_default=True)
    def outbox_cmd(state: str | None, limit: int) -> None:
        """List mails newest first: id, state, attempts, created, recipient, subject."""

        async def work(c: Container) -> tuple[str, list[dict[str, object]], dict[str, int]]:
            page = await c.outbox().list(state=state, limit=limit)
            return c.mail_transport.name, page.items, await c.outbox().counts()

        transport, items, counts = with_container(work)
        click.echo(f"transport: {transport}  " + "  ".join(f"{k}={v}" for k, v in counts.items()))
        for m in items:
            click.echo(
                f"{m['id']}  {m['state']:<7} {m['attempts']:>2}  {m['created_at']}  "
                f"{m['to_address']}  {m['subject']}"
            )

    @mail.command("show")
    @click.argument("mail_id")
    def show_cmd(mail_id: str) -> None:
        """Print one mail's raw RFC 5322 text (exit 1 if there is none)."""

        async def work(c: Container) -> dict[str, object] | None:
            return await c.outbox().get(mail_id)

        record = with_container(work)
        if record is None:
            click.echo(f"no mail {mail_id}", err=True)
            sys.exit(1)
        click.echo(str(record["raw"]).replace("\r\n", "\n"), nl=False)

    @mail.command("flush")
    def flush_cmd() -> None:
        """Deliver every due mail now (what the mail.flush job does)."""

        async def work(c: Container) -> dict[str, object]:
            return (await c.outbox().flush_all()).to_dict()

        click.echo(" ".join(f"{k}={v}" for k, v in with_container(work).items()))

    @mail.command("retry")
    @click.argument("mail_id")
    def retry_cmd(mail_id: str) -> None:
        """Queue a dead mail again (exit 1 if it is not dead)."""

        async def work(c: Container) -> bool:
            async with c.uow() as uow:
                record = await uow.records.get("mails", mail_id)
                if record is None or record["state"] != "dead":
                    return False
                await c.outbox().retry(uow, record)
                await AuditLog(uow.records, c.clock).record(
                    "system:cli", "mail.retried", f"mails/{mail_id}"
                )
            return True

        if not with_container(work):
            click.echo(f"{mail_id} is not a dead mail", err=True)
            sys.exit(1)
        click.echo(f"queued {mail_id}")
