"""A bundle printed in a short-lived child process: ``python -m api.pdf.child FOLDER``.

A process that prints a large bundle keeps what it touched: the whole app, the container and
the Typst compiler with its Japanese fonts stood at about 193 MiB before a 200-page bundle and
the bundle took it to 209 MiB (issue 10 "Measured": < 200 MB; ``bench/bench_proposals.py``).
So ``api.pdf.bundle.bundle_isolated`` writes the parts and a ``job.json`` into a temporary
folder and runs this module, which imports only what rendering needs (``api.pdf``: typst and
pypdf; never ``api.app``, FastAPI or the container), prints ``out.pdf`` there with the same
``bundle_sync`` as the in-process path (so the bytes are the same) and exits, giving its
memory back. A refused part is written to ``error.json`` (exit 3) so the parent raises the
same ``BundleError``; any other failure leaves a traceback on stderr (exit 1). On success it
also writes ``stats.json``: its time and its own peak RSS (what the parent logs; the parent
cannot take it from ``getrusage``, which counts the parent's memory copied into the child
before ``exec``).

A subprocess rather than ``multiprocessing``: Celery's prefork workers are daemonic and may
not have children through ``multiprocessing``, and a fresh interpreter does not inherit the
parent's memory.

``job.json``: ``{"parts": [{"file": "part-0.pdf", "name": "...", "pages": [1, 2] | null}],
"number_pages": true, "label": "No.1", "font_dirs": ["/usr/share/fonts/..."]}``.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from api.pdf.bundle import BundleError, BundlePart, bundle_sync
from api.pdf.renderer import PdfRenderer, RenderError

JOB, OUT, ERROR, STATS = "job.json", "out.pdf", "error.json", "stats.json"
EXIT_REFUSED = 3


def run(folder: Path) -> int:
    """Print the bundle described by ``folder/job.json`` into ``folder/out.pdf``."""
    started = time.perf_counter()
    job = json.loads((folder / JOB).read_text(encoding="utf-8"))
    renderer = PdfRenderer([Path(p) for p in job["font_dirs"]], default_fonts=False)
    parts = [
        BundlePart(
            (folder / str(p["file"])).read_bytes(),
            name=str(p["name"]),
            pages=None if p["pages"] is None else [int(n) for n in p["pages"]],
        )
        for p in job["parts"]
    ]
    try:
        pdf = bundle_sync(
            renderer, parts, number_pages=bool(job["number_pages"]), label=str(job["label"])
        )
    except BundleError as exc:
        error = {"kind": "bundle", "message": str(exc), "part": exc.part, "name": exc.name}
        (folder / ERROR).write_text(json.dumps(error, ensure_ascii=False), encoding="utf-8")
        return EXIT_REFUSED
    except RenderError as exc:
        error = {"kind": "render", "message": str(exc)}
        (folder / ERROR).write_text(json.dumps(error, ensure_ascii=False), encoding="utf-8")
        return EXIT_REFUSED
    del parts
    partial = folder / (OUT + ".part")
    partial.write_bytes(pdf)
    partial.replace(folder / OUT)
    stats = {"seconds": time.perf_counter() - started, "peak_rss_kib": peak_rss_kib()}
    (folder / STATS).write_text(json.dumps(stats), encoding="utf-8")
    return 0


def peak_rss_kib() -> int | None:
    """This process's peak resident memory (``VmHWM``) in KiB; None off Linux."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m api.pdf.child FOLDER", file=sys.stderr)
        return 2
    return run(Path(argv[0]))


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
