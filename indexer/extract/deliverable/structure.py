"""Structure and names: rules 26 (unsafe paths), 5 (junk), 1 (the INDEX), 6 (sub-folders),
7 and 8 (names), and the media (volumes) a package spans (issue 8 item 9).

deliverables-and-bonds.md §2.2 rules 1, 5-8 and 26; §1.4 メディア番号/メディア総枚数.
"""

from __future__ import annotations

from indexer.extract.deliverable import names as N
from indexer.extract.deliverable.models import read_index
from indexer.extract.deliverable.state import Run
from indexer.extract.deliverable.tree import Entry
from indexer.extract.deliverable.xmlread import XmlError, parse

INDEX_NAMES = ("INDEX_C.XML", "INDEX_D.XML")


def _under(path: str, top: str) -> bool:
    return not top or path == top or path.startswith(top + "/")


def _roots(entries: list[Entry]) -> list[str]:
    """Folders (``""`` = top) that directly hold an INDEX_C/D.XML, at most two levels down
    (a ZIP often wraps the package in one folder; media may sit side by side in one more)."""
    roots = set()
    for e in entries:
        parts = e.path.split("/")
        if e.is_dir or len(parts) > 3 or parts[-1].upper() not in INDEX_NAMES:
            continue
        if any(N.is_junk(p) for p in parts):
            continue
        roots.add("/".join(parts[:-1]))
    return sorted(roots)


def _volumes(run: Run, roots: list[str]) -> dict[int, str] | None:
    """メディア番号 -> root when the roots are the media of one package: the same kind, the
    same 工事/業務名称 and メディア総枚数, distinct メディア番号."""
    found: dict[int, str] = {}
    keys = set()
    for root in roots:
        names = [n for n in INDEX_NAMES if _exists(run, f"{root}/{n}")]
        if len(names) != 1:
            return None
        try:
            doc = parse(run.tree.read(f"{root}/{names[0]}"))
        except (XmlError, OSError, KeyError):
            return None
        info = read_index(doc, names[0][6])
        number, total = info.media
        if number is None or total is None or total < 2 or number in found:
            return None
        found[number] = root
        keys.add((names[0], info.title, total))
    return dict(sorted(found.items())) if len(keys) == 1 else None


def _exists(run: Run, path: str) -> bool:
    return path in run.all_paths


def load(run: Run) -> None:
    raw = list(run.tree.entries())
    for e in raw:
        if e.unsafe:
            run.add_raw("unsafe_path", e.path, name=e.path)
    safe = [e for e in raw if not e.unsafe]
    run.all_paths = {e.path for e in safe}
    roots = _roots(safe)
    volumes: dict[int, str] | None = None
    if "" in roots or len(roots) <= 1:
        roots = [""] if "" in roots or not roots else roots
    else:
        volumes = _volumes(run, roots)
        if volumes is None:
            detail = "管理ファイル（INDEX_C.XML・INDEX_D.XML）が複数のフォルダにあります: "
            run.add_raw("index", roots[0], detail=detail + "、".join(roots))
            roots = [""]
    report = run.report
    if volumes:
        report.volumes = volumes
        ordered = list(volumes.values())
    else:
        report.root = roots[0]
        ordered = roots
    for root in ordered:
        prefix = root + "/" if root else ""
        for e in safe:
            if prefix and not e.path.startswith(prefix):
                continue
            rel = e.path[len(prefix) :]
            parts = rel.split("/")
            for i in range(1, len(parts)):
                parent = "/".join(parts[:i])
                if parent not in run.dirs:
                    run.dirs.add(parent)
                    run.where[parent] = prefix + parent
            if e.is_dir:
                if rel not in run.dirs:
                    run.dirs.add(rel)
                    run.where[rel] = e.path
            elif rel not in run.files:  # the first medium's copy wins (management files)
                run.files[rel] = e
                run.where[rel] = e.path
    for e in safe:
        if e.is_dir or any(_under(e.path, r) for r in ordered):
            continue
        if not any(N.is_junk(p) for p in e.path.split("/")):
            run.add_raw("unreferenced", e.path, what="ファイル", name=e.path)
            run.report.unreferenced.append(e.path)
    for rel in list(run.files) + sorted(run.dirs):
        run.upper.setdefault(rel.upper(), rel)


def junk(run: Run) -> None:
    """Rule 5: Thumbs.db, desktop.ini, .DS_Store, __MACOSX/ (reported once, then ignored)."""
    reported: set[str] = set()
    for rel in sorted(run.dirs) + sorted(run.files):
        parts = rel.split("/")
        for i, part in enumerate(parts):
            if N.is_junk(part):
                top = "/".join(parts[: i + 1])
                if top not in reported:
                    reported.add(top)
                    run.add("junk", top, name=run.full(top))
                break
    for top in reported:
        run.files = {k: v for k, v in run.files.items() if not _under(k, top)}
        run.dirs = {d for d in run.dirs if not _under(d, top)}


def index_file(run: Run) -> tuple[str, str] | None:
    """Rule 1: exactly one of INDEX_C.XML / INDEX_D.XML at the root (W if not upper case)."""
    found = [
        (rel, rel.upper()[6]) for rel in run.files if "/" not in rel and rel.upper() in INDEX_NAMES
    ]
    if len(found) != 1:
        detail = (
            "INDEX_C.XMLとINDEX_D.XMLの両方があります。どちらか一方にしてください。"
            if found
            else "管理ファイル（INDEX_C.XMLまたはINDEX_D.XML）がありません。"
        )
        run.add("index", "" if not found else found[0][0], detail=detail)
        return None
    rel, kind = found[0]
    if rel != rel.upper():
        run.add("index.case", rel, name=run.full(rel))
    return rel, kind


def names(run: Run) -> None:
    """Rules 6, 7 and 8 over every folder and file (ORG folders as declared, item 4)."""
    pic = run.photo.pic_folder if run.photo is not None else "PHOTO/PIC"
    for rel in sorted(run.dirs | set(run.files)):
        is_dir = rel in run.dirs
        if not N.name_ok(rel, is_dir, run.orgs, run.edition.names_8_3):
            top = rel.split("/", 1)[0].upper()
            check = "name.chars" if top in N.RELAXED and "/" in rel else "name"
            run.add(check, rel, name=run.full(rel))
            continue
        pattern = N.pattern_for(rel, is_dir, run.orgs, pic)
        if pattern is not None and not pattern.regex.match(rel.rsplit("/", 1)[-1]):
            check = "folder.pattern" if is_dir else "name.pattern"
            run.add(check, rel, pattern=pattern.label, name=run.full(rel))
    for folder in ("PHOTO/PIC", "PHOTO/DRA"):
        subs = {
            "/".join(p.split("/")[:3])
            for p in run.dirs | set(run.files)
            if p.upper().startswith(folder + "/") and p.count("/") >= 3
        }
        for sub in sorted(subs):
            run.add("subfolder", sub, folder=folder, name=run.full(sub))
