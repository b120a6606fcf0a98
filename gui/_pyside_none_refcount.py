"""Work around a PySide6 6.12.0 bug on Python < 3.12: every Qt call returning None drops one
reference to None too many (6.12 assumes the immortal None of Python 3.12+), so a busy window
aborts with "none_dealloc: deallocating None" after some thousands of calls (paints, signals).

The real fix is pinning PySide6 6.11.3 (see the GUI report); until then, give None the huge
reference count it has on Python 3.12+ so the stray decrements can never reach zero.
"""
from __future__ import annotations

import ctypes
import sys

AFFECTED_VERSIONS = ("6.12.0",)
HEADROOM = 1 << 40  # stray decrements it absorbs; None is never freed anyway


def apply() -> bool:
    """Returns True if the workaround was needed and applied."""
    if sys.version_info >= (3, 12):
        return False  # None is immortal there
    try:
        from importlib.metadata import version

        installed = version("shiboken6")
    except Exception:  # noqa: BLE001 (not installed: nothing to fix)
        return False
    if installed not in AFFECTED_VERSIONS:
        return False
    refcount = ctypes.c_ssize_t.from_address(id(None))  # ob_refcnt is the first field of PyObject
    if refcount.value < HEADROOM // 2:
        refcount.value += HEADROOM
    return True
