"""The check before Qt starts on Linux: which xcb libraries are missing, and the command
that installs them."""

from __future__ import annotations

from ganstyle_desktop.qt_check import (
    XCB_LIBRARIES,
    check_platform_libraries,
    missing_libraries,
    uses_xcb,
)

X11 = {"DISPLAY": ":0"}


def test_only_the_x11_plugin_on_linux_is_checked() -> None:
    assert uses_xcb(X11, "linux")
    assert uses_xcb({"DISPLAY": ":0", "QT_QPA_PLATFORM": "xcb"}, "linux")
    assert not uses_xcb({"DISPLAY": ":0", "QT_QPA_PLATFORM": "offscreen"}, "linux")
    assert not uses_xcb({"QT_QPA_PLATFORM": "wayland"}, "linux")
    assert not uses_xcb({"WAYLAND_DISPLAY": "w-0", "XDG_SESSION_TYPE": "wayland"}, "linux")
    assert not uses_xcb({}, "linux")  # no display at all: Qt says so itself
    assert not uses_xcb(X11, "darwin") and not uses_xcb(X11, "win32")


def test_missing_libraries_are_named_with_the_install_command() -> None:
    absent = {"libxcb-cursor.so.0", "libxcb-icccm.so.4", "libxcb-keysyms.so.1"}
    message = check_platform_libraries(X11, loads=lambda lib: lib not in absent, platform="linux")
    for lib in absent:
        assert lib in message
    assert "sudo apt install libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1" in message
    assert "dnf install" in message and "pacman -S" in message
    assert "libxcb-image" not in message.split("Install")[0]  # present ones are not blamed


def test_nothing_is_said_when_everything_is_there() -> None:
    assert check_platform_libraries(X11, loads=lambda _lib: True, platform="linux") == ""
    assert check_platform_libraries({}, loads=lambda _lib: False, platform="linux") == ""
    assert missing_libraries(lambda _lib: False) == list(XCB_LIBRARIES.items())
