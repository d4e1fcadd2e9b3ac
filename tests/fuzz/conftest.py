"""One seeded ``kura serve`` for the whole fuzz run; operations that delete run last."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fuzz.stack import FuzzStack, start


@pytest.fixture(scope="package")
def fuzz_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FuzzStack]:
    stack = start(tmp_path_factory.mktemp("fuzz"))
    try:
        yield stack
    finally:
        stack.stop()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Deleting operations after all others, so the seeded objects serve every other one."""

    def deletes(item: pytest.Item) -> bool:
        return "fuzz" in item.nodeid and "[DELETE " in item.nodeid

    items.sort(key=deletes)
