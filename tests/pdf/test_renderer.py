"""The shared PDF renderer (issue 10 §1): Japanese fonts embedded, deterministic output, data
printed as typed (never markup), no network; and bundles with pages in the order chosen."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from pypdf import PdfReader, PdfWriter

from api.pdf import (
    DOCUMENT,
    BundleError,
    BundlePart,
    FontsMissing,
    PdfRenderer,
    RenderError,
    bundle_sync,
)

DATA = {
    "title": "工事打合せ簿",
    "number": "第 2026-0001 号",
    "date": "令和8年12月1日",
    "parties": [
        ["発議者", "受注者 株式会社﨑髙建設 𠮷田"],
        ["工事名", "国道2号 #panic() *改良* $x$ 工事"],
    ],
    "sections": [
        {"heading": "発議事項", "fields": [["区分", "協議"]], "text": "一行目\n二行目"},
        {
            "heading": "明細",
            "table": {"columns": ["品名", "数量"], "rows": [["鉄筋", 3]], "numeric": [1]},
        },
    ],
}


@pytest.fixture(scope="module")
def renderer() -> PdfRenderer:
    return PdfRenderer()


def text_of(pdf: bytes) -> list[str]:
    return [p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages]


def fonts_of(pdf: bytes) -> set[tuple[str, bool]]:
    out = set()
    for page in PdfReader(io.BytesIO(pdf)).pages:
        for ref in page["/Resources"]["/Font"].values():
            font = ref.get_object()
            desc = font["/DescendantFonts"][0].get_object()["/FontDescriptor"].get_object()
            embedded = any(k in desc for k in ("/FontFile", "/FontFile2", "/FontFile3"))
            out.add((str(font["/BaseFont"]), embedded))
    return out


def test_japanese_text_prints_and_the_font_is_embedded(renderer: PdfRenderer) -> None:
    pdf = renderer.render_sync(DOCUMENT, DATA)
    (page,) = text_of(pdf)
    for expected in (
        "工事打合せ簿",
        "第 2026-0001 号",
        "令和8年12月1日",
        "株式会社﨑髙建設 𠮷田",
        "一行目",
        "二行目",
        "鉄筋",
    ):
        assert expected in page
    fonts = fonts_of(pdf)
    assert fonts
    assert all(embedded for _, embedded in fonts)
    assert all("NotoSansCJK" in name for name, _ in fonts)


def test_data_is_printed_as_typed_never_as_markup(renderer: PdfRenderer) -> None:
    (page,) = text_of(renderer.render_sync(DOCUMENT, DATA))
    assert "#panic() *改良* $x$" in page


def test_output_is_deterministic(renderer: PdfRenderer) -> None:
    a = renderer.render_sync(DOCUMENT, DATA)
    b = PdfRenderer().render_sync(DOCUMENT, DATA)
    assert a == b
    assert renderer.render_sync(DOCUMENT, {**DATA, "title": "別の書類"}) != a


def test_copy_mark_and_page_numbers(renderer: PdfRenderer) -> None:
    many = {**DATA, "copy": True, "sections": [{"text": "\n".join(f"行{i}" for i in range(150))}]}
    pages = text_of(renderer.render_sync(DOCUMENT, many))
    assert len(pages) >= 3
    assert all("写し" in p for p in pages)
    assert [f"{i} / {len(pages)}" in p for i, p in enumerate(pages, 1)] == [True] * len(pages)


def test_bad_templates_and_missing_fonts_are_clear_errors(tmp_path: Path) -> None:
    r = PdfRenderer()
    for name in (
        "../etc/passwd",
        "pdf/templates/nope.typ",
        "pdf/templates/Document.typ",
        "/abs.typ",
    ):
        with pytest.raises(RenderError):
            r.render_sync(name, DATA)
    with pytest.raises(FontsMissing):
        PdfRenderer([tmp_path], default_fonts=False).render_sync(DOCUMENT, DATA)
    assert PdfRenderer([tmp_path], default_fonts=False).health().ok is False


@pytest.mark.anyio
async def test_render_runs_off_the_event_loop(renderer: PdfRenderer) -> None:
    import asyncio

    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0)

    task = asyncio.create_task(ticker())
    await renderer.render(DOCUMENT, {**DATA, "title": "非同期"})
    task.cancel()
    assert ticks > 1


def _blank(n: int, size: tuple[float, float] = (595.0, 842.0)) -> bytes:
    w = PdfWriter()
    for _ in range(n):
        w.add_blank_page(*size)
    out = io.BytesIO()
    w.write(out)
    return out.getvalue()


def test_bundle_keeps_the_chosen_order_and_numbers_every_page(renderer: PdfRenderer) -> None:
    """seed 001 別表1-1 3(8)-(10): the form first, then the other documents, pages in order."""
    form = renderer.render_sync(DOCUMENT, {**DATA, "page_numbers": False})
    other = renderer.render_sync(DOCUMENT, {**DATA, "title": "添付資料", "page_numbers": False})
    out = bundle_sync(
        renderer,
        [
            BundlePart(form, "打合せ簿"),
            BundlePart(_blank(3, (842.0, 595.0)), "図面", [3, 1]),
            BundlePart(other, "添付", [1, 1]),
        ],
    )
    pages = text_of(out)
    assert len(pages) == 5
    assert "工事打合せ簿" in pages[0]
    assert "添付資料" in pages[3]
    assert "添付資料" in pages[4]
    # Exactly one number per page, the page's own.
    for i, text in enumerate(pages, 1):
        assert f"{i} / 5" in text
        assert sum(f"{j} / 5" in text for j in range(1, 6)) == 1
    sizes = [
        (float(p.mediabox.width), float(p.mediabox.height))
        for p in PdfReader(io.BytesIO(out)).pages
    ]
    assert sizes[1] == (842.0, 595.0)


def test_a_long_bundle_is_numbered_across_the_overlays_parts(renderer: PdfRenderer) -> None:
    """3(10): a bundle longer than one overlay part (``OVERLAY_CHUNK`` pages) is numbered
    1..N without a gap or a restart where one part of the numbers ends and the next begins."""
    from api.pdf.bundle import OVERLAY_CHUNK

    total = 2 * OVERLAY_CHUNK + 7
    sizes = [(842.0, 595.0) if i % 2 else (595.0, 842.0) for i in range(total)]
    parts = [BundlePart(_blank(1, size), f"p{i}") for i, size in enumerate(sizes)]
    out = bundle_sync(renderer, parts, label="No.")
    pages = text_of(out)
    assert len(pages) == total
    for i, text in enumerate(pages, 1):
        assert f"No. {i} / {total}" in text, (i, text)
        assert text.count(f"/ {total}") == 1
    got = [
        (float(p.mediabox.width), float(p.mediabox.height))
        for p in PdfReader(io.BytesIO(out)).pages
    ]
    assert got == sizes


def test_bundle_refuses_bad_parts_naming_them(renderer: PdfRenderer) -> None:
    good = _blank(2)
    with pytest.raises(BundleError) as exc:
        bundle_sync(
            renderer, [BundlePart(good, "a"), BundlePart(b"not a pdf", "壊れたファイル.pdf")]
        )
    assert exc.value.part == 1
    assert exc.value.name == "壊れたファイル.pdf"
    with pytest.raises(BundleError) as exc:
        bundle_sync(renderer, [BundlePart(good, "a", [3])])
    assert "3 ページはありません" in str(exc.value)
    w = PdfWriter()
    w.add_blank_page(595, 842)
    w.encrypt("secret")
    buf = io.BytesIO()
    w.write(buf)
    with pytest.raises(BundleError) as exc:
        bundle_sync(renderer, [BundlePart(buf.getvalue(), "locked.pdf")])
    assert "パスワード" in str(exc.value)


def test_one_compiler_serves_every_template_with_the_same_output(renderer: PdfRenderer) -> None:
    """The fonts are loaded once per process, not once per template (their bulk is the
    memory of a compiler): a template compiled after another prints what a renderer of its
    own prints, byte for byte."""
    numbers = {"sizes": [[595.0, 842.0]] * 3, "label": "No.1"}
    first = renderer.render_sync(DOCUMENT, DATA)
    overlay = renderer.render_sync("pdf/templates/page_numbers.typ", numbers)
    again = renderer.render_sync(DOCUMENT, DATA)
    assert first == again
    assert overlay == PdfRenderer().render_sync("pdf/templates/page_numbers.typ", numbers)
    assert text_of(overlay)[2].strip().endswith("3 / 3")


def test_malloc_arenas_are_capped_unless_the_operator_set_them() -> None:
    """api.kit.memory: two glibc arenas for a printing process (Typst's threads would keep
    one each); an operator's MALLOC_ARENA_MAX is left alone."""
    import os
    import subprocess
    import sys

    code = "from api.kit.memory import cap_malloc_arenas as c; print(c(), c())"
    env = {k: v for k, v in os.environ.items() if k != "MALLOC_ARENA_MAX"}
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    assert out.stdout.split() == ["True", "True"]
    out = subprocess.run(
        [sys.executable, "-c", code],
        env={**env, "MALLOC_ARENA_MAX": "4"},
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.split() == ["False", "False"]
