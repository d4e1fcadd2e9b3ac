"""Writing a management XML: Shift_JIS, the DOCTYPE naming the DTD beside it, the root with its
``DTD_version``, elements in the DTD's order (deliverables-and-bonds.md §1.4-§1.8).

Text goes through ``jis_text`` (使用文字, §1.8) and XML escaping; what had to be replaced is
collected in ``replaced`` for the generation report.
"""

from __future__ import annotations

from xml.sax.saxutils import escape

from api.handovers.jis import jis_text


class XmlWriter:
    def __init__(self, root: str, dtd: str, version: str) -> None:
        self.root = root
        self.dtd = dtd
        self.version = version
        self.parts: list[str] = []
        self.replaced: list[tuple[str, str]] = []  # (element, character)
        self._stack: list[str] = []

    def leaf(self, name: str, value: object, *, keep_empty: bool = False) -> None:
        """``<name>value</name>``; nothing for an empty value unless ``keep_empty``."""
        text, replaced = jis_text(value)
        self.replaced += [(name, ch) for ch in replaced]
        if not text and not keep_empty:
            return
        self.parts.append(f"{'  ' * len(self._stack)}<{name}>{escape(text)}</{name}>")

    def open(self, name: str) -> None:
        self.parts.append(f"{'  ' * len(self._stack)}<{name}>")
        self._stack.append(name)

    def close(self) -> None:
        name = self._stack.pop()
        self.parts.append(f"{'  ' * len(self._stack)}</{name}>")

    def data(self) -> bytes:
        assert not self._stack, self._stack
        head = [
            '<?xml version="1.0" encoding="Shift_JIS"?>',
            f'<!DOCTYPE {self.root} SYSTEM "{self.dtd}">',
            f'<{self.root} DTD_version="{self.version}">',
        ]
        body = [f"  {line}" for line in self.parts]
        text = "\r\n".join([*head, *body, f"</{self.root}>", ""])
        return text.encode("shift_jis")
