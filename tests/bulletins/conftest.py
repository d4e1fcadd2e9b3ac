from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from api.config import Settings
from tests.bulletins.harness import Board, board_harness


@pytest.fixture
async def b(settings: Settings) -> AsyncIterator[Board]:
    async with board_harness(settings) as harness:
        yield harness
