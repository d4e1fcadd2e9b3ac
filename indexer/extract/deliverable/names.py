"""File and folder names: rule 5 (junk), rule 7 (character set and 8.3), rule 8 (patterns).

deliverables-and-bonds.md §1.9 and §2.2 rules 7-8. Rule 7 (8.3, half-width upper case,
digits, ``_``) applies where the 要領 imposes it; the 測量成果 tree keeps its own longer folder
names (``SURVEY/OTHERSOYO``, §1.3 [C]) and i-Construction data its own names, so those trees
are checked for the character set only. Rule 8 patterns are per folder; the ORG folders are
the ones the INDEX declares (``…オリジナルファイルフォルダ名``), with the usual names as
defaults. Labels: [V] verified in the reference, [M] memory only (kept in this one table, so a
verified pattern is a one-line change; ``source`` says which).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

JUNK_NAMES = frozenset({"thumbs.db", "desktop.ini", ".ds_store", "__macosx"})
NAME_8_3 = re.compile(r"^[A-Z0-9_]{1,8}(\.[A-Z0-9]{1,3})?$")
# Original files (ORG folders) may carry the 4-letter extensions of current office formats
# (.DOCX, .XLSX) [M].
NAME_ORG = re.compile(r"^[A-Z0-9_]{1,8}(\.[A-Z0-9]{1,4})?$")
NAME_LONG = re.compile(r"^[A-Z0-9_]{1,64}(\.[A-Z0-9]{1,4})?$")
NAME_FREE = re.compile(r"^[A-Z0-9_\-]{1,64}(\.[A-Z0-9]{1,8})?$")
FIXED_NAMES = frozenset({"PRE-PIC.JPG", "POST-PIC.JPG"})  # §1.9 [V]

# Trees whose names the 8.3 rule does not bind: folder -> (folder names, file names)
RELAXED: dict[str, tuple[re.Pattern[str], re.Pattern[str]]] = {
    "SURVEY": (NAME_LONG, NAME_8_3),  # 測量成果電子納品要領: KITEN, OTHERSOYO … (§1.3 [C])
    "ICON": (NAME_FREE, NAME_FREE),  # i-Construction data [M]
}


@dataclass(frozen=True)
class Pattern:
    regex: re.Pattern[str]
    label: str  # shown in the message
    source: str  # [V]/[M] and where


# CAD製図基準: life cycle, 整理番号, 図面種類 (2), 図面番号 (3), 改訂履歴; SXF P21/SFC and their
# compressed forms, with raster attachments [M]; NILIM Q&A CH-119 [V] shows a DXF name failing
# the naming check, so other formats are refused.
CAD = Pattern(
    re.compile(r"^[SDCMR][0-9A-Z][A-Z]{2}\d{3}[0-9A-Z]\.(P21|SFC|P2Z|SFZ|JPG|TIF)$"),
    "CAD製図基準（例 C0PL001Z.P21）",
    "§1.9 [M], CH-119 [V]",
)
# Files per folder (relative to the package root), besides the management files.
FILE_PATTERNS: dict[str, Pattern] = {
    "PHOTO/PIC": Pattern(re.compile(r"^P\d{7}\.JPG$"), "Pnnnnnnn.JPG", "§1.9 [V]"),
    "PHOTO/DRA": Pattern(re.compile(r"^D\d{7}\.(JPG|TIF)$"), "Dnnnnnnn.JPG/TIF", "§1.9 [V]"),
    "REPORT": Pattern(re.compile(r"^REPORT\d{2}\.PDF$"), "REPORTnn.PDF", "§1.9 [V]"),
    "DRAWINGF": CAD,
    "DRAWING": CAD,
    "DRAWINGS": CAD,
    "BORING/DATA": Pattern(re.compile(r"^BED\d{4}\.XML$"), "BEDnnnn.XML", "§1.2 BORING [M]"),
    "BORING/LOG": Pattern(re.compile(r"^BRG\d{4}\.PDF$"), "BRGnnnn.PDF", "§1.2 BORING [M]"),
}
# ORG folders: the element declaring the folder, its default, the file-name stem (§1.9 [M]).
ORG_FOLDERS: dict[str, tuple[str, str | None]] = {
    "施工計画書オリジナルファイルフォルダ名": ("PLAN/ORG", "PLAN"),
    "打合せ簿オリジナルファイルフォルダ名": ("MEET/ORG", "MEET"),
    "報告書オリジナルファイルフォルダ名": ("REPORT/ORG", None),
    "台帳オリジナルファイルフォルダ名": ("REGISTER/ORG", None),
}
# Sub-folder names per folder [M]
FOLDER_PATTERNS: dict[str, Pattern] = {
    "PHOTO": Pattern(re.compile(r"^(PIC|DRA)$"), "PIC/DRA", "§1.2 [V]"),
    "OTHRS": Pattern(re.compile(r"^ORG\d{3}$"), "ORGnnn", "§1.9 [M]"),
    # 測量成果 sub-folders as a real reader lists them (§1.3 [C]); more exist [M], so the
    # list only grows
    "SURVEY": Pattern(
        re.compile(r"^(KITEN|SUIJUN|CHIKEI|ROSEN|KASEN|OTHERSOYO|YOUCHI|SONOTA)$"),
        "KITEN/SUIJUN/CHIKEI/ROSEN/KASEN/OTHERSOYO…",
        "§1.3 [C]",
    ),
    "BORING": Pattern(
        re.compile(r"^(DATA|LOG|DRA|PIC|TEST|OTHRS)$"), "DATA/LOG/DRA/PIC/TEST/OTHRS", "[M]"
    ),
}


_MANAGED = frozenset({"PHOTO", "REPORT", "DRAWINGF", "DRAWING", "DRAWINGS", "BORING"})


def is_junk(name: str) -> bool:
    return name.lower() in JUNK_NAMES or name.startswith("._")


def org_folders(declared: dict[str, str]) -> dict[str, str | None]:
    """ORG folder (upper case) -> file-name stem, from 基礎情報 (defaults where undeclared)."""
    out: dict[str, str | None] = {}
    for element, (default, stem) in ORG_FOLDERS.items():
        folder = (declared.get(element) or default).strip("/").upper()
        out[folder] = stem
    return out


def name_ok(rel: str, is_dir: bool, orgs: dict[str, str | None], names_8_3: bool) -> bool:
    """Rule 7 for the entry at ``rel`` (relative to the package root)."""
    name = rel.rsplit("/", 1)[-1]
    if name in FIXED_NAMES:
        return True
    top = rel.split("/", 1)[0].upper()
    relaxed = RELAXED.get(top)
    if relaxed is not None and "/" in rel:
        return bool((relaxed[0] if is_dir else relaxed[1]).match(name))
    if not names_8_3:
        return bool(NAME_FREE.match(name))
    parent = rel.rsplit("/", 1)[0].upper() if "/" in rel else ""
    if not is_dir and (parent in orgs or _under_othrs_org(parent)):
        return bool(NAME_ORG.match(name))
    return bool(NAME_8_3.match(name))


def _under_othrs_org(parent: str) -> bool:
    return parent.startswith("OTHRS/") and parent.count("/") == 1


def pattern_for(
    rel: str, is_dir: bool, orgs: dict[str, str | None], pic: str = "PHOTO/PIC"
) -> Pattern | None:
    """Rule 8: the pattern the entry at ``rel`` must match, or None."""
    name = rel.rsplit("/", 1)[-1]
    parent = rel.rsplit("/", 1)[0].upper() if "/" in rel else ""
    if is_dir:
        return FOLDER_PATTERNS.get(parent)
    upper = name.upper()
    if upper.endswith((".DTD", ".XSL")) or (upper.endswith(".XML") and parent in _MANAGED):
        return None
    if parent == pic.upper():
        return FILE_PATTERNS["PHOTO/PIC"]
    stem = orgs.get(parent)
    if stem:
        return Pattern(
            re.compile(rf"^{stem}\d{{4}}\.[A-Z0-9]{{1,4}}$"), f"{stem}nnnm.XXX", "§1.9 [M]"
        )
    return FILE_PATTERNS.get(parent)
