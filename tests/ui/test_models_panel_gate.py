"""The models panel behind the model-file gate: importing a damaged model is refused with
the gate's reason, and an export onto a full disk says so, naming the file asked for
(never a hidden temp file)."""

from __future__ import annotations

import errno
import shutil

import pytest

from ganstyle_desktop import paths
from ganstyle_desktop.ui.panels.models_panel import ModelsPanel


@pytest.fixture
def panel(qtbot):
    widget = ModelsPanel()
    qtbot.addWidget(widget)
    widget.show()
    yield widget
    widget.shutdown()


def _poisoned(path):
    from safetensors.torch import load_file, save_file

    from ganstyle_desktop.engine.modelfile import CARD_METADATA_KEY, read_card

    card = read_card(path)
    state = load_file(str(path))
    name = sorted(state)[0]
    state[name].view(-1)[0] = float("nan")
    import json

    save_file(state, str(path), metadata={CARD_METADATA_KEY: json.dumps(card.to_dict())})
    return path


def test_importing_a_model_with_nan_weights_is_refused(
    qtbot, panel, model_factory, tmp_path, recorded_errors
) -> None:
    source = _poisoned(model_factory(tmp_path / "nan.safetensors"))
    messages = []
    panel.error_raised.connect(lambda title, m: messages.append((title, m)))
    task = panel.import_model(source)
    with qtbot.waitSignal(task.failed, timeout=30_000):
        pass
    assert messages and messages[-1][0] == "Model not imported"
    assert "nan.safetensors" in messages[-1][1] and "not finite" in messages[-1][1]
    assert not (paths.user_models_dir() / "nan.safetensors").exists()


def test_export_onto_a_full_disk_names_the_target(
    qtbot, panel, model_factory, tmp_path, monkeypatch, recorded_errors
) -> None:
    source = model_factory(tmp_path / "stripes.safetensors")
    target = tmp_path / "out" / "copy.safetensors"
    target.parent.mkdir()

    def full(src, dst, *args, **kwargs):
        err = OSError(errno.ENOSPC, "No space left on device")
        err.filename, err.filename2 = str(src), str(dst)
        raise err

    monkeypatch.setattr(shutil, "copyfile", full)
    messages = []
    panel.error_raised.connect(lambda title, m: messages.append((title, m)))
    task = panel.export_model(source, target)
    with qtbot.waitSignal(task.failed, timeout=30_000):
        pass
    assert messages and messages[-1][0] == "Model not exported"
    assert messages[-1][1] == f"{target}: cannot write (the disk is full)"
    assert list(target.parent.iterdir()) == []
