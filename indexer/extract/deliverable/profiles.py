"""The validation profile of a package, chosen by the pair (要領 family, 適用要領基準).

deliverables-and-bonds.md §1.1: "Pick the validation profile from the pair (要領 family,
適用要領基準)". The family is the kind of management file (``INDEX_C``: 工事完成図書の電子納品
等要領, ``INDEX_D``: 土木設計業務等の電子納品要領, §1.2/§1.3) together with the field prefix
of the 適用要領基準 code (``土木`` in ``土木202203-01``); the edition is the code's
``yyyymm-nn`` part. Both are looked up in tables here, never guessed from a substring.

What an edition decides:
- ``severity``: ``mlit`` (国土交通省, lenient like the MLIT チェックシステム) or ``maff``
  (農林水産省 農業農村整備事業, strict, happylibus「チェックシステムのポイント(農林水産省編)」);
- ``register_required``: the 台帳 REGISTER folder and ``<台帳フォルダ名>`` are mandatory from
  土木202003-01 (R2.3) for 工事 (§1.1 [V] denshinohin.jp, §2.1 Ver15.0.0 behaviour);
- ``sjis_required``: management XML must be Shift_JIS (§1.8 "The management XML is
  Shift_JIS");
- ``names_8_3``: file and folder names 8.3 in half-width upper case (§1.9, rule 7).

A code whose field prefix is not in the table is checked under the MLIT rules and reported
(N) so nobody mistakes it for a recognised 要領; a recognised family with an edition not in
the table is checked under the family's rules, with the nearest earlier edition's switches.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

Severity = Literal["mlit", "maff"]

_CODE = re.compile(r"^(?P<field>\D+?)(?P<ym>\d{6})-(?P<rev>\d{2})$")


@dataclass(frozen=True)
class Family:
    """One 要領 family: kind of index (``C``/``D``) and the 適用要領基準 field prefix."""

    kind: str
    prefix: str
    name: str
    severity: Severity
    source: str
    # yyyymm of the first edition requiring REGISTER (None: never, for this family)
    register_from: int | None = None
    # known editions (yyyymm -> label), for reports; [V]/[C]/[M] per the reference
    editions: tuple[tuple[int, str], ...] = ()


@dataclass(frozen=True)
class Edition:
    """What the validator needs to know about the declared 要領 edition."""

    family: Family | None
    code: str | None
    yyyymm: int | None
    known: bool  # the (family, edition) pair is in the table
    severity: Severity
    register_required: bool
    sjis_required: bool = True
    names_8_3: bool = True

    @property
    def label(self) -> str:
        if self.family is None:
            return "（不明な要領）"
        for ym, text in self.family.editions:
            if ym == self.yyyymm:
                return f"{self.family.name} {text}"
        return self.family.name


_MLIT_C_EDITIONS = (
    (200809, "H20.5"),  # [M]
    (201009, "H22.9"),  # [M]
    (201603, "H28.3"),  # [V] 土木201603-01 (PHOTO05 基準 tables in §1.1 sources)
    (202003, "R2.3"),  # [V] denshinohin.jp registercheck
    (202103, "R3.3"),  # [V] stannats.net/?p=527
    (202203, "R4.3"),  # [V] stannats.net/?p=527 (INDE_C08)
    (202303, "R5.3"),  # [V] 写真 基準 R5.3 (§1.6 skeleton)
)
_MLIT_D_EDITIONS = (
    (201603, "H28.3"),  # [M]
    (202003, "R2.3"),  # [M]
    (202103, "R3.3"),  # [M]
    (202203, "R4.3"),  # [M]
    (202303, "R5.3"),  # [M]
)
_MAFF_EDITIONS = (
    (200504, "H17.4"),  # [V] Goyo profile table (§1.10)
    (200704, "H19.4"),  # [V]
    (201103, "H23.3"),  # [V]
    (201303, "H25.3"),  # [V]
    (201403, "H26.3"),  # [V]
    (202303, "R5.3"),  # [M]
)
_MLIT_SOURCE = "deliverables-and-bonds.md §1.1, §2.1 (国土交通省 要領)"
_MAFF_SOURCE = "deliverables-and-bonds.md §1.10, §2.1 (農林水産省 農業農村整備事業)"

FAMILIES: tuple[Family, ...] = (
    Family(
        "C",
        "土木",
        "工事完成図書の電子納品等要領（土木）",
        "mlit",
        _MLIT_SOURCE,
        202003,
        _MLIT_C_EDITIONS,
    ),
    # 電気通信 / 機械 share the 工事 要領 (§2.1 names 電通 and 機械 versions of the
    # チェックシステム); REGISTER is only verified for 土木, so it is not imposed here.
    Family("C", "電通", "工事完成図書の電子納品等要領（電気通信設備）", "mlit", _MLIT_SOURCE),
    Family("C", "機械", "工事完成図書の電子納品等要領（機械設備）", "mlit", _MLIT_SOURCE),
    Family(
        "D",
        "土木",
        "土木設計業務等の電子納品要領",
        "mlit",
        _MLIT_SOURCE,
        None,
        _MLIT_D_EDITIONS,
    ),
    Family("D", "電通", "設計業務等の電子納品要領（電気通信設備）", "mlit", _MLIT_SOURCE),
    Family("D", "機械", "設計業務等の電子納品要領（機械設備）", "mlit", _MLIT_SOURCE),
    # 農林水産省 農業農村整備事業: the field prefixes seen for its 要領 [M]
    *(
        Family(kind, prefix, name, "maff", _MAFF_SOURCE, None, _MAFF_EDITIONS)
        for prefix in (
            "農業土木",
            "農業農村整備",
            "農林水産省農業農村整備",
            "農水",
            "農林水産",
            "土地改良",
        )
        for kind, name in (
            ("C", "工事完成図書の電子納品要領(案)（農林水産省）"),
            ("D", "設計業務等の電子納品要領(案)（農林水産省）"),
        )
    ),
)
_BY_KEY = {(f.kind, f.prefix): f for f in FAMILIES}


def parse_code(code: str | None) -> tuple[str, int, str] | None:
    """``"土木202203-01"`` -> ``("土木", 202203, "01")``; None when the code is malformed."""
    match = _CODE.match((code or "").strip())
    if not match:
        return None
    return match.group("field"), int(match.group("ym")), match.group("rev")


def edition(kind: str | None, code: str | None) -> Edition:
    """The edition for an index kind (``C``/``D``) and the declared 適用要領基準."""
    parsed = parse_code(code)
    family = _BY_KEY.get((kind or "", parsed[0])) if parsed else None
    if family is None or parsed is None:
        return Edition(None, code, parsed[1] if parsed else None, False, "mlit", False)
    ym = parsed[1]
    known = any(e == ym for e, _ in family.editions)
    register = family.register_from is not None and ym >= family.register_from
    return Edition(family, code, ym, known, family.severity, register)
