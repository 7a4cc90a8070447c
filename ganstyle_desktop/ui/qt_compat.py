"""Work around a PySide6/shiboken refcount bug on Python < 3.12.

PySide6 6.12's bindings drop a reference to ``None`` (and sometimes ``True``/``False``)
on every call of a void method (``QPainter.setPen``, ``QPainterPath.lineTo``,
``QLabel.setText``...). From Python 3.12 these singletons are immortal, so nothing
happens; on 3.11 their count runs down and the process aborts with "Fatal Python error:
none_dealloc" after some minutes of painting (seen with a live loss plot). Giving the
singletons a huge reference count is what 3.12's immortality amounts to; it costs nothing.
"""

from __future__ import annotations

import ctypes
import sys

_BOOST = 1 << 40  # ~10^12 leaked references before the count could reach zero again
_applied = False


def protect_singletons() -> bool:
    """Make None/True/False effectively immortal on CPython < 3.12; True if applied."""
    global _applied
    if _applied or sys.implementation.name != "cpython" or sys.version_info >= (3, 12):
        return False
    for obj in (None, True, False, Ellipsis, NotImplemented):
        # ob_refcnt is the first field of every PyObject in release builds of CPython.
        ctypes.c_ssize_t.from_address(id(obj)).value += _BOOST
    _applied = True
    return True
