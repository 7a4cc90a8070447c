"""The Training panel's Advanced section: one control per recipe knob, generated from the
engine's knob descriptions; what is set there is what the trainer runs with; values a knob
cannot take are refused with a message naming the knob; the recipe is remembered."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QCheckBox, QComboBox, QDoubleSpinBox, QSpinBox

from ganstyle_desktop.engine.config import TrainConfig, describe_knobs, recipe_knobs


def _configure(panel, style: Path, content: Path, steps: int) -> None:
    panel.style_field.edit.setText(str(style))
    panel.content_field.edit.setText(str(content))
    panel.method.setCurrentText("fastcut")
    panel.preset.setCurrentIndex(panel.preset.findData("tiny"))
    panel.size.setValue(32)
    panel.steps.setValue(steps)
    panel.batch.setValue(1)
    panel.quality_every.setValue(0)


def test_the_advanced_section_is_generated_from_the_knobs(qtbot) -> None:
    from ganstyle_desktop.ui.panels.training_panel import TrainingPanel

    panel = TrainingPanel()
    qtbot.addWidget(panel)
    panel.show()
    assert not panel.advanced.isVisible()  # collapsed by default
    assert panel.advanced_summary.text() == "recipe: defaults"
    qtbot.mouseClick(panel.advanced_button, Qt.MouseButton.LeftButton)
    assert panel.advanced.isVisible()
    specs = describe_knobs()
    assert list(panel.recipe.controls) == [f.name for f in recipe_knobs()]
    for spec in specs:
        control = panel.recipe.controls[spec.name]
        assert control.widget.isVisible(), spec.name
        assert control.value() == spec.default, spec.name  # TrainConfig's defaults
        label = panel.recipe.layout().labelForField(control.widget)
        assert label.text() == spec.label and label.toolTip() == spec.help
        if spec.kind == "float":
            assert isinstance(control.editor, QDoubleSpinBox)
            assert (control.editor.minimum(), control.editor.maximum()) == (spec.low, spec.high)
        elif spec.kind == "int":
            assert isinstance(control.editor, QSpinBox)
            assert (control.editor.minimum(), control.editor.maximum()) == (spec.low, spec.high)
        elif spec.kind == "choice":
            assert isinstance(control.editor, QComboBox)
            items = [control.editor.itemText(i) for i in range(control.editor.count())]
            assert tuple(items) == spec.choices
        elif spec.kind == "options":
            boxes = control.widget.findChildren(QCheckBox)
            assert [b.text() for b in boxes if b is not control.auto] == list(spec.choices)
        assert (control.auto is not None) == spec.optional


def test_a_knob_at_default_shows_what_the_method_and_preset_train_with(qtbot) -> None:
    """A greyed "default" box shows the value that run would use (the engine's table), not
    a placeholder 0, and unticking "default" starts from it."""
    from ganstyle_desktop.engine.config import default_knob_values
    from ganstyle_desktop.ui.jobs.facts import EngineFacts
    from ganstyle_desktop.ui.panels.training_panel import TrainingPanel

    panel = TrainingPanel()
    qtbot.addWidget(panel)
    panel.set_engine_choices(EngineFacts(
        device_label="CPU", presets=(("painter", ""), ("tiny", ""), ("mid", "")),
        default_preset="painter", devices=("cpu",), available_devices=("cpu",),
    ))
    controls = panel.recipe.controls
    optional = [name for name, c in controls.items() if c.spec.optional]
    assert {"lambda_teacher", "lambda_nce", "lambda_palette"} <= set(optional)
    cases = [("multistyle", "painter"), ("fastcut", "tiny"), ("cut", "tiny"),
             ("multistyle", "tiny")]
    for method, preset in cases:
        panel.method.setCurrentText(method)
        panel.preset.setCurrentIndex(panel.preset.findData(preset))
        expected = default_knob_values(method, preset)
        for name in optional:
            control = controls[name]
            assert control.value() is None  # still "default": shown, not set
            assert control.editor.value() == pytest.approx(expected[name]), (method, preset, name)
    assert panel.recipe.changed_values() == {}
    # From the painter's table: the teacher is on (1), NCE off; fastcut's NCE is 10.
    panel.method.setCurrentText("multistyle")
    panel.preset.setCurrentIndex(panel.preset.findData("painter"))
    assert controls["lambda_teacher"].editor.value() == 1.0
    assert controls["lambda_nce"].editor.value() == 0.0
    panel.show()
    qtbot.mouseClick(panel.advanced_button, Qt.MouseButton.LeftButton)
    qtbot.mouseClick(controls["lambda_teacher"].auto, Qt.MouseButton.LeftButton)
    assert controls["lambda_teacher"].value() == 1.0  # unticked: starts from what it was
    assert panel.recipe.changed_values() == {"lambda_teacher": 1.0}
    assert "now 0" in controls["lambda_nce"].auto.toolTip()


def test_changed_knobs_reach_the_trainer(qtbot, window, image_folders) -> None:
    panel, job = window.training_panel, window.training_job
    _configure(panel, *image_folders, steps=1)
    panel.advanced_button.setChecked(True)
    controls = panel.recipe.controls
    # Click as a person would: untick translation, retype two weights, pick a statistic,
    # and give the structure term a number instead of the method's default.
    qtbot.mouseClick(controls["diffaugment"].boxes["translation"], Qt.MouseButton.LeftButton)
    controls["lambda_gan"].editor.setValue(2.5)
    controls["d_scales"].editor.setValue(2)
    controls["style_loss"].editor.setCurrentText("gram")
    qtbot.mouseClick(controls["lambda_nce"].auto, Qt.MouseButton.LeftButton)
    controls["lambda_nce"].editor.setValue(3.0)
    wanted = {
        "diffaugment": "cutout",
        "lambda_gan": 2.5,
        "d_scales": 2,
        "style_loss": "gram",
        "lambda_nce": 3.0,
    }
    assert panel.recipe.changed_values() == wanted
    assert "Pixel critic 2.5" in panel.advanced_summary.text()

    config = panel.build_config()
    for name, value in wanted.items():
        assert getattr(config, name) == value, name
    assert config.lambda_style == TrainConfig.__dataclass_fields__["lambda_style"].default

    with qtbot.waitSignal(job.finished, timeout=120_000):
        assert panel.start()
    ran = TrainConfig.load(Path(job.run_dir) / "config.json")  # what the trainer saved
    for name, value in wanted.items():
        assert getattr(ran, name) == value, name
    assert job.config.lambda_gan == 2.5

    # The next launch's panel starts from the same recipe.
    from ganstyle_desktop.ui.panels.training_panel import TrainingPanel

    again = TrainingPanel()
    qtbot.addWidget(again)
    assert again.recipe.changed_values() == wanted


def test_values_a_knob_cannot_take_are_refused_with_its_name(qtbot, image_folders) -> None:
    from ganstyle_desktop.ui.panels.training_panel import TrainingPanel

    panel = TrainingPanel()
    qtbot.addWidget(panel)
    panel.preset.addItem("tiny", "tiny")
    _configure(panel, *image_folders, steps=10)
    problems = panel.set_recipe(
        {"lambda_gan": 500, "style_loss": "fancy", "diffaugment": "translation,blur",
         "d_scales": 1.5, "lambda_style": 3.0, "not_a_knob": 1}
    )  # fmt: skip
    assert len(problems) == 4, problems
    text = " ".join(problems)
    assert "lambda_gan" in text and "500 is outside 0 to 100" in text
    assert "style_loss" in text and "'fancy' is not one of meanstd, gram" in text
    assert "diffaugment" in text and "blur not among color, translation, cutout" in text
    assert "d_scales" in text and "not a whole number" in text
    # Refused values leave the knob as it was; the good one is taken.
    values = panel.recipe.values()
    assert values["lambda_gan"] == 1.0 and values["style_loss"] == "meanstd"
    assert values["diffaugment"] == "translation,cutout" and values["lambda_style"] == 3.0
    assert "lambda_gan" in panel.check_label.text()  # said where the person looks
    with qtbot.waitSignal(panel.check_finished, timeout=60_000):
        assert panel.run_check()
    assert "500 is outside" in panel.check_label.text()  # and still with the check
    assert "Recipe set by hand: Style loss 3" in panel.check_label.text()
    # A bad value that gets past the form (a hand-edited setting, say) is stopped by the
    # configuration's own check, with its name and range.
    panel.recipe.controls["lambda_gan"].value = lambda: -2.0
    assert not panel.run_check()
    assert "lambda_gan must be between 0 and 100, not -2" in panel.check_label.text()
    panel.shutdown()  # the speed measurement the sources started


def test_a_resumed_runs_recipe_is_what_the_form_shows(qtbot, tmp_path) -> None:
    from ganstyle_desktop.engine.config import StyleSource
    from ganstyle_desktop.ui.panels.training_panel import TrainingPanel

    panel = TrainingPanel()
    qtbot.addWidget(panel)
    run = TrainConfig(
        styles=[StyleSource("a")],
        content_paths=["x"],
        out_dir=str(tmp_path),
        lambda_teacher=4.0,
        diffaugment="color",
        lambda_palette=0.5,
    )
    panel._show_settings_of(run)  # what resume_run does before it starts the run
    assert panel.recipe.changed_values() == {
        "lambda_teacher": 4.0,
        "diffaugment": "color",
        "lambda_palette": 0.5,
    }
    assert "Teacher 4" in panel.advanced_summary.text()
    panel.recipe_defaults_button.click()
    assert panel.recipe.changed_values() == {}
    assert panel.advanced_summary.text() == "recipe: defaults"
    panel.shutdown()
