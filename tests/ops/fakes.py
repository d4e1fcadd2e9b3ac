"""Ports that only answer ``health()``: enough to build a Container without any adapter."""

from __future__ import annotations

import asyncio
from typing import Any

from api.config import Settings
from api.container import Container
from storage.ports import Health


class FakePort:
    def __init__(self, name: str, ok: bool = True, detail: str = "", hang: bool = False) -> None:
        self.name = name
        self.ok = ok
        self.detail = detail
        self.hang = hang
        self.raises: Exception | None = None

    async def open(self) -> None:
        return None

    async def close(self) -> None:
        return None

    async def health(self) -> Health:
        if self.raises is not None:
            raise self.raises
        if self.hang:
            await asyncio.sleep(60)
        return Health(self.ok, self.name, self.detail)


def fake_container(settings: Settings, **overrides: FakePort) -> Container:
    ports: dict[str, Any] = {
        "records": FakePort("fake-records"),
        "blobs": FakePort("fake-blobs"),
        "index": FakePort("fake-search"),
        "jobs": FakePort("fake-jobs"),
    }
    ports.update(overrides)
    return Container(settings, **ports)
