"""The 29 business types (業種) of construction work, seed 004 第1 4(1) 別表.

Seed 004 lists the qualification categories (入札参加資格の区分) and the construction licence
kind each needs (許可を受けていることが必要な建設工事の種類). The licence kinds are the 29 of
建設業法 別表第一, in that order; our code is the two-digit position in it. The seed gives no
abbreviations, so none are stored (operators may add them).

Three qualification categories exist beyond the 29 and require another kind's licence; they
are kept here for the qualification module (seed 004 第1 4(1)イ).
"""

from __future__ import annotations

BUSINESS_TYPES: tuple[tuple[str, str], ...] = tuple(
    (f"{i:02d}", name)
    for i, name in enumerate(
        (
            "土木一式工事",
            "建築一式工事",
            "大工工事",
            "左官工事",
            "とび・土工・コンクリート工事",
            "石工事",
            "屋根工事",
            "電気工事",
            "管工事",
            "タイル・れんが・ブロック工事",
            "鋼構造物工事",
            "鉄筋工事",
            "舗装工事",
            "しゅんせつ工事",
            "板金工事",
            "ガラス工事",
            "塗装工事",
            "防水工事",
            "内装仕上工事",
            "機械器具設置工事",
            "熱絶縁工事",
            "電気通信工事",
            "造園工事",
            "さく井工事",
            "建具工事",
            "水道施設工事",
            "消防施設工事",
            "清掃施設工事",
            "解体工事",
        ),
        start=1,
    )
)
"""(code, name) of the 29 licence kinds."""

EXTRA_QUALIFICATION_CATEGORIES: dict[str, str] = {
    "プレストレストコンクリート工事": "土木一式工事",
    "法面処理工事": "とび・土工・コンクリート工事",
    "鋼橋上部工事": "鋼構造物工事",
}
"""Qualification categories beyond the 29 → the licence kind each requires (seed 004 別表)."""
