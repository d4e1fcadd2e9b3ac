"""Rule 30 (Kura's own, issue 8 item 10): the package belongs to its work.

The INDEX's 発注者 (発注者コード, else the 発注者-大分類/中分類/小分類 or 発注者機関事務所名)
and 工事名称 / 業務名称 are compared with the work the package was uploaded to. A package
naming another orderer or another work is a warning: it was probably put in the wrong work,
but only a person can tell (a renamed work, an orderer's reorganisation).
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from indexer.extract.deliverable.state import Run


@dataclass(frozen=True)
class WorkExpect:
    """What the work record says (``api.deliverables.package`` builds it)."""

    title: str | None = None
    number: str | None = None
    orderer_name: str | None = None
    orderer_code: str | None = None


def _norm(text: str) -> str:
    return "".join(unicodedata.normalize("NFKC", text).split()).lower()


def check(run: Run, rel: str, expect: WorkExpect) -> None:
    info = run.index
    if info is None:
        return
    code = info.orderer_code
    names = info.orderer_names
    label = expect.orderer_name or "（名称未設定）"
    if expect.orderer_code and code and code != expect.orderer_code:
        detail = (
            f"発注者コード「{code}」はこの工事・業務の発注者（{label}、"
            f"{expect.orderer_code}）と異なります。別の発注者のパッケージではありませんか。"
        )
        run.add("work.orderer", rel, *info.main.pos("発注者コード"), detail=detail)
    elif not expect.orderer_code and expect.orderer_name and names:
        wanted = _norm(expect.orderer_name)
        if not any(_norm(n) in wanted or wanted in _norm(n) for n in names):
            detail = (
                f"発注者「{'／'.join(names)}」はこの工事・業務の発注者（{label}）と"
                "一致しません。別の発注者のパッケージではありませんか。"
            )
            run.add("work.orderer", rel, *info.main.pos("発注者-大分類"), detail=detail)
    title = info.title
    if expect.title and title and _norm(title) != _norm(expect.title):
        element = "工事名称" if info.kind == "C" else "業務名称"
        detail = f"{element}「{title}」がこの工事・業務の名称「{expect.title}」と一致しません。"
        run.add("work.title", rel, *info.main.pos(element), detail=detail)
