"""Process memory hygiene: the number of glibc malloc arenas.

glibc gives a thread that allocates while another one holds the main arena an arena of its
own (up to eight per core) and keeps the memory freed there for that arena's later use. Typst
lays out and writes PDFs on worker threads of its own, so a process that prints once holds on
to tens of MiB it no longer uses: a 200-page bundle grew the process by 70 MiB with the default
arenas and by 10 MiB with two (measured, ``bench/bench_proposals.py``). Two arenas is what
``MALLOC_ARENA_MAX=2`` gives, the usual setting for threaded Python servers; an operator who
sets that variable keeps their value.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys

M_ARENA_MAX = -8  # glibc's mallopt parameter number
ARENAS = 2
_capped: bool | None = None


def cap_malloc_arenas(limit: int = ARENAS) -> bool:
    """Cap glibc's malloc arenas at ``limit`` for this process (once). False where it does
    not apply: not Linux, not glibc, or ``MALLOC_ARENA_MAX`` set by the operator."""
    global _capped
    if _capped is not None:
        return _capped
    _capped = False
    if not sys.platform.startswith("linux") or os.environ.get("MALLOC_ARENA_MAX"):
        return False
    name = ctypes.util.find_library("c")
    if not name:
        return False
    try:
        libc = ctypes.CDLL(name)
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False  # musl and others: no mallopt
    _capped = bool(mallopt(ctypes.c_int(M_ARENA_MAX), ctypes.c_int(limit)))
    return _capped
