"""A small element-model validator for the bundled DTDs (§2.2 rule 10).

Why not lxml/libxml2: the parse already happens once, safely (``xmlread``: defusedxml, CP932
fallback, positions per element); libxml2 cannot read the official Shift_JIS DTDs without a
text declaration (§1.8, tested there) and would be a second XML parser to keep safe. The DTDs
Kura bundles only use what this module reads: ``<!ELEMENT name model>`` with sequences,
choices, ``? * +``, ``(#PCDATA)``, mixed content, ``EMPTY`` and ``ANY``, and ``<!ATTLIST ...
#FIXED "v">``. Parameter entities, conditional sections and external subsets are refused
(they never occur in the bundled files), so a DTD is data, never fetched or expanded.

Two strengths, per DTD (``complete``):
- complete (the element list is verified, e.g. PHOTO05.DTD, §1.6 [C]): the children of every
  declared element must match its model exactly (order and repetition), undeclared elements
  and text in element-only content are errors, as the national checker treats them;
- partial (rebuilt from element lists labelled [M]/[C-] in the reference): only the required
  children of the declared version are checked; an element the bundled list does not know is
  reported as a notice, never an error, because the official list may hold it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Literal
from xml.etree.ElementTree import Element

from indexer.extract.deliverable.xmlread import XmlDoc

IssueKind = Literal["missing", "undeclared", "order", "text", "children", "root", "attr"]
MAX_ISSUES = 200


@dataclass(frozen=True)
class Particle:
    """A content particle: a name, a sequence or a choice, with its occurrence mark."""

    kind: Literal["name", "seq", "choice"]
    name: str = ""
    items: tuple[Particle, ...] = ()
    occur: str = ""  # "", "?", "*", "+"

    def __str__(self) -> str:
        if self.kind == "name":
            return self.name + self.occur
        joiner = "," if self.kind == "seq" else "|"
        return "(" + joiner.join(str(i) for i in self.items) + ")" + self.occur


@dataclass(frozen=True)
class ElementDecl:
    name: str
    content: Literal["children", "pcdata", "mixed", "empty", "any"]
    model: Particle | None = None
    mixed: tuple[str, ...] = ()
    text: str = ""  # the model as written

    def required(self) -> set[str]:
        return _required(self.model) if self.model is not None else set()

    def allowed(self) -> set[str] | None:
        """Child names allowed anywhere in the model (None: any)."""
        if self.content == "any":
            return None
        if self.content == "mixed":
            return set(self.mixed)
        return set(_names(self.model)) if self.model is not None else set()


@dataclass
class Dtd:
    """A parsed bundled DTD."""

    file: str
    elements: dict[str, ElementDecl]
    fixed: dict[tuple[str, str], str] = field(default_factory=dict)
    root: str | None = None
    complete: bool = False
    source: str = ""
    _patterns: dict[str, re.Pattern[str]] = field(default_factory=dict, repr=False)

    def pattern(self, name: str) -> re.Pattern[str]:
        found = self._patterns.get(name)
        if found is None:
            decl = self.elements[name]
            found = re.compile(_regex(decl))
            self._patterns[name] = found
        return found


@dataclass(frozen=True)
class Issue:
    kind: IssueKind
    element: str
    line: int | None
    column: int | None
    detail: str  # Japanese
    names: tuple[str, ...] = ()


class DtdSyntaxError(ValueError):
    """The bundled DTD uses a construct this validator does not read (a packaging bug)."""


# -- parsing ------------------------------------------------------------------------------
_COMMENT = re.compile(r"<!--.*?-->", re.S)
_DECL = re.compile(r"<!(ELEMENT|ATTLIST|ENTITY|NOTATION)\s+(.*?)>", re.S)
_TOKEN = re.compile(r"\s*([(),|?*+]|#PCDATA|[^\s(),|?*+]+)")
_FIXED = re.compile(r"(\S+)\s+\S+\s+#FIXED\s+\"([^\"]*)\"")


def parse_dtd(text: str, file: str = "", complete: bool = False, source: str = "") -> Dtd:
    """Read ``<!ELEMENT>`` and ``#FIXED`` attributes; refuse entities and sections."""
    body = _COMMENT.sub("", text)
    if "%" in body or "<![" in body:
        raise DtdSyntaxError(f"{file}: parameter entities and sections are not supported")
    elements: dict[str, ElementDecl] = {}
    fixed: dict[tuple[str, str], str] = {}
    root: str | None = None
    for kind, rest in _DECL.findall(body):
        if kind in ("ENTITY", "NOTATION"):
            raise DtdSyntaxError(f"{file}: <!{kind}> is not supported")
        if kind == "ATTLIST":
            name, _, attrs = rest.strip().partition(" ")
            for attr, value in _FIXED.findall(attrs):
                fixed[(name, attr)] = value
            continue
        name, _, spec = rest.strip().partition(" ")
        decl = _element(name, spec.strip(), file)
        elements[name] = decl
        root = root or name
    return Dtd(file, elements, fixed, root, complete, source)


def _element(name: str, spec: str, file: str) -> ElementDecl:
    if spec == "EMPTY":
        return ElementDecl(name, "empty", text=spec)
    if spec == "ANY":
        return ElementDecl(name, "any", text=spec)
    tokens = [t for t in _TOKEN.findall(spec) if t]
    if tokens[:2] == ["(", "#PCDATA"]:
        names = [t for t in tokens if t not in ("(", ")", "|", "*", "#PCDATA")]
        return ElementDecl(name, "mixed" if names else "pcdata", mixed=tuple(names), text=spec)
    pos, model = _particle(tokens, 0, file)
    if pos != len(tokens):
        raise DtdSyntaxError(f"{file}: cannot read the model of {name}: {spec}")
    return ElementDecl(name, "children", model, text=spec)


