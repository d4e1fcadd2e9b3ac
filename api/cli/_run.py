"""Run one command's work against the configured backends (every ``kura`` command that needs
them): build the Container from the settings, open it (which also ensures the schema), run the
work, close it, all in one ``asyncio.run``."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

from api.config import Settings
from api.container import Container

T = TypeVar("T")


def with_container(
    work: Callable[[Container], Awaitable[T]], settings: Settings | None = None
) -> T:
    """Open the backends of ``settings`` (default: from the environment), run ``work``, close."""

    async def main() -> T:
        container = Container(settings if settings is not None else Settings())
        await container.open()
        try:
            return await work(container)
        finally:
            await container.close()

    return asyncio.run(main())
