"""``validate_tree(tree, profile) -> Report``: the §2.2 checks over any package tree.

Order: safety and structure (rules 26, 5, 1), the INDEX (which fixes the profile from the
pair (要領 family, 適用要領基準) and the declared folders), names (6-8), each management XML
(2, 9-17, 27, 28, and 10 against the bundled DTD of its version), cross-references (18-21,
4), content (22-25), the virus scan (29) and the work (30). A finding never stops the run; an
unreadable XML only skips the checks that need its contents.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from indexer.extract.deliverable import checks_xml as X
from indexer.extract.deliverable import content as C
from indexer.extract.deliverable import crossref, structure, workmatch
from indexer.extract.deliverable import rules as R
from indexer.extract.deliverable.content import BlackboardVerifier, Scanner, reads_for
from indexer.extract.deliverable.profiles import edition
from indexer.extract.deliverable.refs import FileRef
from indexer.extract.deliverable.rules import Profile
from indexer.extract.deliverable.state import Report, Run
from indexer.extract.deliverable.tree import FolderTree, PackageTree, ZipTree
from indexer.extract.deliverable.workmatch import WorkExpect

__all__ = ["Report", "WorkExpect", "reads_for", "suggest_profile", "validate_tree"]

MANAGED = {"C": crossref.MANAGED_C, "D": crossref.MANAGED_D}


def suggest_profile(kind: str | None, applied_standard: str | None) -> Profile:
    """The severity profile of the (要領 family, 適用要領基準) pair (``profiles``)."""
    return edition(kind, applied_standard).severity


def _management_xmls(run: Run, kind: str) -> list[tuple[str, str]]:
    """(folder kind, XML rel) of every management file present, in check order."""
    out: list[tuple[str, str]] = []
    for folder in (*MANAGED[kind], *crossref.GENERIC):
        xml = run.find(f"{folder}/{folder}.XML")
        if xml is not None and xml in run.files:
            out.append((folder, xml))
        if folder == "SURVEY":
            subs = [
                p
                for p in sorted(run.files)
                if p.upper().startswith("SURVEY/")
                and p.count("/") == 2
                and p.rsplit("/", 1)[-1].upper().startswith("SURV_")
                and p.upper().endswith(".XML")
            ]
            out += [("SURVEY", p) for p in subs]
    return out


def validate_tree(
    tree: PackageTree | Path | str,
    profile: Profile | None = None,
    *,
    scanner: Scanner | None = None,
    verifier: BlackboardVerifier | None = None,
    expect: WorkExpect | None = None,
) -> Report:
    """Check a 電子納品 package (a PackageTree, a folder path or a ``.zip`` path) with the §2.2
    rules under ``profile`` (None: the profile of its (要領 family, 適用要領基準), MLIT when
    unknown). ``scanner`` runs rule 29, ``verifier`` the hash of rule 25, ``expect`` rule 30."""
    if isinstance(tree, (str, Path)):
        path = Path(tree)
        tree = FolderTree(path) if path.is_dir() else ZipTree(path)
    run = Run(tree, profile or "mlit")
    structure.load(run)
    structure.junk(run)
    found = structure.index_file(run)
    if found is None:
        structure.names(run)
        return run.report
    rel, kind = found
    X.check_index(run, rel, kind)
    if profile is None:
        # Severities depend on the profile only; recompute the ones found so far.
        run.profile = run.report.profile = run.edition.severity
        run.report.findings = [
            replace(f, severity=R.RULES[f.check].severity(run.profile)) for f in run.report.findings
        ]
    refs: list[FileRef] = []
    for folder, xml in _management_xmls(run, kind):
        refs += X.check_photo(run, xml) if folder == "PHOTO" else X.check_other(run, folder, xml)
    structure.names(run)
    run.refs = refs
    crossref.resolve(run, refs)
    crossref.dra(run, refs)
    crossref.unreferenced(run, kind)
    C.content(run, verifier)
    C.scan(run, scanner)
    if expect is not None:
        workmatch.check(run, rel, expect)
    return run.report
