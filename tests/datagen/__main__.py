"""``python -m tests.datagen OUT_DIR --kind construction|service --files N [--zip] [--seed S]
[--profile mlit|maff] [--defects LIST|all] [--tiny] [--photo-size WxH] [--duplicates K]``

Writes ``OUT_DIR/package/`` (or ``OUT_DIR/package.zip``) and ``OUT_DIR/manifest.json``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from tests.datagen.defects import DEFECTS, parse
from tests.datagen.package import MANIFEST, Options, generate
from tests.datagen.photos import REALISTIC, SMALL


def _size(value: str) -> tuple[int, int]:
    width, _, height = value.lower().partition("x")
    return int(width), int(height)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m tests.datagen", description=__doc__)
    ap.add_argument("out_dir", type=Path)
    ap.add_argument("--kind", choices=["construction", "service"], default="construction")
    ap.add_argument("--files", type=int, default=100)
    ap.add_argument("--zip", action="store_true", help="write package.zip instead of a folder")
    ap.add_argument("--utf8-names", action="store_true", help="ZIP names in UTF-8 (flag set)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--profile", choices=["mlit", "maff"], default="mlit")
    ap.add_argument("--defects", default="", help=f"comma list or 'all': {', '.join(DEFECTS)}")
    ap.add_argument("--tiny", action="store_true", help="tiny files (100,000-file runs)")
    ap.add_argument(
        "--realistic", action="store_true", help=f"photos {REALISTIC[0]}x{REALISTIC[1]}"
    )
    ap.add_argument("--photo-size", type=_size, default=None, metavar="WxH")
    ap.add_argument("--duplicates", type=int, default=0)
    args = ap.parse_args(argv)
    size = args.photo_size or (REALISTIC if args.realistic else SMALL)
    options = Options(
        kind=args.kind,
        files=args.files,
        seed=args.seed,
        profile=args.profile,
        defects=parse(args.defects),
        zip=args.zip,
        cp932_names=not args.utf8_names,
        tiny=args.tiny,
        duplicates=args.duplicates,
        photo_size=size,
    )
    started = time.perf_counter()
    manifest = generate(args.out_dir, options)
    seconds = time.perf_counter() - started
    total = sum(f.size for f in manifest.files)
    print(
        f"{len(manifest.files)} files, {total / 1e6:.1f} MB, {len(manifest.phrases)} phrases "
        f"in {seconds:.2f} s -> {manifest.root} ({args.out_dir / MANIFEST})",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
