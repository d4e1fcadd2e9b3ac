"""The state of one validation run and its result (``Report``).

A package may span several media (メディア番号 / メディア総枚数, issue 8 item 9): each volume
is a folder holding its own INDEX; the run sees the union of the volumes' files under paths
relative to a volume root (``rel``), and ``where`` maps each back to its path in the tree.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from indexer.extract.deliverable.models import IndexInfo
from indexer.extract.deliverable.photos import PhotoInfo, meet_tree, othrs_tree, photo_tree
from indexer.extract.deliverable.profiles import Edition, edition
from indexer.extract.deliverable.refs import FileRef
from indexer.extract.deliverable.rules import Finding, Profile, finding
from indexer.extract.deliverable.tree import Entry, PackageTree

MAX_XML = 64 << 20  # rule 27
HEAD = 128 << 10  # PDF header
TAIL = 1 << 20  # PDF trailer (/Encrypt)


@dataclass
class Report:
    profile: Profile
    findings: list[Finding] = field(default_factory=list)
    root: str = ""  # the package's folder inside the tree ("" = top)
    volumes: dict[int, str] = field(default_factory=dict)  # メディア番号 -> volume root
    index_kind: str | None = None  # "C" | "D"
    standard: str | None = None
    applied_standard: str | None = None
    edition: str | None = None  # the (要領 family, 適用要領基準) pair as a label
    dtd_version: str | None = None
    dtds: dict[str, str] = field(default_factory=dict)  # XML path -> bundled DTD used
    fields: dict[str, Any] = field(default_factory=dict)
    files: dict[str, FileRef] = field(default_factory=dict)  # tree path -> what the XML says
    unreferenced: list[str] = field(default_factory=list)  # tree paths no XML names (rule 4)
    text_names: list[str] = field(default_factory=list)
    scan: str = "not_run"  # rule 29: not_run | clean | infected | error

    @property
    def counts(self) -> dict[str, int]:
        out = {"E": 0, "W": 0, "N": 0}
        for f in self.findings:
            out[f.severity] += 1
        return out

    @property
    def ok(self) -> bool:
        return self.counts["E"] == 0

    def photo_tree(self) -> list[dict[str, Any]]:
        return photo_tree(self.files.values())

    def meet_tree(self) -> list[dict[str, Any]]:
        return meet_tree(self.files.values())

    def othrs_tree(self) -> list[dict[str, Any]]:
        return othrs_tree(self.files.values())

    def to_dict(self) -> dict[str, Any]:
        return {
            "profile": self.profile,
            "edition": self.edition,
            "dtds": self.dtds,
            "volumes": {str(k): v for k, v in self.volumes.items()},
            "scan": self.scan,
            "findings": [f.to_dict() for f in self.findings],
            "counts": self.counts,
        }


class Run:
    """Mutable state shared by the check steps of one ``validate_tree`` call."""

    def __init__(self, tree: PackageTree, profile: Profile) -> None:
        self.tree = tree
        self.profile = profile
        self.report = Report(profile)
        self.all_paths: set[str] = set()  # every safe path of the tree
        self.files: dict[str, Entry] = {}  # relative to the (volume) root
        self.where: dict[str, str] = {}  # rel -> path in the tree
        self.dirs: set[str] = set()
        self.upper: dict[str, str] = {}
        self.referenced: set[str] = set()
        self.managed: set[str] = set()
        self.dtd_missing: dict[str, set[str]] = {}  # XML rel -> elements rule 10 found missing
        self.index: IndexInfo | None = None
        self.photo: PhotoInfo | None = None
        self.edition: Edition = edition(None, None)
        self.refs: list[FileRef] = []
        self.orgs: dict[str, str | None] = {}

    def add(
        self,
        check: str,
        path: str | None = None,
        line: int | None = None,
        column: int | None = None,
        **values: object,
    ) -> None:
        full = self.full(path) if path is not None else None
        self.report.findings.append(finding(check, self.profile, full, line, column, **values))

    def add_raw(self, check: str, path: str | None, **values: object) -> None:
        """A finding on a path of the tree (not relative to a volume root)."""
        self.report.findings.append(finding(check, self.profile, path, None, None, **values))

    def full(self, rel: str) -> str:
        if rel in self.where:
            return self.where[rel]
        root = self.report.volumes.get(1, self.report.root) if self.report.volumes else ""
        root = root or self.report.root
        return f"{root}/{rel}" if root and rel else (rel or root)

    def read(self, rel: str, start: int = 0, end: int | None = None) -> bytes | None:
        try:
            return self.tree.read(self.full(rel), start, end)
        except (OSError, KeyError):
            return None

    def find(self, rel: str) -> str | None:
        """The existing path equal to ``rel`` ignoring case."""
        return self.upper.get(rel.upper())
