"""Cross-references: rules 18 (named files exist, exact case), 20-21 (参考図) and 4 (files
no management XML names: reported, and kept out of the deliverable's index, issue 8 item 3).

deliverables-and-bonds.md §2.2 rules 4, 18, 20, 21; §2.1 (MLIT: 「XMLに記載のないフォルダ
(ファイル)」 is a notice and such files are not registered, cals-ed.go.jp/caution-20230323 [V];
農水: an error). A file on another medium of a multi-disc package that is not here is not a
missing file: the medium is (one notice per medium, §1.4 メディア番号).
"""

from __future__ import annotations

from indexer.extract.deliverable.checks_xml import STANDARD_C, STANDARD_D
from indexer.extract.deliverable.refs import FileRef
from indexer.extract.deliverable.state import Run

MANAGED_C = ("PLAN", "MEET", "PHOTO", "DRAWINGF", "DRAWINGS", "REGISTER", "OTHRS")
MANAGED_D = ("REPORT", "DRAWING", "PHOTO", "SURVEY", "OTHRS")
GENERIC = ("BORING", "ICON")


def _under(path: str, top: str) -> bool:
    return path == top or path.startswith(top + "/")


def _locate(run: Run, ref: FileRef) -> tuple[str | None, str | None]:
    """(exact path, path differing only in case) of a referenced file."""
    if ref.folder.endswith("/**") or ref.folder == "":
        top = ref.folder[:-3] if ref.folder.endswith("/**") else ""
        hits = [p for p in run.files if _under(p, top) and p.rsplit("/", 1)[-1] == ref.name]
        if not top:
            hits = [p for p in hits if "/" not in p] or hits
        if hits:
            return hits[0], None
        loose = next(
            (
                p
                for p in run.files
                if (not top or _under(p.upper(), top.upper()))
                and p.rsplit("/", 1)[-1].upper() == ref.name.upper()
            ),
            None,
        )
        return None, loose
    want = f"{ref.folder}/{ref.name}"
    if want in run.files:
        return want, None
    return None, run.find(want)


def resolve(run: Run, refs: list[FileRef]) -> None:
    """Rule 18 for every file an XML names; what the XML says is kept per file."""
    number, total = run.index.media if run.index is not None else (None, None)
    present = set(run.report.volumes) or ({number} if number else set())
    absent: dict[int, int] = {}
    for ref in refs:
        path, loose = _locate(run, ref)
        if path is None:
            on_other = (
                ref.media is not None
                and total is not None
                and total > 1
                and ref.media not in present
                and 1 <= ref.media <= total
            )
            if on_other and loose is None:
                assert ref.media is not None
                absent[ref.media] = absent.get(ref.media, 0) + 1
                continue
            hint = f"（大文字・小文字が違う「{loose}」があります）" if loose else ""
            shown = f"{ref.folder.rstrip('*/')}/{ref.name}".lstrip("/")
            run.add(
                "missing_file", ref.xml, ref.line, ref.column, xml=ref.xml, name=shown, hint=hint
            )
            if loose:
                run.referenced.add(loose)
            continue
        run.referenced.add(path)
        run.report.files.setdefault(run.full(path), ref)
    for medium, count in sorted(absent.items()):
        detail = (
            f"メディア総枚数{total}のうち{medium}枚目がないため、"
            f"そのメディアに記録されたファイル{count}件は検査していません。"
        )
        run.add_raw("media.absent", run.full(""), detail=detail)


def dra(run: Run, refs: list[FileRef]) -> None:
    """Rules 20 and 21: 参考図 used by a photo; DRA folder and 参考図フォルダ名 agree."""
    dra_dirs = [d for d in run.dirs if d.upper() == "PHOTO/DRA"]
    declared = run.photo is not None and run.photo.dra_folder
    if dra_dirs and run.photo is not None and not declared:
        detail = "DRAフォルダがありますが参考図フォルダ名がありません。"
        run.add("dra_folder", dra_dirs[0], detail=detail)
    if declared and not dra_dirs:
        detail = "参考図フォルダ名がありますがDRAフォルダがありません。"
        run.add("dra_folder", "PHOTO/PHOTO.XML", detail=detail)
    used = {f"{r.folder}/{r.name}" for r in refs if r.doc_class == "reference_drawing"}
    for path in sorted(run.files):
        in_dra = path.upper().startswith("PHOTO/DRA/") and path.count("/") == 2
        if in_dra and path not in used:
            run.add("dra_unused", path, name=run.full(path))
            run.report.unreferenced.append(run.full(path))


def unreferenced(run: Run, kind: str) -> None:
    """Rule 4: folders outside the 要領 and files no management XML names (N MLIT, E 農水);
    every such file is listed in ``report.unreferenced`` (not indexed as a deliverable)."""
    standard = STANDARD_C if kind == "C" else STANDARD_D
    odd_tops = sorted(d for d in run.dirs if "/" not in d and d.upper() not in standard)
    for top in odd_tops:
        run.add("unreferenced", top, what="フォルダ", name=run.full(top))
    for path in sorted(run.files):
        if path in run.referenced or path in run.managed:
            continue
        if path.upper().startswith("PHOTO/DRA/") and path.count("/") == 2:
            continue  # rule 20 reports these
        top = path.split("/")[0] if "/" in path else ""
        if top in odd_tops:
            run.report.unreferenced.append(run.full(path))
            continue
        run.add("unreferenced", path, what="ファイル", name=run.full(path))
        run.report.unreferenced.append(run.full(path))
