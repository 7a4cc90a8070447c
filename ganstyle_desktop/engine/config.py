"""Training configuration: one JSON-serialisable dataclass, saved in every run folder so
that ``--resume`` continues with exactly the settings the run started with."""

from __future__ import annotations

import json
from dataclasses import Field, asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

METHODS = ("fastcut", "cut", "cyclegan", "multistyle")
GAN_LOSSES = ("lsgan", "hinge")
STYLE_LOSSES = ("meanstd", "gram")
# DiffAugment's policies (engine/augment.py applies them; named here so that checking a
# setting never imports torch: the GUI thread checks a form's settings)
DIFFAUGMENT_POLICIES = ("color", "translation", "cutout")
# Network presets that train with some methods only (the rest take any method)
PRESET_METHODS = {"painter": ("multistyle",)}


def methods_for_preset(preset: str) -> tuple[str, ...]:
    """The methods that can train the network ``preset``."""
    return PRESET_METHODS.get(preset, METHODS)


def knob(default, help: str, *, low: float | None = None, high: float | None = None,
         choices: tuple[str, ...] | None = None, options: tuple[str, ...] | None = None,
         label: str | None = None, flag: str | None = None):
    """A recipe setting: a dataclass field whose metadata the CLI (``--flag``) and the
    Training panel's advanced section are generated from, so they cannot drift.

    ``choices``: the value is one of them; ``options``: any of them, comma-separated;
    ``low``/``high``: a number's range; ``label``: a short name for people (the panel's
    row; default: the field's name)."""
    meta = {"knob": True, "help": help, "low": low, "high": high, "choices": choices,
            "options": options, "label": label, "flag": flag}
    return field(default=default, metadata=meta)


def split_options(value: str, options: tuple[str, ...], what: str) -> list[str]:
    """``"translation, cutout"`` -> ``["translation", "cutout"]``: the comma-separated
    names of an "any of" setting; a name not among ``options`` is refused (ValueError)."""
    names = [p.strip() for p in str(value).split(",") if p.strip()]
    for name in names:
        if name not in options:
            raise ValueError(f"Unknown {what} {name!r}; choose from {', '.join(options)}.")
    return names


def parse_diffaugment(policy: str) -> list[str]:
    """The DiffAugment policies named in ``policy`` (comma-separated; "" for none)."""
    return split_options(policy, DIFFAUGMENT_POLICIES, "DiffAugment policy")


# What a knob left at None ("the method's / the preset's own") is, by method and preset:
# the one table the methods train with and the Training panel shows. The painter starts
# from a pretrained painting: the critic on the prior's features moves it towards the
# tradition, the teacher term (its own starting painting) keeps the photo's content, the
# contrast, after the evenness, sets the traditions apart and the brushwork term pulls
# each one's surfaces towards its artworks', the palette term its colours; NCE is off
# (its encoder is pretrained).
# Chosen by measured runs: models/TRAINING.md.
PAINTER_RECIPE = {"lambda_critic": 1.0, "lambda_teacher": 1.0, "lambda_brushwork": 1.0,
                  "style_contrast": 1.0, "style_evenness": 1.0, "lambda_nce": 0.0,
                  "lambda_palette": 1.0}
OTHER_RECIPE = {"lambda_critic": 0.0, "lambda_teacher": 0.0, "lambda_brushwork": 0.0,
                "style_contrast": 0.0, "style_evenness": 0.0}
METHOD_NCE = {"cut": 1.0, "fastcut": 10.0, "multistyle": 10.0}
METHOD_PALETTE = {"multistyle": 1.0}


def default_knob_values(method: str, preset: str) -> dict[str, float]:
    """The value each optional recipe knob takes when left at None, for ``method`` with
    ``preset``."""
    if preset == "painter":
        return dict(PAINTER_RECIPE)
    return {**OTHER_RECIPE, "lambda_nce": METHOD_NCE.get(method, 0.0),
            "lambda_palette": METHOD_PALETTE.get(method, 0.0)}


