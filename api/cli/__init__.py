"""The ``kura`` command line: one click group; each concern adds its commands."""

from __future__ import annotations

import click

from api.cli import (
    audit,
    backup,
    bonds,
    export,
    imports,
    index,
    jobs,
    keys,
    mail,
    migrate,
    schedules,
    scrub,
    serve,
    users,
    validate,
)


@click.group()
@click.version_option("0.1.0", prog_name="kura")
def cli() -> None:
    """Kura (蔵) command line."""


for module in (
    serve,
    users,
    index,
    audit,
    imports,
    export,
    validate,
    scrub,
    mail,
    jobs,
    bonds,
    keys,
    backup,
    migrate,
    schedules,
):
    module.register(cli)


def main() -> None:
    cli()
