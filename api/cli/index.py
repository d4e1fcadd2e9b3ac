"""``kura reindex`` and ``kura check``: rebuild the index, report drift (issue 2 item 3)."""

from __future__ import annotations

import sys

import click

from api.cli._run import with_container


def register(cli: click.Group) -> None:
    """Add ``reindex`` and ``check``."""

    @cli.command("reindex")
    @click.option("--batch", default=1000, show_default=True, type=click.IntRange(1, 10000))
    def reindex_cmd(batch: int) -> None:
        """Clear the search index and rebuild it from the records."""
        from api.consistency import reindex

        try:
            result = with_container(lambda c: reindex(c, batch=batch))
        except Exception as exc:
            click.echo(f"reindex failed: {exc}", err=True)
            sys.exit(2)
        for doc_type, n in result.counts.items():
            click.echo(f"{doc_type}: {n} documents")
        click.echo(f"total: {sum(result.counts.values())} documents in {result.seconds:.2f} s")

    @cli.command("check")
    @click.option("--max-items", default=1000, show_default=True, type=click.IntRange(0))
    def check_cmd(max_items: int) -> None:
        """Report drift between records, index and blobs. Exit 0 clean, 1 drift, 2 error."""
        from api.consistency import check

        try:
            report = with_container(lambda c: check(c, max_items=max_items))
        except Exception as exc:
            click.echo(f"check failed: {exc}", err=True)
            sys.exit(2)
        for line in report.lines():
            click.echo(line)
        sys.exit(0 if report.clean else 1)
