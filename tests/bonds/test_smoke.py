from __future__ import annotations

import pytest

from tests.bonds.harness import BUILDER, CLERK, ISSUER, Harness

pytestmark = pytest.mark.anyio


async def test_flow(h: Harness) -> None:
    await h.certificate()
    bond, key = await h.signed_bond()
    opened = await h.present(key)
    assert opened["bond"]["view"] == "existence"
    h.clock.advance(days=10)
    opened = await h.present(key)
    assert opened["bond"]["view"] == "full", opened
    assert opened["bond"]["amount"] == 1_309_100
    got = await h.ok(BUILDER, "GET", f"/bonds/{bond['id']}")
    assert got["view"] == "full"
    got = await h.ok(CLERK, "GET", f"/bonds/{bond['id']}")
    assert got["view"] == "existence"
    print(await h.ok(ISSUER, "GET", "/bonds/balances"))
