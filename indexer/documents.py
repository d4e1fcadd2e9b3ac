"""The one index schema shared by every search backend, and Japanese text normalisation.

A document is a flat dict: ``id``, ``type`` (``work``, ``file``, ...), the text fields, keyword
fields (a string or a list of strings), date fields (fixed-width ISO strings, see
``api.kit.clock``; a bare ``YYYY-MM-DD`` is allowed), integer fields, and ``stamp``: the
record version it was built from, so ``kura check`` can spot stale entries.

``acl`` lists the principals that may read the document (works and files: ``"user:<id>"``,
``"orgread:<org id>"``, ``"archive:<org id>"``, see ``api.works.indexing``; posts and replies:
``"member:<work>"``, ``"role:<work>:<role>"``, ``"wuser:<work>:<user>"``, see
``api.bulletins.scope``); searches filter on it inside the index.
"""

from __future__ import annotations

import unicodedata

# Full-text fields: analysed for Japanese (kuromoji on Elasticsearch) and as character
# bigrams, so any exact substring of two or more characters is always found.
TEXT_FIELDS: tuple[str, ...] = ("title", "body", "names")

# Exact-match, filterable, facetable fields.
KEYWORD_FIELDS: tuple[str, ...] = (
    "type",
    "work_id",
    "parent_id",
    "path",
    "number",
    "category",
    "business_type",
    "doc_class",
    "orderer",
    "office",
    "contractor",
    "work_kind",
    "status",
    "file_type",
    "municipality_code",
    "fiscal_year",  # 発注年度 of the work's 電子納品 package (issue 8 item 9)
    "work_field",  # 工事分野
    "work_industry",  # 工事業種
    "role",  # a file's role in a 電子納品 package (photo, management, ...), from its XML
    "author",  # posts and replies: the author's user id (seed 001 別表1-1 2(7))
    "acl",
)

# The bounding box of a work's package (西/東 longitude, 南/北 latitude).
BBOX_FIELDS: tuple[str, ...] = ("bbox_west", "bbox_east", "bbox_south", "bbox_north")
MICRO = 1_000_000

# Range-filterable, sortable dates.
DATE_FIELDS: tuple[str, ...] = (
    "period_start",
    "period_end",
    "doc_date",
    "photo_date",
    "created_at",
    "updated_at",
)

INT_FIELDS: tuple[str, ...] = (
    "stamp",
    "size",
    "page",
    "price",
    # the package's 境界座標 in micro-degrees (decimal degrees x 1e6), for the map filter
    *BBOX_FIELDS,
)

# Sortable keyword copy of the title (normalised) used for "sort by title".
SORT_TITLE = "title_sort"


def normalize(text: str) -> str:
    """NFKC (full/half width), lower case, katakana folded to hiragana.

    Applied to both indexed text and query text so ｶﾀｶﾅ, カタカナ and かたかな all match.
    """
    text = unicodedata.normalize("NFKC", text).lower()
    return "".join(chr(ord(ch) - 0x60) if "\u30a1" <= ch <= "\u30f6" else ch for ch in text)
