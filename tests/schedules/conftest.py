from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from api.config import Settings
from tests.support.perms import World, perm_world
from workers.celery_app import set_container


@pytest.fixture
async def world(settings: Settings) -> AsyncIterator[World]:
    async with perm_world(settings) as w:
        set_container(w.container)
        try:
            yield w
        finally:
            set_container(None)
