"""Regression: PySide6 6.12 drops a reference to None on each void call on Python 3.11,
which aborted the app ("none_dealloc") after minutes of live loss-plot painting."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SCRIPT = """
import sys
calls = sys.getrefcount(None) + 20000  # more void calls than None has references
{fix}
from PySide6.QtWidgets import QApplication, QLabel
app = QApplication([])
label = QLabel()
for _ in range(calls):
    label.setText("x")
print("survived")
"""


def _run(fix: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", PYTHONPATH=str(REPO))
    return subprocess.run(
        [sys.executable, "-c", SCRIPT.format(fix=fix)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_many_void_qt_calls_do_not_free_none() -> None:
    out = _run("import ganstyle_desktop.ui")
    assert out.returncode == 0, out.stderr[-2000:]
    assert "survived" in out.stdout
