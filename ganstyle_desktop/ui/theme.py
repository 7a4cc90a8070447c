"""Light and dark palettes for the Fusion style, following the system unless overridden."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication

THEMES = ("system", "light", "dark")


def system_prefers_dark() -> bool:
    hints = QGuiApplication.styleHints()
    scheme = getattr(hints, "colorScheme", None)
    return bool(scheme and scheme() == Qt.ColorScheme.Dark)


def effective_theme(choice: str) -> str:
    """'light' or 'dark' for a setting of system, light or dark."""
    if choice in ("light", "dark"):
        return choice
    return "dark" if system_prefers_dark() else "light"


def _palette(dark: bool) -> QPalette:
    p = QPalette()
    if dark:
        window, base, alt, text = "#2b2d31", "#1e1f22", "#26282c", "#e6e6e6"
        button, highlight, link, disabled = "#35373c", "#4a88d9", "#78aaf0", "#80848c"
    else:
        window, base, alt, text = "#f3f3f5", "#ffffff", "#f0f1f4", "#1d1d1f"
        button, highlight, link, disabled = "#e9e9ec", "#2f6fc6", "#1f5fb8", "#8c8c92"
    role = QPalette.ColorRole
    group = QPalette.ColorGroup
    colours = {
        role.Window: window,
        role.WindowText: text,
        role.Base: base,
        role.AlternateBase: alt,
        role.ToolTipBase: base,
        role.ToolTipText: text,
        role.PlaceholderText: disabled,
        role.Text: text,
        role.Button: button,
        role.ButtonText: text,
        role.BrightText: "#ff5555",
        role.Highlight: highlight,
        role.HighlightedText: "#ffffff",
        role.Link: link,
        role.Mid: "#4a4d52" if dark else "#c4c4c8",
        role.Dark: "#18191b" if dark else "#a0a0a6",
        role.Light: "#45484d" if dark else "#ffffff",
        role.Midlight: "#3a3c41" if dark else "#e2e2e6",
        role.Shadow: "#000000" if dark else "#7a7a80",
    }
    for r, c in colours.items():
        p.setColor(r, QColor(c))
    for r in (role.WindowText, role.Text, role.ButtonText):
        p.setColor(group.Disabled, r, QColor(disabled))
    return p


def apply_theme(app: QApplication, choice: str = "system") -> str:
    """Apply ``choice`` (system, light, dark); returns the theme in effect."""
    effective = effective_theme(choice)
    app.setStyle("Fusion")  # the one style whose palette is honoured on every platform
    app.setPalette(_palette(effective == "dark"))
    app.setProperty("ganstyle_theme", effective)
    return effective


def is_dark(app: QApplication | None = None) -> bool:
    app = app or QApplication.instance()
    return bool(app and app.property("ganstyle_theme") == "dark")
