"""Shared test setup: headless Qt, a single torch thread per test process, shared data."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# Tiny test networks gain nothing from several threads and lose a lot on a shared CPU;
# set before torch is first imported, which reads it once.
os.environ.setdefault("OMP_NUM_THREADS", "1")
# Keep tests off the user's real settings and data folders.
os.environ.setdefault("GANSTYLE_DEVICE", "cpu")

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared sample data not found at {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture(autouse=True)
def _isolated_user_dirs(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch):
    """Settings, user data and caches of the app live in a temp folder during tests."""
    home = tmp_path_factory.mktemp("user")
    monkeypatch.setenv("GANSTYLE_DATA_DIR", str(home / "data"))
    monkeypatch.setenv("GANSTYLE_CONFIG_DIR", str(home / "config"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / "xdg-config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / "xdg-data"))
    yield
    from ganstyle_desktop.engine.imageio import set_pixel_limit

    set_pixel_limit(None)  # a test that raised or lowered the one limit leaves it as found
