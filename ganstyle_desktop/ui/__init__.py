"""The Qt desktop UI: PySide6 only, no torch and no tensor math (workers run the engine)."""

from .qt_compat import protect_singletons

# Before any PySide6 call: PySide6 6.12 leaks references to None on Python 3.11.
protect_singletons()
