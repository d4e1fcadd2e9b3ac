"""``kura schedules months``: make the month buckets of the schedules (``api.schedules.months``)
for a span of months, so that the first views of those months after an upgrade or a restore
read buckets instead of every person's series (issue 9 "Measured")."""

from __future__ import annotations

import sys
import time
from datetime import date

import click

from api.cli._run import with_container


def _month(text: str) -> tuple[int, int]:
    try:
        day = date.fromisoformat(f"{text}-01")
    except ValueError as exc:
        raise click.BadParameter(f"{text!r} is not a month (YYYY-MM)") from exc
    return day.year, day.month


def register(cli: click.Group) -> None:
    """Add ``schedules months``."""

    @cli.group("schedules")
    def schedules() -> None:
        """Schedules (予定表) maintenance."""

    @schedules.command("months")
    @click.option("--from", "first", required=True, help="first month, YYYY-MM")
    @click.option("--to", "last", required=True, help="last month, YYYY-MM (included)")
    def months_cmd(first: str, last: str) -> None:
        """Make the missing month buckets of every person with entries (idempotent)."""
        from api.container import Container
        from api.schedules import months
        from api.schedules.recurrence import zone
        from api.schedules.service import ScheduleService

        lo, hi = _month(first), _month(last)
        if hi < lo:
            raise click.BadParameter("--to is before --from")
        if (hi[0] - lo[0]) * 12 + hi[1] - lo[1] >= 120:
            raise click.BadParameter("at most 120 months at once")

        async def work(c: Container) -> tuple[int, int]:
            service = ScheduleService(c)
            name = service.settings.timezone
            return await months.build(c.records, zone(name), name, lo, hi, service._view_series)

        started = time.perf_counter()
        try:
            people, made = with_container(work)
        except Exception as exc:
            click.echo(f"schedules months failed: {exc}", err=True)
            sys.exit(2)
        click.echo(
            f"{made} month buckets made for {people} people "
            f"in {time.perf_counter() - started:.1f} s"
        )
