"""What the backup tests share: the marked data they store, the CLI runner and a reader."""

from __future__ import annotations

from collections.abc import AsyncIterator

from click.testing import CliRunner, Result

from api.cli import cli
from api.cli._run import with_container
from api.container import Container

MARK = b"KURA-PLAINTEXT-MARKER-"
DATA1 = MARK * 10000
DATA2 = b"W2:" + MARK * 3000
BIG = bytes(range(256)) * 1200 + MARK  # several segments


async def one(data: bytes) -> AsyncIterator[bytes]:
    yield data


def kura(*args: str, input: str | None = None) -> Result:
    """``kura ARGS`` in this process; an exception other than the exit is raised."""
    result = CliRunner().invoke(cli, list(args), input=input)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result


def read(key: str) -> bytes | None:
    """The object's bytes through the configured (sealing) blob store, None when absent."""

    async def run(c: Container) -> bytes | None:
        if await c.blobs.stat(key) is None:
            return None
        return b"".join([x async for x in c.blobs.get(key)])

    return with_container(run)
