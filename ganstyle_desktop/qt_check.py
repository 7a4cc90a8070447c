"""Before the first window on Linux: are the system libraries Qt's X11 ("xcb") platform
plugin needs installed? When one is missing, Qt aborts with "Could not load the Qt
platform plugin "xcb"... Reinstalling the application may fix this problem", which does
not say what to do. This check runs first and prints which libraries are missing and the
command that installs them.

No Qt here (it must run before Qt loads a plugin); the libraries are probed with ctypes.
"""

from __future__ import annotations

import ctypes
import os
import sys
from collections.abc import Callable, Mapping

# The libraries PySide6's xcb plugin loads that desktop installs often lack, with the
# Debian/Ubuntu package of each (Fedora and Arch names in the message).
XCB_LIBRARIES: dict[str, str] = {
    "libxcb-cursor.so.0": "libxcb-cursor0",
    "libxcb-icccm.so.4": "libxcb-icccm4",
    "libxcb-keysyms.so.1": "libxcb-keysyms1",
    "libxcb-image.so.0": "libxcb-image0",
    "libxcb-render-util.so.0": "libxcb-render-util0",
    "libxcb-randr.so.0": "libxcb-randr0",
    "libxcb-shape.so.0": "libxcb-shape0",
    "libxcb-xfixes.so.0": "libxcb-xfixes0",
    "libxcb-xkb.so.1": "libxcb-xkb1",
    "libxkbcommon-x11.so.0": "libxkbcommon-x11-0",
    "libxcb.so.1": "libxcb1",
    "libEGL.so.1": "libegl1",
    "libfontconfig.so.1": "libfontconfig1",
    "libdbus-1.so.3": "libdbus-1-3",
}
APT_COMMAND = "sudo apt install " + " ".join(dict.fromkeys(XCB_LIBRARIES.values()))
DNF_COMMAND = (
    "sudo dnf install xcb-util-cursor xcb-util-wm xcb-util-keysyms xcb-util-image "
    "xcb-util-renderutil libxkbcommon-x11"
)
PACMAN_COMMAND = (
    "sudo pacman -S xcb-util-cursor xcb-util-wm xcb-util-keysyms xcb-util-image "
    "xcb-util-renderutil libxkbcommon-x11"
)


def _loads(name: str) -> bool:
    try:
        ctypes.CDLL(name)
    except OSError:
        return False
    return True


def uses_xcb(environ: Mapping[str, str] | None = None, platform: str | None = None) -> bool:
    """Whether Qt will try the X11 plugin: Linux, a display, and no other platform asked
    for (an explicit "wayland" or "offscreen" needs none of these libraries)."""
    env = os.environ if environ is None else environ
    if not (platform or sys.platform).startswith("linux"):
        return False
    chosen = env.get("QT_QPA_PLATFORM", "").strip().lower()
    if chosen:
        return chosen.split(";")[0].startswith("xcb")
    if env.get("WAYLAND_DISPLAY") and env.get("XDG_SESSION_TYPE", "").lower() == "wayland":
        return False  # Qt 6 picks its Wayland plugin on a Wayland session
    return bool(env.get("DISPLAY"))


def missing_libraries(loads: Callable[[str], bool] = _loads) -> list[tuple[str, str]]:
    """(library, Debian package) for each library the xcb plugin needs that is absent."""
    return [(lib, package) for lib, package in XCB_LIBRARIES.items() if not loads(lib)]


def missing_libraries_message(missing: list[tuple[str, str]]) -> str:
    libs = ", ".join(lib for lib, _ in missing)
    packages = " ".join(dict.fromkeys(package for _, package in missing))
    return (
        "GANStyle Desktop: Qt's X11 platform plugin (xcb) needs system libraries that are "
        f"not installed: {libs}.\n"
        f"Install them, then start again:\n"
        f"  Debian/Ubuntu: sudo apt install {packages}\n"
        f"  Fedora:        {DNF_COMMAND}\n"
        f"  Arch:          {PACMAN_COMMAND}\n"
        "(Or run on Wayland: QT_QPA_PLATFORM=wayland ganstyle)"
    )


def check_platform_libraries(
    environ: Mapping[str, str] | None = None,
    loads: Callable[[str], bool] = _loads,
    platform: str | None = None,
) -> str:
    """The message to print before Qt starts ("" when nothing is missing)."""
    if not uses_xcb(environ, platform):
        return ""
    missing = missing_libraries(loads)
    return missing_libraries_message(missing) if missing else ""
