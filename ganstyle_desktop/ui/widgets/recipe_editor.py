"""The style recipe's knobs as a form, generated from the engine's knob descriptions.

Every row comes from a :class:`~ganstyle_desktop.engine.config.KnobSpec` (read through
``ui.jobs.facts.recipe_knob_specs``): its kind picks the control (a number box ranged by
the knob's low/high, a menu of its choices, a tick box per option), its label names the
row, its help text is the tooltip. Nothing about a particular knob is written here, so a
knob added to TrainConfig appears in the panel (and on the CLI) by itself.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QAbstractSpinBox,
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLineEdit,
    QSpinBox,
    QWidget,
)

WIDE = 1e6  # the range of a number knob that names none


class _KnobControl:
    """One knob's widgets; ``value()`` is what goes into the TrainConfig."""

    def __init__(self, spec: Any, changed: Signal) -> None:
        self.spec = spec
        self.widget = QWidget()
        row = QHBoxLayout(self.widget)
        row.setContentsMargins(0, 0, 0, 0)
        self.auto: QCheckBox | None = None
        self.boxes: dict[str, QCheckBox] = {}
        self.editor: Any = None
        self._default_shown: Any = None  # what None means for the chosen method and preset
        kind = spec.kind
        if kind in ("float", "int"):
            self.editor = QDoubleSpinBox() if kind == "float" else QSpinBox()
            low = spec.low if spec.low is not None else -WIDE
            high = spec.high if spec.high is not None else WIDE
            if kind == "float":
                self.editor.setDecimals(3)
                self.editor.setSingleStep(0.1 if high - low <= 100 else 1.0)
                self.editor.setRange(float(low), float(high))
            else:
                self.editor.setRange(int(low), int(high))
            self.editor.setStepType(QAbstractSpinBox.StepType.AdaptiveDecimalStepType)
            self.editor.setKeyboardTracking(False)  # a typed number counts once complete
            self.editor.valueChanged.connect(lambda *_: changed.emit())
            row.addWidget(self.editor, 1)
        elif kind == "bool":
            self.editor = QCheckBox()
            self.editor.toggled.connect(lambda *_: changed.emit())
            row.addWidget(self.editor, 1)
        elif kind == "choice":
            self.editor = QComboBox()
            self.editor.addItems(list(spec.choices))
            self.editor.currentIndexChanged.connect(lambda *_: changed.emit())
            row.addWidget(self.editor, 1)
        elif kind == "options":
            for option in spec.choices:
                box = QCheckBox(option)
                box.setToolTip(spec.help)
                box.toggled.connect(lambda *_: changed.emit())
                self.boxes[option] = box
                row.addWidget(box)
            row.addStretch(1)
        else:  # text
            self.editor = QLineEdit()
            self.editor.editingFinished.connect(changed.emit)
            row.addWidget(self.editor, 1)
        if spec.optional:
            # None is a setting of its own ("the method's default"), not a number.
            self.auto = QCheckBox("default")
            self.auto.setToolTip("Use the method's own value")
            self.auto.toggled.connect(self._auto_toggled)
            self.auto.toggled.connect(lambda *_: changed.emit())
            row.addWidget(self.auto)
        for w in [self.editor, *self.boxes.values()]:
            if w is not None:
                w.setToolTip(spec.help)
        self.reset()

    def _auto_toggled(self, on: bool) -> None:
        if self.editor is not None:
            self.editor.setEnabled(not on)
        if on:
            self._display_default()

    def show_default(self, value: Any) -> None:
        """What "default" stands for now (the chosen method's and preset's value): shown
        in the greyed box while "default" is ticked, and the starting point when it is
        unticked."""
        self._default_shown = value
        if self.auto is not None:
            shown = "the method's own value" if value is None else f"now {value:g}"
            self.auto.setToolTip(f"Use the method's and preset's own value ({shown})")
            if self.auto.isChecked():
                self._display_default()

    def _display_default(self) -> None:
        value = self._default_shown
        if value is None or self.spec.kind not in ("float", "int") or self.editor is None:
            return
        checked, problem = self._checked(value)
        if problem is None:
            self.editor.blockSignals(True)  # showing what None means changes no setting
            try:
                self.editor.setValue(checked)
            finally:
                self.editor.blockSignals(False)

    def reset(self) -> None:
        """Back to the knob's default (TrainConfig's)."""
        problem = self.set(self.spec.default)
        if problem is not None:  # TrainConfig's default outside its own range: a bug there
            raise ValueError(problem)

    def value(self) -> Any:
        spec = self.spec
        if self.auto is not None and self.auto.isChecked():
            return None
        if spec.kind == "float":
            return float(self.editor.value())
        if spec.kind == "int":
            return int(self.editor.value())
        if spec.kind == "bool":
            return self.editor.isChecked()
        if spec.kind == "choice":
            return self.editor.currentText()
        if spec.kind == "options":
            return ",".join(o for o in spec.choices if self.boxes[o].isChecked())
        return self.editor.text().strip()

    def set(self, value: Any) -> str | None:
        """Show ``value``; a value the knob cannot take is refused: the reason, for people."""
        spec = self.spec
        if value is None:
            if not spec.optional:
                return f"{spec.label} ({spec.name}) needs a value."
            self.auto.setChecked(True)
            return None
        checked, problem = self._checked(value)
        if problem is not None:
            return f"{spec.label} ({spec.name}): {problem}"
        if spec.kind in ("float", "int", "bool", "choice"):
            if spec.kind == "choice":
                self.editor.setCurrentText(checked)
            elif spec.kind == "bool":
                self.editor.setChecked(checked)
            else:
                self.editor.setValue(checked)
        elif spec.kind == "options":
            for option, box in self.boxes.items():
                box.setChecked(option in checked)
        else:
            self.editor.setText(checked)
        if self.auto is not None:
            self.auto.setChecked(False)
        return None

    def _checked(self, value: Any) -> tuple[Any, str | None]:
        """(``value`` as this knob holds it, None), or (None, why it cannot take it)."""
        spec = self.spec
        if spec.kind in ("float", "int"):
            try:
                number = float(value)
            except (TypeError, ValueError):
                return None, f"{value!r} is not a number."
            if isinstance(value, bool) or not math.isfinite(number):
                return None, f"{value!r} is not a number."
            if spec.kind == "int" and number != int(number):
                return None, f"{value!r} is not a whole number."
            low = spec.low if spec.low is not None else -WIDE
            high = spec.high if spec.high is not None else WIDE
            if not low <= number <= high:
                return None, f"{number:g} is outside {low:g} to {high:g}."
            return (number if spec.kind == "float" else int(number)), None
        if spec.kind == "bool":
            if not isinstance(value, bool):
                return None, f"{value!r} is not on or off."
            return value, None
        if spec.kind == "choice":
            if value not in spec.choices:
                return None, f"{value!r} is not one of {', '.join(spec.choices)}."
            return value, None
        if spec.kind == "options":
            names = [n.strip() for n in str(value).split(",") if n.strip()]
            unknown = [n for n in names if n not in spec.choices]
            if unknown:
                return None, f"{', '.join(unknown)} not among {', '.join(spec.choices)}."
            return set(names), None
        return str(value), None

    def set_enabled(self, enabled: bool) -> None:
        self.widget.setEnabled(enabled)


