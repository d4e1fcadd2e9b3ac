from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from api.config import Settings
from tests.proposals.harness import Harness, harness


@pytest.fixture
async def h(settings: Settings) -> AsyncIterator[Harness]:
    async with harness(settings) as the_harness:
        yield the_harness
