"""The recipe knobs as forms read them (engine.config.describe_knobs): one description per
TrainConfig knob, taken from its metadata, and a check of settings that needs no torch."""

from __future__ import annotations

import subprocess
import sys

import pytest

from ganstyle_desktop.engine.config import (
    DIFFAUGMENT_POLICIES,
    ConfigError,
    StyleSource,
    TrainConfig,
    describe_knobs,
    recipe_knobs,
)


def _config(**kw) -> TrainConfig:
    return TrainConfig(styles=[StyleSource("a")], content_paths=["x"], out_dir="o", **kw)


def test_every_knob_is_described_from_its_metadata() -> None:
    specs = {s.name: s for s in describe_knobs()}
    fields = recipe_knobs()
    assert list(specs) == [f.name for f in fields]  # TrainConfig's order, none left out
    for f in fields:
        spec = specs[f.name]
        assert spec.default == f.default and spec.help == f.metadata["help"]
        assert (spec.low, spec.high) == (f.metadata["low"], f.metadata["high"])
        assert spec.label
    assert specs["diffaugment"].kind == "options"
    assert specs["diffaugment"].choices == DIFFAUGMENT_POLICIES
    assert specs["style_loss"].kind == "choice" and "gram" in specs["style_loss"].choices
    assert specs["lambda_gan"].kind == "float" and not specs["lambda_gan"].optional
    assert specs["d_scales"].kind == "int" and (specs["d_scales"].low, specs["d_scales"].high) == (
        1,
        4,
    )
    assert specs["lambda_nce"].optional and specs["lambda_nce"].default is None


def test_options_are_checked_by_name() -> None:
    _config(diffaugment="").validate()
    _config(diffaugment="cutout, color").validate()
    with pytest.raises(ConfigError, match="DiffAugment policy 'blur'"):
        _config(diffaugment="translation,blur").validate()


def test_checking_settings_needs_no_torch() -> None:
    # The Training panel checks its form in the GUI thread, before torch is loaded.
    code = (
        "import sys\n"
        "from ganstyle_desktop.engine.config import StyleSource, TrainConfig, describe_knobs\n"
        "describe_knobs()\n"
        "TrainConfig([StyleSource('a')], ['x'], 'o', diffaugment='color').validate()\n"
        "print('torch' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_augment_applies_the_policies_config_names() -> None:
    from ganstyle_desktop.engine import augment

    assert augment.POLICIES == DIFFAUGMENT_POLICIES
    assert augment.parse_policy("translation") == ["translation"]


def test_every_optional_knob_has_a_default_for_every_method_and_preset() -> None:
    """What None means comes from one table; a knob without an entry would train with a
    value nobody wrote down, and a saved run could not write it out."""
    from ganstyle_desktop.engine.config import (
        METHOD_NCE,
        PRESET_METHODS,
        TrainConfig,
        default_knob_values,
    )
    from ganstyle_desktop.engine.presets import PRESETS

    optional = [s.name for s in describe_knobs() if s.optional]
    assert optional
    for preset in PRESETS:
        for method in PRESET_METHODS.get(preset, (*METHOD_NCE, "cyclegan")):
            values = default_knob_values(method, preset)
            assert set(optional) <= set(values), (method, preset)
            config = TrainConfig(styles=[], content_paths=[], out_dir="", method=method,
                                 preset=preset).with_resolved_defaults()
            assert {n: getattr(config, n) for n in optional} == {n: values[n] for n in optional}
    set_by_hand = TrainConfig(styles=[], content_paths=[], out_dir="", lambda_teacher=3.0)
    assert set_by_hand.with_resolved_defaults().lambda_teacher == 3.0  # kept