def _particle(tokens: list[str], pos: int, file: str) -> tuple[int, Particle]:
    if tokens[pos] != "(":
        part = Particle("name", tokens[pos])
        pos += 1
    else:
        pos += 1
        items: list[Particle] = []
        joiner = ""
        while True:
            pos, item = _particle(tokens, pos, file)
            items.append(item)
            tok = tokens[pos]
            pos += 1
            if tok == ")":
                break
            if tok not in ",|" or (joiner and tok != joiner):
                raise DtdSyntaxError(f"{file}: mixed separators near {tok}")
            joiner = tok
        part = Particle("choice" if joiner == "|" else "seq", items=tuple(items))
    if pos < len(tokens) and tokens[pos] in ("?", "*", "+"):
        part = Particle(part.kind, part.name, part.items, tokens[pos])
        pos += 1
    return pos, part


def _required(part: Particle | None) -> set[str]:
    if part is None or part.occur in ("?", "*"):
        return set()
    if part.kind == "name":
        return {part.name}
    sets = [_required(i) for i in part.items]
    if part.kind == "seq":
        return set().union(*sets)
    return set.intersection(*sets) if sets else set()


def _names(part: Particle | None) -> Iterator[str]:
    if part is None:
        return
    if part.kind == "name":
        yield part.name
    for item in part.items:
        yield from _names(item)


def _regex(decl: ElementDecl) -> str:
    if decl.content in ("pcdata", "empty"):
        return ""
    if decl.content == "mixed":
        return "(?:" + "|".join(f"<{re.escape(n)}>" for n in decl.mixed) + ")*"
    assert decl.model is not None
    return _part_regex(decl.model)


def _part_regex(part: Particle) -> str:
    if part.kind == "name":
        inner = f"<{re.escape(part.name)}>"
    elif part.kind == "seq":
        inner = "".join(_part_regex(i) for i in part.items)
    else:
        inner = "|".join(_part_regex(i) for i in part.items)
    return f"(?:{inner}){part.occur}"


# -- validation ---------------------------------------------------------------------------
def validate(doc: XmlDoc, dtd: Dtd) -> list[Issue]:
    """Issues of ``doc`` against ``dtd`` (see the module docstring for the two strengths)."""
    issues: list[Issue] = []
    root = doc.root
    if dtd.complete and dtd.root and root.tag != dtd.root:
        issues.append(
            Issue(
                "root",
                root.tag,
                *doc.pos(root),
                f"ルート要素「{root.tag}」は{dtd.file}のルート「{dtd.root}」ではありません。",
            )
        )
    for (elem_name, attr), value in dtd.fixed.items():
        if elem_name == root.tag and root.get(attr) not in (None, value):
            issues.append(
                Issue(
                    "attr",
                    root.tag,
                    *doc.pos(root),
                    f"属性{attr}「{root.get(attr)}」は{dtd.file}の値「{value}」と異なります。",
                )
            )
    undeclared: dict[str, list[Element]] = {}
    for elem in root.iter():
        decl = dtd.elements.get(elem.tag)
        if decl is None:
            undeclared.setdefault(elem.tag, []).append(elem)
            continue
        issues += _check(doc, dtd, elem, decl)
        if len(issues) >= MAX_ISSUES:
            break
    for name, elems in undeclared.items():
        count = f"（{len(elems)}箇所）" if len(elems) > 1 else ""
        issues.append(
            Issue(
                "undeclared",
                name,
                *doc.pos(elems[0]),
                f"要素「{name}」は{dtd.file}に定義されていません{count}。",
            )
        )
    return issues


def _check(doc: XmlDoc, dtd: Dtd, elem: Element, decl: ElementDecl) -> list[Issue]:
    children = [c.tag for c in elem]
    line, column = doc.pos(elem)
    known = [c for c in children if c in dtd.elements]
    out: list[Issue] = []
    missing = sorted(decl.required() - set(children), key=lambda n: decl.text.find(n))
    if missing:
        names = "」「".join(missing)
        out.append(
            Issue(
                "missing",
                elem.tag,
                line,
                column,
                f"「{elem.tag}」に必須要素「{names}」がありません（{dtd.file}）。",
                tuple(missing),
            )
        )
    if not dtd.complete:
        return out
    text = (elem.text or "").strip() or any((c.tail or "").strip() for c in elem)
    if decl.content == "children" and text:
        out.append(
            Issue("text", elem.tag, line, column, f"「{elem.tag}」には文字を直接書けません。")
        )
    if decl.content in ("pcdata", "empty") and children:
        out.append(
            Issue(
                "children",
                elem.tag,
                line,
                column,
                f"「{elem.tag}」には子要素を書けません（{dtd.file}）。",
            )
        )
        return out
    if missing or decl.content == "any" or len(known) != len(children):
        return out
    if not dtd.pattern(elem.tag).fullmatch("".join(f"<{c}>" for c in children)):
        out.append(
            Issue(
                "order",
                elem.tag,
                line,
                column,
                f"「{elem.tag}」の子要素の順序または回数が{dtd.file}と異なります"
                f"（定義: {decl.text}）。",
            )
        )
    return out
