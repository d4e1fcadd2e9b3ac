"""Pieces of the generated packages that issue 8 section 1 asks for: 小黒板情報 XMP in photos,
the location of 位置図/平面図 drawings (CH-120), an EICAR test file, and UTF-8 management XML.

Element and namespace names come from deliverables-and-bonds.md §1.7 (CH-120 [V]) and §2.2
rule 25 (JACIC 小黒板情報電子化, XMP ``photo:*``; the namespace
``http://dcpadv.org/schema/3.0/photoinfo`` and ``dcpm:hashCode`` in
``http://dcpadv.org/schema/3.1/metadata`` as public camera apps write them).
"""

from __future__ import annotations

import hashlib

from tests.datagen import xml as X

PHOTO_NS = "http://dcpadv.org/schema/3.0/photoinfo"
META_NS = "http://dcpadv.org/schema/3.1/metadata"
# The EICAR anti-virus test file, kept reversed so this source file is not itself "a virus".
_EICAR_REVERSED = "*H+H$!ELIF-TSET-SURIVITNA-DRADNATS-RACIE$}7)CC7)^P(45XZP\\4[PA@%P!O5X"


def eicar() -> bytes:
    return _EICAR_REVERSED[::-1].encode("ascii")


def blackboard_xmp(fields: dict[str, str], with_hash: bool) -> bytes:
    """An XMP packet with 小黒板情報 (``photo:*``) and, if asked, a ``dcpm:hashCode``."""
    items = "".join(f"<photo:{k}>{X.escape(v)}</photo:{k}>" for k, v in fields.items())
    digest = hashlib.sha256("".join(fields.values()).encode()).hexdigest()
    meta = f"<dcpm:hashCode>{digest}</dcpm:hashCode>" if with_hash else ""
    text = (
        '<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?>'
        '<x:xmpmeta xmlns:x="adobe:ns:meta/">'
        '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        f'<rdf:Description rdf:about="" xmlns:photo="{PHOTO_NS}" xmlns:dcpm="{META_NS}">'
        f"{items}{meta}</rdf:Description></rdf:RDF></x:xmpmeta>"
        '<?xpacket end="w"?>'
    )
    return text.encode("utf-8")


def location(bounds: list[X.Node], name: str) -> list[X.Node]:
    """境界座標情報 and 基準点情報 of a drawing (CH-120)."""
    return [
        ("境界座標情報", bounds),
        ("基準点情報", [("基準点名称", name), ("基準点X座標", "-190000.000")]),
    ]


def utf8(text: str) -> bytes:
    """Management XML text as UTF-8 with a UTF-8 declaration (rule 11: not Shift_JIS)."""
    return text.replace(X.DECLARATION, '<?xml version="1.0" encoding="UTF-8"?>').encode()
