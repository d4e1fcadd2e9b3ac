"""Large bundles printed by a short-lived child process (issue 10 "Measured": a 200-page bundle
under 200 MB): the same bytes as the in-process path, the same refusals, a bounded time, the
child's stderr kept in the error, and nothing left in the temporary folder."""

from __future__ import annotations

import io
import subprocess
import sys
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from pypdf import PdfReader, PdfWriter

from api.pdf import (
    DOCUMENT,
    BundleError,
    BundlePart,
    IsolatedBundle,
    PdfRenderer,
    RenderError,
    bundle_isolated,
    bundle_sync,
)

pytestmark = pytest.mark.anyio

DATA = {
    "title": "工事打合せ簿",
    "number": "第 2026-0001 号",
    "parties": [["発議者", "受注者 株式会社﨑髙建設 𠮷田"]],
    "sections": [{"heading": "発議事項", "fields": [["区分", "協議"]], "text": "一行目"}],
    "page_numbers": False,
}


@pytest.fixture(scope="module")
def renderer() -> PdfRenderer:
    return PdfRenderer()


@pytest.fixture
def temp_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The system temp folder of the test: every job folder lands here."""
    root = tmp_path / "tmp"
    root.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(root))
    return root


def left_in(root: Path) -> list[Path]:
    return list(root.iterdir())


def _pdf(n: int, size: tuple[float, float] = (595.0, 842.0), rotate: int = 0) -> bytes:
    w = PdfWriter()
    for _ in range(n):
        page = w.add_blank_page(*size)
        if rotate:
            page.rotate(rotate)
    out = io.BytesIO()
    w.write(out)
    return out.getvalue()


def _parts(renderer: PdfRenderer) -> list[BundlePart]:
    form = renderer.render_sync(DOCUMENT, DATA)
    other = renderer.render_sync(DOCUMENT, {**DATA, "title": "添付資料"})
    return [
        BundlePart(form, "発議書類"),
        BundlePart(_pdf(3, (842.0, 595.0)), "図面.pdf", [3, 1]),
        BundlePart(_pdf(2, rotate=90), "回転.pdf"),
        BundlePart(other, "添付.pdf", [1, 1]),
        *(BundlePart(_pdf(10), f"資料{i}.pdf") for i in range(6)),
    ]


async def test_the_child_prints_the_same_bytes_as_the_process(
    renderer: PdfRenderer, temp_root: Path
) -> None:
    """The renderer is deterministic, so the child's bundle is byte-identical to
    ``bundle_sync`` in this process (numbers across two overlay parts, rotation, repeats)."""
    parts = _parts(renderer)
    here = bundle_sync(renderer, parts, label="No.7")
    there = await bundle_isolated(renderer, parts, label="No.7")
    assert there == here
    assert len(PdfReader(io.BytesIO(there)).pages) == 1 + 2 + 2 + 2 + 60
    assert "67 / 67" in PdfReader(io.BytesIO(there)).pages[-1].extract_text()
    plain = await bundle_isolated(renderer, parts, number_pages=False)
    assert plain == bundle_sync(renderer, parts, number_pages=False)
    assert left_in(temp_root) == []


async def test_children_at_once_are_bounded_and_the_rest_wait(temp_root: Path) -> None:
    """Each child holds the fonts (about 100 MiB): a process runs at most ``max_children``
    (settings ``pdf.max_children``) at once, the others wait for a slot and then print."""
    import asyncio

    renderer = PdfRenderer(max_children=2)
    running = peak = 0
    real = IsolatedBundle._run_child

    async def counted(self: IsolatedBundle, folder: Path) -> bytes:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        try:
            return await real(self, folder)
        finally:
            running -= 1

    parts = [BundlePart(_pdf(2), "資料.pdf")]
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(IsolatedBundle, "_run_child", counted)
        out = await asyncio.gather(*(bundle_isolated(renderer, parts) for _ in range(5)))
    assert peak == 2
    assert len(set(out)) == 1
    assert len(PdfReader(io.BytesIO(out[0])).pages) == 2
    assert left_in(temp_root) == []


async def test_parts_stream_to_the_child_as_chunks(renderer: PdfRenderer, temp_root: Path) -> None:
    """A part given as chunks (a blob being read) is written as it comes: the same bundle."""
    data = _pdf(4)

    async def chunks() -> AsyncIterator[bytes]:
        for i in range(0, len(data), 100):
            yield data[i : i + 100]

    async with IsolatedBundle(renderer) as job:
        await job.add(chunks(), name="資料.pdf", pages=[4, 2])
        got = await job.run(label="No.1")
    # The child reports its own time and peak RSS (what the logs and the bench show).
    assert job.child_seconds is not None
    assert job.child_seconds > 0
    if sys.platform.startswith("linux"):
        assert job.child_peak_rss_mib is not None
        assert 10 < job.child_peak_rss_mib < 1024
    assert got == bundle_sync(renderer, [BundlePart(data, "資料.pdf", [4, 2])], label="No.1")
    assert left_in(temp_root) == []


async def test_a_refused_part_is_the_same_bundle_error(
    renderer: PdfRenderer, temp_root: Path
) -> None:
    cases = [
        [BundlePart(_pdf(2), "a"), BundlePart(b"not a pdf", "壊れたファイル.pdf")],
        [BundlePart(_pdf(2), "a", [3])],
    ]
    for parts in cases:
        with pytest.raises(BundleError) as here:
            bundle_sync(renderer, parts)
        with pytest.raises(BundleError) as there:
            await bundle_isolated(renderer, parts)
        assert (str(there.value), there.value.part, there.value.name) == (
            str(here.value),
            here.value.part,
            here.value.name,
        )
    assert left_in(temp_root) == []


async def test_a_child_over_its_time_is_killed_with_a_clear_error(
    renderer: PdfRenderer, temp_root: Path
) -> None:
    with pytest.raises(RenderError) as exc:
        await bundle_isolated(renderer, [BundlePart(_pdf(50), "a")], time_limit=0.01)
    assert not isinstance(exc.value, BundleError)
    assert "0.01 秒以内に終わりませんでした" in str(exc.value)
    assert left_in(temp_root) == []


async def test_a_failed_child_keeps_its_stderr_in_the_error(
    renderer: PdfRenderer, temp_root: Path
) -> None:
    async with IsolatedBundle(renderer) as job:
        await job.add(_pdf(1), name="a", pages=[1])
        job._parts[0]["pages"] = ["not a number"]  # a job the child cannot read
        with pytest.raises(RenderError) as exc:
            await job.run()
    assert "子プロセスの終了コード 1" in str(exc.value)
    assert "ValueError" in str(exc.value)  # the child's traceback
    assert left_in(temp_root) == []


async def test_missing_fonts_in_the_child_are_a_render_error(tmp_path: Path) -> None:
    empty = tmp_path / "fonts"
    empty.mkdir()
    bare = PdfRenderer([empty], default_fonts=False)
    with pytest.raises(RenderError) as exc:
        await bundle_isolated(bare, [BundlePart(_pdf(1), "a")])
    assert "Noto Sans CJK JP" in str(exc.value)


def test_the_child_imports_only_what_rendering_needs() -> None:
    """Neither the app, nor FastAPI, nor the container: the child's memory is the bundle's."""
    code = (
        "import sys, api.pdf.child; "
        "print(sorted(m for m in ('api.app', 'api.container', 'fastapi', 'api.errors') "
        "if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