class ConfigError(ValueError):
    """A training setting is out of range; the message says which and why."""


@dataclass
class StyleSource:
    """One tradition to learn: a folder of artworks or an explicit list of files."""

    name: str  # slug, e.g. "japanese-ukiyo-e"
    paths: list[str] = field(default_factory=list)  # files or folders
    display_name: str = ""
    tags: dict[str, str] = field(default_factory=dict)  # culture, region, era, ...
    provenance: list[dict] = field(default_factory=list)  # per-file source / license rows


@dataclass
class PipelineConfig:
    """How training images are prepared (also a library dataset's stored pipeline)."""

    resize: int | None = None  # shorter side before cropping; None: 1.125 x crop size
    crop: str = "random"  # random | center | random_resized
    rotations: tuple[int, ...] = ()  # extra right angles to draw from, e.g. (90, 270)
    hflip: bool = True
    vflip: bool = False
    color_jitter: float = 0.0  # 0..0.5: brightness/contrast/saturation jitter strength


@dataclass
class TrainConfig:
    styles: list[StyleSource]
    content_paths: list[str]
    out_dir: str
    # The painter starts from a pretrained painting network: a recognisable tradition
    # within minutes on a CPU (models/TRAINING.md); it trains with the multistyle method.
    method: str = "multistyle"
    preset: str = "painter"
    size: int = 256
    steps: int = 2000
    batch_size: int = 1
    lr: float = 2e-4
    decay_start: float = 0.5  # fraction of steps at constant lr before linear decay to 0
    gan_loss: str = "lsgan"
    device: str = "auto"
    mixed_precision: bool | None = None  # None: on for CUDA only
    seed: int = 0
    ema_decay: float = 0.999
    # -- the style recipe (every knob below is on the CLI and in the panel) --------------
    # No colour augmentation by default: it hides palette from the discriminator, and every
    # tradition then learns one average look (models/TRAINING.md).
    diffaugment: str = knob(
        "translation,cutout",
        "DiffAugment before the discriminators: any of color, translation, cutout "
        "(comma-separated; empty for none)",
        options=DIFFAUGMENT_POLICIES, label="Augment (critics)",
    )
    lambda_gan: float = knob(1.0, "weight of the pixel PatchGAN loss", low=0.0, high=100.0,
                             label="Pixel critic")
    d_scales: int = knob(1, "scales the pixel PatchGAN judges (2: full and half size)",
                         low=1, high=4, label="Critic scales")
    lambda_nce: float | None = knob(
        None, "weight of the PatchNCE content loss (default: the method's, CUT 1, FastCUT 10, "
        "multistyle 10; 0 with the painter preset)",
        low=0.0, high=100.0, label="Structure (NCE)")
    lambda_critic: float | None = knob(
        None, "weight of the projected critic: a discriminator on the frozen style prior's "
        "features (default: the preset's, painter 1, others 0)", low=0.0, high=100.0,
        label="Prior critic")
    lambda_style: float = knob(
        0.0, "weight of the style loss: feature statistics of the style prior, output vs "
        "artwork", low=0.0, high=1000.0, label="Style loss")
    style_loss: str = knob("meanstd", "statistics the style loss matches", choices=STYLE_LOSSES,
                           label="Style statistics")
    lambda_content: float = knob(
        0.0, "weight of the content loss on the style prior's features (photo vs output)",
        low=0.0, high=1000.0, label="Content loss")
    lambda_teacher: float | None = knob(
        None, "weight of the teacher term: L1 to a pretrained transfer network's painting of "
        "the same photo in the tradition's mean style (default: the preset's, painter 1, "
        "others 0)", low=0.0, high=100.0, label="Teacher")
    teacher_blur: float = knob(
        0.0, "the teacher term on blurred paintings (Gaussian sigma in px): only the "
        "layout and colours of the teacher's painting, its surfaces left to the critics "
        "(0: pixels and the prior's features, as they are)", low=0.0, high=16.0,
        label="Teacher blur")
    lambda_palette: float | None = knob(
        None, "weight of the palette term: colour distribution of output vs artwork (sliced "
        "Wasserstein; default: multistyle and the painter 1, CUT and FastCUT 0)", low=0.0, high=100.0, label="Palette")
    style_contrast: float | None = knob(
        None, "how far each tradition's starting style code is pushed away from the mean "
        "of the model's traditions (0: each tradition's mean artwork embedding; default: "
        "the preset's, painter 1, others 0; no effect with one tradition)",
        low=0.0, high=4.0, label="Style contrast")
    style_evenness: float | None = knob(
        None, "how evenly the traditions' starting style codes are spread before the "
        "contrast: 0 as their artworks place them, 1 every pair equally far apart, so two "
        "traditions that differ in one minor direction part (three or more traditions; "
        "default: the preset's, painter 1, others 0)",
        low=0.0, high=1.0, label="Style evenness")
    lambda_brushwork: float | None = knob(
        None, "weight of the brushwork term: distribution of the output's luminance "
        "gradients (3 scales) vs its tradition's artworks: flat areas and contours, or "
        "strokes (default: the preset's, painter 1, others 0)", low=0.0, high=100.0,
        label="Brushwork")
    lambda_wrong_head: float = knob(
        0.5, "multistyle: weight of each critic head learning that another tradition's "
        "artworks are not its own (what sets the traditions apart)", low=0.0, high=10.0,
        label="Tell apart")
    wrong_head_nearest: float = knob(
        0.0, "multistyle: share of those 'not this tradition' examples drawn from the "
        "closest other tradition (by mean style embedding) instead of any other",
        low=0.0, high=1.0, label="Tell apart: nearest")
    lambda_cycle: float = 10.0
    lambda_identity: float = 0.5
    pool_size: int = 50
    preview_every: int = 50
    n_previews: int = 4
    checkpoint_every: int = 200
    keep_last: int = 3
    metrics_every: int = 0  # 0: off
    content_pipeline: PipelineConfig = field(default_factory=PipelineConfig)
    style_pipeline: PipelineConfig = field(default_factory=PipelineConfig)
    # multistyle only: a trained multi-style model file to extend with the traditions in
    # ``styles`` (fine-tunes only their embeddings; the model's traditions stay unchanged)
    init_model: str = ""

    def validate(self) -> None:
        if self.method not in METHODS:
            raise ConfigError(
                f"Unknown method {self.method!r}; choose one of {', '.join(METHODS)}."
            )
        if self.gan_loss not in GAN_LOSSES:
            raise ConfigError(f"Unknown GAN loss {self.gan_loss!r}; choose lsgan or hinge.")
        if self.size < 16 or self.size % 4:
            raise ConfigError(f"Training size {self.size} must be at least 16 and a multiple of 4.")
        if self.steps < 1:
            raise ConfigError("Steps must be at least 1.")
        if self.batch_size < 1:
            raise ConfigError("Batch size must be at least 1.")
        if not self.lr > 0:
            raise ConfigError("Learning rate must be positive.")
        if not self.styles:
            raise ConfigError("Give at least one style source (a folder of artworks).")
        if self.method != "multistyle" and len(self.styles) != 1:
            raise ConfigError(
                f"Method {self.method} learns one style; got {len(self.styles)}. "
                "Use the multistyle method to learn several traditions in one model."
            )
        for f in fields(self):
            if f.metadata.get("knob"):
                _check_knob(f, getattr(self, f.name))
        if self.method not in methods_for_preset(self.preset):
            raise ConfigError(
                f"The {self.preset} preset trains with the "
                f"{' or '.join(methods_for_preset(self.preset))} method (it learns one "
                "tradition as well as several); choose that method or another preset."
            )
        if self.init_model and self.method != "multistyle":
            raise ConfigError("Only the multistyle method can extend a trained model (init_model).")
        if not self.content_paths:
            raise ConfigError("Give at least one content source (a folder of photos).")

    def with_resolved_defaults(self) -> TrainConfig:
        """A copy whose recipe knobs left at None hold what they train with now
        (:func:`default_knob_values`): what a run saves, so that resuming it keeps its
        recipe when a later version changes a default."""
        from dataclasses import replace

        defaults = default_knob_values(self.method, self.preset)
        chosen = {
            f.name: defaults[f.name]
            for f in recipe_knobs()
            if getattr(self, f.name) is None and f.name in defaults
        }
        return replace(self, **chosen)

    # -- JSON -----------------------------------------------------------
    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> TrainConfig:
        data = dict(data)
        known = {f.name for f in fields(cls)}
        data = {k: v for k, v in data.items() if k in known}
        data["styles"] = [StyleSource(**s) for s in data.get("styles", [])]
        for key in ("content_pipeline", "style_pipeline"):
            if isinstance(data.get(key), dict):
                p = dict(data[key])
                p["rotations"] = tuple(p.get("rotations", ()))
                data[key] = PipelineConfig(**p)
        return cls(**data)

    def save(self, path: Path) -> None:
        from .atomic import write_text_atomic

        write_text_atomic(path, json.dumps(self.to_dict(), indent=2))

    @classmethod
    def load(cls, path: Path) -> TrainConfig:
        return cls.from_dict(json.loads(Path(path).read_text(encoding="utf-8")))


