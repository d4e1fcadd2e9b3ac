"""Highlights with page numbers, safe to put into HTML.

A file document's ``body`` is its extracted text with pages joined by a form feed (``\\f``,
the ingest pipeline's convention), so page ``n`` (1-based) is the n-th piece. Terms are found
in the ``indexer.documents.normalize``d text (width, case and kana folded, as the index matches
them) and mapped back to the original characters; the snippet is HTML-escaped first and the
matches wrapped in ``<mark>``, so a snippet never carries markup from the document.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass

from indexer.backends import _aligned, query_terms

PAGE_BREAK = "\f"
MAX_PAGE_HITS = 3
RADIUS = 40


@dataclass(frozen=True)
class PageHighlight:
    page: int
    snippet: str


def _spans(original: str, terms: Sequence[str]) -> list[tuple[int, int]]:
    """Merged (start, end) spans of the original text where a term occurs (normalised)."""
    folded, starts, ends = _aligned(original)
    found: list[tuple[int, int]] = []
    for term in terms:
        at = folded.find(term)
        while at >= 0:
            found.append((starts[at], ends[at + len(term) - 1]))
            at = folded.find(term, at + len(term))
    found.sort()
    merged: list[tuple[int, int]] = []
    for a, b in found:
        if merged and a <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], b))
        else:
            merged.append((a, b))
    return merged


def mark(original: str, spans: Sequence[tuple[int, int]], lo: int, hi: int) -> str:
    """``original[lo:hi]`` escaped, with the spans inside it wrapped in ``<mark>``."""
    parts: list[str] = []
    pos = lo
    for a, b in spans:
        if b <= lo or a >= hi:
            continue
        a, b = max(a, lo), min(b, hi)
        parts += [html.escape(original[pos:a]), "<mark>", html.escape(original[a:b]), "</mark>"]
        pos = b
    parts.append(html.escape(original[pos:hi]))
    text = "".join(parts).strip()
    return ("…" if lo > 0 else "") + text + ("…" if hi < len(original) else "")


def snippet(original: str, terms: Sequence[str], radius: int = RADIUS) -> str | None:
    """One snippet around the first match, every match inside it marked; None if none."""
    spans = _spans(original, terms)
    if not spans:
        return None
    first = spans[0][0]
    lo, hi = max(0, first - radius), min(len(original), first + radius * 2)
    return mark(original, spans, lo, hi)


def page_highlights(
    body: str, text: str, limit: int = MAX_PAGE_HITS, radius: int = RADIUS
) -> list[PageHighlight]:
    """The first ``limit`` pages of ``body`` holding any query term, each with a snippet."""
    terms = query_terms(text)
    if not terms or not body:
        return []
    out: list[PageHighlight] = []
    for number, page in enumerate(body.split(PAGE_BREAK), start=1):
        found = snippet(page, terms, radius)
        if found is not None:
            out.append(PageHighlight(number, found))
            if len(out) >= limit:
                break
    return out


def title_highlight(title: str, text: str) -> str | None:
    """The whole title escaped with its matches marked, or None when nothing matches."""
    terms = query_terms(text)
    if not terms:
        return None
    spans = _spans(title, terms)
    return mark(title, spans, 0, len(title)) if spans else None
