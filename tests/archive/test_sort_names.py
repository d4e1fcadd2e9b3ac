"""Sort by name through the API against a fixed collation table written by hand.

The rule (docs/architecture.md, Archive: Tree): folders first, then names compared after
folding width (NFKC: ｶﾞ is ガ, Ａ is A), case and kana (katakana as hiragana), code point by
code point; numbers are not compared by value. The expected orders below are written from
that rule, not computed by the code under test, and each neighbouring pair shows one part of
it (comments). Files are placed through the multipart endpoint of the app as ``create_app``
builds it.
"""

from __future__ import annotations

import random
from collections.abc import AsyncIterator

import pytest

from api.config import Settings
from tests.support.perms import API, World, perm_world

pytestmark = pytest.mark.anyio

FOLDERS = [
    "Docs",  # d
    "ﾌｫﾙﾀﾞ",  # ふぉるだ: half-width katakana read as hiragana, after latin
]
FILES = [
    "1-目次.pdf",  # digits before letters
    "10-付録.pdf",  # "1-" < "10": "-" (U+2D) < "0" (U+30); not by number
    "2-本文.pdf",
    "Ａ-索引.pdf",  # full-width Ａ is a: interleaves with A (索 U+7D22 < 表 U+8868)
    "A-表紙.pdf",
    "b-図面.pdf",  # case folded: b after A
    "Ｃ-写真.jpg",  # full-width Ｃ is c, before any kana (raw, U+FF23 would be last)
    "ｱｵｲ.txt",  # あおい: half-width katakana
    "いけ.txt",
    "ウエ.txt",  # うえ: katakana among hiragana
    "か.txt",
    "ガ.txt",  # が (U+304C) right after か (U+304B)
    "ｶﾞｽ.txt",  # ｶﾞ composes to ガ: がす after が. ("." U+2E < す)
    "さくら.txt",
    "ん.txt",  # U+3093
    "ヴ.txt",  # ゔ U+3094: after ん
    "工事.txt",  # kanji after kana, by code point: 工 U+5DE5
    "橋梁.txt",  # 橋 U+6A4B
]


@pytest.fixture
async def world(settings: Settings) -> AsyncIterator[World]:
    async with perm_world(settings, users=("supervisor", "manager", "viewer", "builder")) as w:
        yield w


async def listing(world: World, work_id: str, order: str, limit: int) -> list[str]:
    names: list[str] = []
    cursor: str | None = None
    while True:
        params = {"sort": "name", "order": order, "limit": str(limit)}
        if cursor:
            params["cursor"] = cursor
        r = await world.client("viewer").get(f"{API}/works/{work_id}/tree", params=params)
        assert r.status_code == 200, r.text
        body = r.json()
        names += [item["name"] for item in body["items"]]
        cursor = body["next_cursor"]
        if not cursor:
            return names


async def test_name_order_follows_the_collation_table(world: World) -> None:
    work = await world.work()
    shuffled = FILES[:]
    random.Random(5).shuffle(shuffled)
    await world.upload(work["id"], {n: (n.encode(), "text/plain") for n in shuffled}, folder="")
    for folder in reversed(FOLDERS):
        await world.upload(work["id"], {"中身.txt": (folder.encode(), "text/plain")}, folder)
    assert await listing(world, work["id"], "asc", 100) == FOLDERS + FILES
    # folders stay first when descending; pages of 4 keep the order across cursors
    assert await listing(world, work["id"], "desc", 4) == FOLDERS[::-1] + FILES[::-1]