def recipe_knobs() -> list:
    """The recipe settings of :class:`TrainConfig` (dataclass fields with knob metadata)."""
    return [f for f in fields(TrainConfig) if f.metadata.get("knob")]


def knob_value_type(f: Field) -> type:
    """The Python type a knob's value has (its annotation, optional or not)."""
    text = str(f.type).replace(" ", "")
    for name, kind in (("float", float), ("int", int), ("bool", bool)):
        if text.startswith(name):
            return kind
    return str


@dataclass(frozen=True)
class KnobSpec:
    """A recipe knob as a form shows it: what to edit, its range and its default."""

    name: str  # the TrainConfig field
    label: str
    help: str
    kind: str  # "float" | "int" | "bool" | "choice" (one of) | "options" (any of) | "text"
    default: Any
    optional: bool  # None is a value: "the method's default"
    low: float | None = None
    high: float | None = None
    choices: tuple[str, ...] = ()  # of a "choice" or an "options" knob


def describe_knobs() -> tuple[KnobSpec, ...]:
    """Every recipe knob as a :class:`KnobSpec`, in TrainConfig's order."""
    specs = []
    for f in recipe_knobs():
        meta = f.metadata
        value_type = knob_value_type(f)
        if meta.get("options"):
            kind, choices = "options", tuple(meta["options"])
        elif meta.get("choices"):
            kind, choices = "choice", tuple(meta["choices"])
        else:
            kind = {float: "float", int: "int", bool: "bool"}.get(value_type, "text")
            choices = ()
        specs.append(
            KnobSpec(
                name=f.name,
                label=meta.get("label") or f.name.replace("_", " "),
                help=meta["help"],
                kind=kind,
                default=f.default,
                optional=f.default is None or "None" in str(f.type),
                low=meta.get("low"),
                high=meta.get("high"),
                choices=choices,
            )
        )
    return tuple(specs)


def _check_knob(f, value) -> None:
    meta = f.metadata
    if value is None:
        return
    if meta.get("choices") and value not in meta["choices"]:
        raise ConfigError(f"{f.name} must be one of {', '.join(meta['choices'])}, not {value!r}.")
    if meta.get("options"):
        what = "DiffAugment policy" if f.name == "diffaugment" else f"{f.name} option"
        try:
            split_options(value, meta["options"], what)
        except ValueError as exc:
            raise ConfigError(str(exc)) from None
        return
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        low, high = meta.get("low"), meta.get("high")
        if (low is not None and value < low) or (high is not None and value > high):
            raise ConfigError(f"{f.name} must be between {low:g} and {high:g}, not {value:g}.")
