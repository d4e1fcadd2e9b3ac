"""One loaded PKCS#11 library per module path and process (the HSM's KEK, ``api.keys.hsm``;
an issuer's IC card, ``api.bonds.signers``).

A PKCS#11 module keeps its state per process (``C_Initialize``, the login), and some modules,
SoftHSM2 among them, crash when loaded a second time after being unloaded in the same process.
So a library is loaded once and never unloaded; when its last user leaves and a new one comes,
it is re-initialised (``C_Finalize`` + ``C_Initialize``): the new user sees the module's
configuration afresh (e.g. ``SOFTHSM2_CONF``) and no stale session.
"""

from __future__ import annotations

import os
import threading
from typing import Any

_LIBS: dict[str, Any] = {}
_USERS: dict[str, int] = {}
_LOCK = threading.Lock()


def acquire(path: str) -> Any:
    """The ``pkcs11.lib`` of ``path`` (loaded on first use); ``pkcs11.PKCS11Error`` when it
    cannot be loaded. Pair every call with ``release``."""
    import pkcs11

    path = os.path.realpath(path)
    with _LOCK:
        lib = _LIBS.get(path)
        if lib is None:
            lib = pkcs11.lib(path)
            _LIBS[path] = lib
        elif _USERS.get(path, 0) == 0:
            lib.reinitialize()
        _USERS[path] = _USERS.get(path, 0) + 1
        return lib


def release(path: str) -> None:
    """One user fewer; the library stays loaded (see the module's docstring)."""
    path = os.path.realpath(path)
    with _LOCK:
        _USERS[path] = max(0, _USERS.get(path, 0) - 1)
