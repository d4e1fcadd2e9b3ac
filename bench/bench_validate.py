"""The 電子納品 check of a 1,000-file package: DTDs of each version and whole-JPEG decoding.

    python -m bench.bench_validate [--files 1000] [--photo-size 1280x960] [--zip] [--clamd URL]

Target (issue 8, Measured): validating a 1,000-file package with the DTD check and whole-JPEG
parsing stays under 20 s. A generated package (``tests.datagen``, realistic 1.2 MP photos by
default) is validated three ways in the same run:

- baseline: every management XML parsed (``xmlread.parse``, the same safe parser) and every
  photo read from disk, no rules;
- the full ``validate_tree`` (all §2.2 rules, rule 10 against the bundled DTDs, rule 22
  decoding every JPEG whole);
- the same with the virus scan (rule 29) when ``--clamd`` names a clamd.

Printed: seconds of each, the ratio full / baseline, files/s, and the verdict. A verdict
counts only when the package is clean (no E finding, every photo checked).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from indexer.extract.deliverable import validate_tree
from indexer.extract.deliverable.clamd import ClamdScanner
from indexer.extract.deliverable.xmlread import parse
from tests.datagen import Options, generate
from tests.datagen.photos import REALISTIC

TARGET_SECONDS = 20.0


def _size(value: str) -> tuple[int, int]:
    width, _, height = value.lower().partition("x")
    return int(width), int(height)


def baseline(root: Path) -> tuple[float, int, int]:
    """Seconds to parse every XML and read every photo; (seconds, xml count, photo bytes)."""
    started = time.perf_counter()
    xmls = photos = 0
    for path in sorted(root.rglob("*")):
        upper = path.name.upper()
        if upper.endswith(".XML"):
            parse(path.read_bytes())
            xmls += 1
        elif upper.endswith(".JPG"):
            photos += len(path.read_bytes())
    return time.perf_counter() - started, xmls, photos


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.bench_validate", description=__doc__)
    ap.add_argument("--files", type=int, default=1000)
    ap.add_argument("--photo-size", type=_size, default=REALISTIC, metavar="WxH")
    ap.add_argument("--kind", choices=["construction", "service"], default="construction")
    ap.add_argument("--zip", action="store_true", help="validate the package as a ZIP")
    ap.add_argument("--clamd", default=None, help="tcp://host:port of a clamd (rule 29)")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="kura-bench-validate-") as tmp:
        out = Path(tmp)
        started = time.perf_counter()
        options = Options(
            kind=args.kind,
            files=args.files,
            seed=8,
            photo_size=args.photo_size,
            photo_detail=True,
        )
        manifest = generate(out / "folder", options)
        generated = time.perf_counter() - started
        root = Path(manifest.root)
        photos = len(manifest.photos)
        size = sum(f.size for f in manifest.files)
        print(
            f"package: {len(manifest.files)} files ({photos} photos "
            f"{args.photo_size[0]}x{args.photo_size[1]}), {size / 1e6:.1f} MB, "
            f"generated in {generated:.1f} s"
        )
        target: Path = root
        if args.zip:
            zipped = generate(out / "zip", Options(**{**options.__dict__, "zip": True}))
            target = Path(zipped.root)
        base_s, xmls, photo_bytes = baseline(root)
        print("baseline:")
        mb = photo_bytes / 1e6
        print(f"  parse {xmls} XMLs + read {photos} photos ({mb:.1f} MB)  {base_s:7.2f} s")
        started = time.perf_counter()
        report = validate_tree(target)
        full_s = time.perf_counter() - started
        errors = [f for f in report.findings if f.severity == "E"]
        checked = sum(1 for r in report.files.values() if r.doc_class == "photo")
        print("kura validate_tree (DTDs, whole JPEGs):")
        print(
            f"  {full_s:7.2f} s   {full_s / base_s:5.1f} x baseline   "
            f"{len(manifest.files) / full_s:.0f} files/s   DTDs {sorted(set(report.dtds.values()))}"
        )
        ok = not errors and checked == photos
        if args.clamd:
            started = time.perf_counter()
            scanned = validate_tree(target, scanner=ClamdScanner(args.clamd))
            scan_s = time.perf_counter() - started
            print(f"  with the virus scan (clamd)  {scan_s:7.2f} s   scan: {scanned.scan}")
        if not ok:
            print(f"NOT COUNTED: {len(errors)} E findings, {checked}/{photos} photos checked")
            for f in errors[:5]:
                print(f"  {f.path}: {f.message}")
            return 1
        verdict = "PASS" if full_s < TARGET_SECONDS else "FAIL"
        print(
            f"{verdict}: {len(manifest.files)} files validated in {full_s:.1f} s "
            f"(target < {TARGET_SECONDS:.0f} s)"
        )
        return 0 if verdict == "PASS" else 1


if __name__ == "__main__":
    sys.exit(main())
