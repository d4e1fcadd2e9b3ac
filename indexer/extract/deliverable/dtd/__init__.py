"""The DTDs Kura validates against (§2.2 rule 10), bundled as package data.

Each ``*.DTD`` here was written from the element lists published in deliverables-and-bonds.md
§1 (the header comment of each file names its source and labels). A file marked
``kura:complete`` has a verified element list and is enforced exactly; ``kura:partial`` files
were rebuilt from partial lists and only their required children are enforced (see
``dtdcheck``). The DTD a package ships is never read for validation (it may be anything); it
only has to exist (rule 2).

``lookup(kind, version)`` picks the bundled file for a management file kind (``INDEX_C``,
``PHOTO``, ``MEET`` …) and its declared ``DTD_version``; a version Kura does not bundle falls
back to the nearest earlier bundled one (the caller reports that), or to nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from importlib import resources

from indexer.extract.deliverable.dtdcheck import Dtd, parse_dtd

# management file kind -> DTD file stem (the version digits follow)
STEMS: dict[str, str] = {
    "INDEX_C": "INDE_C",
    "INDEX_D": "INDE_D",
    "PHOTO": "PHOTO",
    "MEET": "MEET",
    "PLAN": "PLAN",
    "OTHRS": "OTHRS",
    "REGISTER": "REGIST",
    "DRAWINGF": "DRAW",
    "DRAWING": "DRAW",
    "DRAWINGS": "DRAW",
    "REPORT": "REP",
    "SURVEY": "SURV",
}
_SOURCE = re.compile(r"Source:\s*([^\n]+)")


@dataclass(frozen=True)
class Choice:
    """The bundled DTD chosen for a file, and whether it is the declared version."""

    dtd: Dtd
    version: str
    exact: bool


def bundled() -> list[str]:
    """File names of every bundled DTD."""
    return sorted(p.name for p in resources.files(__package__).iterdir() if p.name.endswith(".DTD"))


@cache
def load(file: str) -> Dtd:
    text = resources.files(__package__).joinpath(file).read_text("utf-8")
    source = _SOURCE.search(text)
    return parse_dtd(
        text,
        file=file,
        complete="kura:complete" in text,
        source=source.group(1).strip() if source else "",
    )


def versions(kind: str) -> list[str]:
    stem = STEMS.get(kind)
    if stem is None:
        return []
    pattern = re.compile(rf"^{stem}(\d\d)\.DTD$")
    return sorted(m.group(1) for name in bundled() if (m := pattern.match(name)))


def lookup(kind: str, version: str | None) -> Choice | None:
    """The bundled DTD for ``kind`` at ``version`` (two digits), else the nearest earlier
    bundled version, else None."""
    known = versions(kind)
    if not known or not version or not version.isdigit():
        return None
    version = version.zfill(2)
    if version in known:
        return Choice(load(f"{STEMS[kind]}{version}.DTD"), version, True)
    earlier = [v for v in known if v < version]
    if not earlier:
        return None
    return Choice(load(f"{STEMS[kind]}{earlier[-1]}.DTD"), earlier[-1], False)
