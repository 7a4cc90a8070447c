"""What the canvas is showing: one observable state every view reads.

``photo`` (a decoded :class:`~.jobs.Photo`), ``model`` (the model file that paints),
``blend`` (a :class:`~ganstyle_desktop.engine.blend.Blend`: which traditions, how much)
and ``result`` (the :class:`~.jobs.StylizeResult` on screen). Each has a ``*_changed``
signal that fires only on a real change. Views bind to it (the canvas, the Blend panel,
the window's title and actions, Compare Traditions); nobody keeps a copy.

Rules that keep a result honest:

- a result always belongs to the current photo and model: changing either clears it,
  and :meth:`set_result` refuses one made for another photo or model (a stylize that
  finished after a model switch can never be shown or exported);
- a blend belongs to the model it was made for: a new model starts from its own style
  (:class:`Blend` with no weights);
- a result records the blend it was made with; after a slider move it still shows (and
  exports) what it was made with, and :meth:`result_matches_blend` says whether that is
  the current blend.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, Signal

from ganstyle_desktop.engine.blend import Blend

from .jobs import Photo, StylizeRequest, StylizeResult


class CanvasState(QObject):
    photo_changed = Signal(object)  # Photo | None
    model_changed = Signal(object)  # Path | None
    model_name_changed = Signal(str)  # the model's name for people ("" when none)
    blend_changed = Signal(object)  # Blend
    result_changed = Signal(object)  # StylizeResult | None

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._photo: Photo | None = None
        self._model: Path | None = None
        self._model_name = ""
        self._blend = Blend.default()
        self._result: StylizeResult | None = None

    # -- reading -------------------------------------------------------------------------
    @property
    def photo(self) -> Photo | None:
        return self._photo

    @property
    def photo_path(self) -> Path | None:
        return self._photo.path if self._photo is not None else None

    @property
    def model(self) -> Path | None:
        return self._model

    @property
    def model_name(self) -> str:
        """The model's name as the Models list shows it (its card's), else the file's."""
        if self._model is None:
            return ""
        return self._model_name or self._model.stem

    @property
    def blend(self) -> Blend:
        return self._blend

    @property
    def result(self) -> StylizeResult | None:
        return self._result

    def can_stylize(self) -> bool:
        return self._photo is not None and (self._model is not None or self._blend.is_photo)

    def stylize_request(self, device: str = "auto", preview_side: int = 2048) -> StylizeRequest:
        """What stylizing the current state asks for (raises ValueError when it cannot)."""
        if self._photo is None:
            raise ValueError("no photo is open")
        if self._model is None and not self._blend.is_photo:
            raise ValueError("no model is chosen")
        return StylizeRequest(self._model or Path(), self._photo, self._blend, device, preview_side)

    def belongs(self, result: StylizeResult) -> bool:
        """``result`` was made from the current photo with the current model."""
        request = result.request
        return request.photo is self._photo and (
            request.model_path == self._model or (request.blend.is_photo and self._model is None)
        )

    def result_matches_blend(self) -> bool:
        return self._result is not None and self._result.blend == self._blend

    # -- writing ---------------------------------------------------------------------------
    def set_photo(self, photo: Photo | None) -> None:
        if photo is self._photo:
            return
        self._photo = photo
        self._set_result(None)
        self.photo_changed.emit(photo)

    def set_model(self, path: str | Path | None, name: str = "") -> None:
        """Make ``path`` the one active model; ``name`` is how people know it (the
        Models list's name for it)."""
        model = Path(path) if path else None
        if model == self._model:
            if name and name != self._model_name:
                self._model_name = name
                self.model_name_changed.emit(self.model_name)
            return
        self._model = model
        self._model_name = name if model is not None else ""
        self._set_result(None)
        self.model_changed.emit(model)
        self.model_name_changed.emit(self.model_name)
        # A blend belongs to the model it was made for; the brush size is the artist's.
        self.set_blend(Blend.default().with_brush(self._blend.brush))

    def set_blend(self, blend: Blend) -> None:
        if not isinstance(blend, Blend):
            raise TypeError(f"expected a Blend, got {type(blend).__name__}")
        if blend == self._blend:
            return
        self._blend = blend
        self.blend_changed.emit(blend)

    def set_result(self, result: StylizeResult | None) -> bool:
        """Show ``result``; False (and nothing changes) when it belongs to another photo
        or model than the current ones."""
        if result is not None and not self.belongs(result):
            return False
        self._set_result(result)
        return True

    def _set_result(self, result: StylizeResult | None) -> None:
        if result is self._result:
            return
        self._result = result
        self.result_changed.emit(result)
