"""The offer a folder with a MANIFEST.csv gets on import: one dataset per tradition.

Each row is a dataset the manifest names: import it or not, its name (editable), its kind
(style: artworks of one tradition; content: photos to learn from), how many files are
there (and missing), its tradition and any licence restriction (non-commercial sets and
sets for tests only are flagged and left unticked). Non-modal; the panel listens to
``chosen`` (the plan the person accepted) or ``into_current`` (the old way: every file
into the selected dataset).

Drivable from tests: :meth:`set_included`, :meth:`set_name`, :meth:`set_kind`, then
:meth:`accept_choice`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

COLUMNS = ("Import", "Dataset", "Kind", "Files", "Tradition / region", "Licence")
KINDS = (("style", "Style (artworks)"), ("content", "Photos (content)"))


@dataclass(frozen=True)
class ManifestChoice:
    """What to import from a manifest: the dataset values, and their names and kinds."""

    manifest: Path
    only: tuple[str, ...]
    names: dict[str, str] = field(default_factory=dict)
    kinds: dict[str, str] = field(default_factory=dict)


class ManifestImportDialog(QDialog):
    chosen = Signal(object)  # ManifestChoice
    into_current = Signal()  # import every file into the selected dataset instead

    def __init__(
        self,
        manifest: Path,
        plans: list[Any],
        parent: QWidget | None = None,
        current_dataset: str | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Import a collection")
        self.manifest = Path(manifest)
        self.plans = list(plans)
        self.resize(780, 500)
        intro = QLabel(
            f"<b>{self.manifest.parent.name}</b> has a manifest ({self.manifest.name}) that "
            f"names {len(self.plans)} dataset(s). Each becomes a dataset of its own, keeping "
            "titles, artists and licences; the photos become a content dataset."
        )
        intro.setWordWrap(True)
        self.table = QTableWidget(len(self.plans), len(COLUMNS))
        self.table.setHorizontalHeaderLabels(list(COLUMNS))
        self.table.verticalHeader().setVisible(False)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(4, QHeaderView.ResizeMode.Stretch)
        self.kind_boxes: list[QComboBox] = []
        for row, plan in enumerate(self.plans):
            self._fill_row(row, plan)
        self.table.itemChanged.connect(lambda _i: self._update())
        self.warning = QLabel()
        self.warning.setWordWrap(True)
        self.import_button = QPushButton()
        self.import_button.setDefault(True)
        self.import_button.clicked.connect(self.accept_choice)
        self.into_button = QPushButton(
            f"Every file into “{current_dataset}”" if current_dataset else "Every file into one"
        )
        self.into_button.setEnabled(current_dataset is not None)
        self.into_button.setToolTip("Ignore the manifest's datasets: one dataset gets it all")
        self.into_button.clicked.connect(self._into_current)
        cancel = QPushButton("Cancel")
        cancel.clicked.connect(self.reject)
        buttons = QHBoxLayout()
        buttons.addWidget(self.into_button)
        buttons.addStretch(1)
        buttons.addWidget(cancel)
        buttons.addWidget(self.import_button)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.warning)
        layout.addLayout(buttons)
        self._update()

    def _fill_row(self, row: int, plan: Any) -> None:
        include = QTableWidgetItem()
        include.setFlags(Qt.ItemFlag.ItemIsUserCheckable | Qt.ItemFlag.ItemIsEnabled)
        wanted = plan.files > 0 and not plan.restriction
        include.setCheckState(Qt.CheckState.Checked if wanted else Qt.CheckState.Unchecked)
        self.table.setItem(row, 0, include)
        name = QTableWidgetItem(plan.name)
        name.setToolTip(
            "Images are added to the dataset of this name, which exists already"
            if plan.exists
            else "The name of the new dataset (double-click to change it)"
        )
        if plan.exists:
            font = name.font()
            font.setItalic(True)
            name.setFont(font)
        self.table.setItem(row, 1, name)
        kind = QComboBox()
        for key, label in KINDS:
            kind.addItem(label, key)
        kind.setCurrentIndex(max(0, kind.findData(plan.kind)))
        kind.setEnabled(not plan.exists)  # an existing dataset keeps its kind
        self.kind_boxes.append(kind)
        self.table.setCellWidget(row, 2, kind)
        files = f"{plan.files}" + (f" ({plan.missing} missing)" if plan.missing else "")
        if plan.exists:
            files += " (added to it)"
        self._readonly(row, 3, files)
        self._readonly(row, 4, plan.tradition)
        licence = plan.restriction.capitalize() if plan.restriction else "no restriction stated"
        item = self._readonly(row, 5, licence)
        item.setToolTip("\n".join(plan.licenses[:5]) or "The manifest gives no licence")
        if plan.restriction:
            item.setForeground(QColor("#b35900"))

    def _readonly(self, row: int, column: int, text: str) -> QTableWidgetItem:
        item = QTableWidgetItem(text)
        item.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable)
        self.table.setItem(row, column, item)
        return item

    # -- reading and setting (the UI and tests) ----------------------------------------------
    def row_of(self, slug: str) -> int:
        for row, plan in enumerate(self.plans):
            if plan.slug == slug:
                return row
        raise KeyError(slug)

    def is_included(self, slug: str) -> bool:
        return self.table.item(self.row_of(slug), 0).checkState() == Qt.CheckState.Checked

    def set_included(self, slug: str, included: bool) -> None:
        state = Qt.CheckState.Checked if included else Qt.CheckState.Unchecked
        self.table.item(self.row_of(slug), 0).setCheckState(state)

    def set_name(self, slug: str, name: str) -> None:
        self.table.item(self.row_of(slug), 1).setText(name)

    def set_kind(self, slug: str, kind: str) -> None:
        box = self.kind_boxes[self.row_of(slug)]
        box.setCurrentIndex(box.findData(kind))

    def choice(self) -> ManifestChoice:
        only, names, kinds = [], {}, {}
        for row, plan in enumerate(self.plans):
            if self.table.item(row, 0).checkState() != Qt.CheckState.Checked:
                continue
            only.append(plan.slug)
            names[plan.slug] = self.table.item(row, 1).text().strip() or plan.slug
            kinds[plan.slug] = str(self.kind_boxes[row].currentData())
        return ManifestChoice(self.manifest, tuple(only), names, kinds)

    # -- outcome ----------------------------------------------------------------------------
    def accept_choice(self) -> bool:
        choice = self.choice()
        if not choice.only:
            self.warning.setText("Tick at least one dataset to import.")
            return False
        self.chosen.emit(choice)
        self.accept()
        return True

    def _into_current(self) -> None:
        self.into_current.emit()
        self.accept()

    def _update(self) -> None:
        choice = self.choice()
        files = sum(self.plans[self.row_of(s)].files for s in choice.only)
        self.import_button.setText(f"Import {len(choice.only)} dataset(s), {files} files")
        self.import_button.setEnabled(bool(choice.only))
        flagged = [
            f"{choice.names[p.slug]} ({p.restriction})"
            for p in self.plans
            if p.slug in choice.only and p.restriction
        ]
        self.warning.setText(
            "Licence: "
            + "; ".join(flagged)
            + ". A model trained on these must not be shipped or sold."
            if flagged
            else ""
        )