class RecipeEditor(QWidget):
    """A form row per knob of ``specs`` (KnobSpecs, in order). ``changed`` on every edit."""

    changed = Signal()

    def __init__(self, specs: Iterable[Any], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.specs = tuple(specs)
        self.controls: dict[str, _KnobControl] = {}
        form = QFormLayout(self)
        form.setContentsMargins(0, 0, 0, 0)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)
        for spec in self.specs:
            control = _KnobControl(spec, self.changed)
            self.controls[spec.name] = control
            form.addRow(spec.label, control.widget)
            label = form.labelForField(control.widget)
            if label is not None:
                label.setToolTip(spec.help)

    def values(self) -> dict[str, Any]:
        """Every knob's value, by TrainConfig field name."""
        return {name: control.value() for name, control in self.controls.items()}

    def changed_values(self) -> dict[str, Any]:
        """The knobs set to something other than their default."""
        return {
            name: value
            for name, value in self.values().items()
            if value != self.controls[name].spec.default
        }

    def set_values(self, values: Mapping[str, Any]) -> list[str]:
        """Show ``values`` (by field name; knobs not named keep theirs). Values a knob
        cannot take are refused and each reason returned; names that are no knob (of an
        older version) are skipped."""
        problems = []
        self.blockSignals(True)
        try:
            for name, value in values.items():
                control = self.controls.get(name)
                if control is None:
                    continue
                problem = control.set(value)
                if problem:
                    problems.append(problem)
        finally:
            self.blockSignals(False)
        self.changed.emit()
        return problems

    def show_defaults(self, values: Mapping[str, Any]) -> None:
        """What each optional knob's "default" stands for now (by field name), e.g. from
        ``ui.jobs.facts.recipe_knob_defaults`` when the method or preset changes."""
        for name, control in self.controls.items():
            if control.spec.optional:
                control.show_default(values.get(name))

    def reset(self) -> None:
        self.blockSignals(True)
        try:
            for control in self.controls.values():
                control.reset()
        finally:
            self.blockSignals(False)
        self.changed.emit()

    def set_editable(self, editable: bool) -> None:
        for control in self.controls.values():
            control.set_enabled(editable)
