"""Fixtures of the bond tests: the test PKI (generated once per session) and the harness."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from api.config import Settings
from tests.bonds.harness import Harness, harness
from tests.bonds.pki import Pki, build, write_crls


@pytest.fixture(scope="session")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return build(tmp_path_factory.mktemp("pki"))


@pytest.fixture
async def h(settings: Settings, pki: Pki) -> AsyncIterator[Harness]:
    write_crls(pki, [pki.revoked.cert])  # a test may have revoked more; start clean
    async with harness(settings, pki) as the:
        yield the


def _unused(p: Path) -> Path:
    return p
