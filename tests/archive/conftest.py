"""Fixtures shared by the archive tests."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from api.archive.nodes import NodeService
from api.config import Settings
from api.container import Container


@pytest.fixture
async def svc(settings: Settings) -> AsyncIterator[NodeService]:
    container = Container(settings)
    await container.open()
    try:
        yield NodeService(container)
    finally:
        await container.close()
