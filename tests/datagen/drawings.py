"""SXF drawings: ``.P21`` text files with an ISO-10303-21 header and a handful of features.

Japanese strings in a Part 21 file are written with the ``\\X2\\…\\X0\\`` UCS-2 escape (ISO
10303-21 §6.4.3.3), so the files stay ASCII like real SXF output. The entity names follow the
SXF feature mode (LAYER_FEATURE, LINE_FEATURE, TEXT_STRING_FEATURE); the geometry is random.
"""

from __future__ import annotations

import random


def p21_string(text: str) -> str:
    """Part 21 string literal content: ASCII kept, anything else as ``\\X2\\hhhh…\\X0\\``."""
    out: list[str] = []
    wide: list[str] = []
    for ch in text:
        if 32 <= ord(ch) < 127 and ch not in "\\'":
            if wide:
                out.append("\\X2\\" + "".join(wide) + "\\X0\\")
                wide = []
            out.append(ch)
        elif ch == "'":
            out.append("''")
        elif ch == "\\":
            out.append("\\\\")
        else:
            wide.append(f"{ord(ch):04X}")
    if wide:
        out.append("\\X2\\" + "".join(wide) + "\\X0\\")
    return "".join(out)


def p21(
    rng: random.Random, file_name: str, title: str, author: str, stamp: str, lines: int = 24
) -> bytes:
    """An SXF Part 21 drawing named ``file_name`` with sheet title ``title``."""
    head = [
        "ISO-10303-21;",
        "HEADER;",
        "FILE_DESCRIPTION(('SCADEC level2 feature_mode'),'2;1');",
        f"FILE_NAME('{file_name}','{stamp}',('{p21_string(author)}'),(''),"
        "'SCADEC_API_Ver3.30$$2.0','kura tests.datagen','');",
        "FILE_SCHEMA(('ASSOCIATIVE_DRAUGHTING'));",
        "ENDSEC;",
        "DATA;",
        f"#10 = DRAWING_SHEET_FEATURE('{p21_string(title)}',9,1,841.0,594.0);",
        "#20 = LAYER_FEATURE('C-STR',1);",
        "#30 = LAYER_FEATURE('C-DIM',1);",
        "#40 = LAYER_FEATURE('C-TTL',1);",
    ]
    n = 100
    for _ in range(lines):
        x0, y0 = rng.uniform(20, 820), rng.uniform(20, 570)
        x1, y1 = rng.uniform(20, 820), rng.uniform(20, 570)
        head.append(
            f"#{n} = LINE_FEATURE('1','1','1','1','1',{x0:.3f},{y0:.3f},{x1:.3f},{y1:.3f});"
        )
        n += 10
    head.append(
        f"#{n} = TEXT_STRING_FEATURE('3','1','1','{p21_string(title)}',"
        "700.0,30.0,5.0,3.5,0.0,0.0,0.0,1,1);"
    )
    head += ["ENDSEC;", "END-ISO-10303-21;", ""]
    return "\n".join(head).encode("ascii")
