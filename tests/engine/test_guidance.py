"""Outcome presets sized by measured speed, and the check before Start."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from training_setup import tiny_config, write_images

from ganstyle_desktop.engine import guidance
from ganstyle_desktop.engine.config import StyleSource
from ganstyle_desktop.engine.control import JobCancelled, JobControl
from ganstyle_desktop.engine.presets import DEFAULT_PRESET, PRESETS
from ganstyle_desktop.engine.provenance import is_noncommercial, is_tests_only, restricted_rows


def test_outcome_steps_fill_the_time_budget() -> None:
    good = guidance.outcome("good")
    # 30 min, less start-up, over the overhead factor, at 1.5 s a step: 1,032 -> 1,000
    expected = (good.budget_seconds - guidance.STARTUP_SECONDS) / guidance.OVERHEAD / 1.5
    steps = guidance.outcome_steps(good, 1.5)
    assert abs(steps - expected) / expected < 0.05 and steps == 1000
    estimated = guidance.estimate_seconds(steps, 1.5)
    assert abs(estimated - good.budget_seconds) / good.budget_seconds < 0.05
    # twice as fast: twice the steps; clamped at both ends
    assert guidance.outcome_steps(good, 0.75) == pytest.approx(2 * steps, rel=0.05)
    assert guidance.outcome_steps(good, 1e4) == good.min_steps
    assert guidance.outcome_steps(good, 1e-6) == good.max_steps
    quick = guidance.outcome("quick")
    assert (
        guidance.outcome_steps(quick, 1.5)
        < steps
        < guidance.outcome_steps(guidance.outcome("best"), 1.5)
    )


def test_outcomes_take_the_engines_presets_and_sizes(monkeypatch) -> None:
    default_size = guidance.TrainConfig(styles=[], content_paths=[], out_dir="").size
    good = guidance.outcome("good")
    assert guidance.outcome_preset(good) == DEFAULT_PRESET in PRESETS
    assert guidance.outcome_size(good) == default_size
    assert guidance.outcome_size(guidance.outcome("quick")) == default_size // 2
    prefers = guidance.Outcome("x", "X", 60, ("no-such-preset", "tiny"), 48, 1, 10, "")
    assert guidance.outcome_preset(prefers) == "tiny" and guidance.outcome_size(prefers) == 48
    missing = guidance.Outcome("y", "Y", 60, ("no-such-preset",), 0, 1, 10, "")
    assert guidance.outcome_preset(missing) == DEFAULT_PRESET
    labels = [o.label for o in guidance.OUTCOMES]
    assert labels == ["Quick look: ~5 min", "Good: ~30 min", "Best: hours"]


def test_an_outcome_takes_a_network_its_method_can_train() -> None:
    from ganstyle_desktop.engine.config import ConfigError, methods_for_preset

    good = guidance.outcome("good")
    for method in ("fastcut", "cut", "cyclegan", "multistyle"):
        preset = guidance.outcome_preset(good, method)
        assert preset in PRESETS and method in methods_for_preset(preset), method
    assert guidance.outcome_preset(good, "multistyle") == DEFAULT_PRESET
    assert "fastcut" not in methods_for_preset("painter")  # the case this is for
    assert guidance.outcome_preset(good, "fastcut") == "lite"
    with pytest.raises(ConfigError, match="painter preset trains with the multistyle method"):
        guidance.measure_seconds_per_step("fastcut", "painter", 32, steps=1, device="cpu")


def test_measuring_the_painter_sees_style_sets() -> None:
    # Its teacher term needs each tradition's mean style: measured on stand-in artworks.
    sample = guidance.measure_seconds_per_step("multistyle", "painter", 32, steps=1, device="cpu")
    assert sample.seconds_per_step > 0 and sample.preset == "painter"


def test_measuring_a_step_is_real_and_stoppable() -> None:
    sample = guidance.measure_seconds_per_step("fastcut", "tiny", 32, device="cpu", steps=2)
    assert 0 < sample.seconds_per_step < 30 and sample.size == 32
    assert sample.device_label.startswith("CPU")
    bigger = guidance.measure_seconds_per_step("fastcut", "tiny", 96, batch_size=2, steps=2)
    assert bigger.seconds_per_step > sample.seconds_per_step  # 18x the pixels
    control = JobControl()
    control.cancel()
    with pytest.raises(JobCancelled):
        guidance.measure_seconds_per_step("fastcut", "tiny", 32, control=control)


def test_the_check_counts_images_and_says_when_there_are_too_few(tmp_path: Path) -> None:
    config = tiny_config(tmp_path, steps=1000, preset="lite")  # 2 style images, 2 photos
    check = guidance.check_training(config, seconds_per_step=0.5, outcome_key="good")
    assert check.style_counts == {"Test style": 2} and check.content_count == 2
    assert check.level == "warning"
    assert any("only 2 images" in w for w in check.warnings)
    assert any("Only 2 photos" in w for w in check.warnings)
    assert check.estimated_seconds == pytest.approx(guidance.estimate_seconds(1000, 0.5))
    assert "about 10 min" in check.text()  # 20 s + 1000 x 0.5 s x 1.15
    assert "Expect a usable model" in check.text()
    config.preset = "tiny"
    assert "for tests" in guidance.check_training(config).text()
    # A machine too slow for the goal is told so (here 1,000 steps at 5 s: over an hour).
    slow = guidance.check_training(config, seconds_per_step=5.0, outcome_key="good")
    assert any("slower than “Good: ~30 min” allows" in w for w in slow.warnings)
    assert not any("slower than" in w for w in check.warnings)

    many = tmp_path / "many"
    write_images(many / "style", guidance.STYLE_ENOUGH, seed=3)
    write_images(many / "content", guidance.CONTENT_ENOUGH, seed=4)
    config.styles = [StyleSource("many", [str(many / "style")], display_name="Many")]
    config.content_paths = [str(many / "content")]
    ok = guidance.check_training(config)
    assert ok.level == "ok" and not ok.warnings, ok.warnings
    assert ok.estimated_seconds is None

    empty = tmp_path / "empty"
    empty.mkdir()
    config.content_paths = [str(empty)]
    assert guidance.check_training(config).level == "blocked"


def _manifest(folder: Path, note: str) -> None:
    files = write_images(folder / "styles" / "set", guidance.STYLE_ENOUGH, seed=5)
    with open(folder / "MANIFEST.csv", "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["path", "style_or_content", "license_note"])
        for f in files:
            writer.writerow([f.relative_to(folder).as_posix(), "set", note])


@pytest.mark.parametrize(
    ("note", "noncommercial", "tests_only"),
    [
        ("README marks content CC-BY-NC-SA-ND -> NON-COMMERCIAL, attribute", True, False),
        ("TESTS AND BENCHMARKS ONLY - do not ship models trained on these", False, True),
        ("Artwork public domain; repo site content licensed CC BY 3.0", False, False),
    ],
)
def test_the_check_warns_about_restricted_licences_from_the_manifest(
    tmp_path: Path, note: str, noncommercial: bool, tests_only: bool
) -> None:
    _manifest(tmp_path / "data", note)
    config = tiny_config(tmp_path)
    config.styles = [StyleSource("set", [str(tmp_path / "data" / "styles" / "set")])]
    check = guidance.check_training(config)
    assert bool(check.noncommercial) == noncommercial
    assert bool(check.tests_only) == tests_only
    if noncommercial:
        assert len(check.noncommercial) == guidance.STYLE_ENOUGH
        assert any("non-commercial" in w for w in check.warnings)
    if not (noncommercial or tests_only):
        assert not any("Licence" in w for w in check.warnings)


def test_dataset_provenance_rows_are_read_for_licences(tmp_path: Path) -> None:
    config = tiny_config(tmp_path)
    config.styles[0].provenance = [
        {"file": "/store/ab.jpg", "original_name": "miniature_1.jpg", "license": "CC BY-NC 4.0"}
    ]
    check = guidance.check_training(config)
    assert check.noncommercial == ["miniature_1.jpg"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("CC-BY-NC-SA-ND", True),
        ("CC BY-NC 4.0", True),
        ("for noncommercial use", True),
        ("Non commercial purposes", True),
        ("commercial use allowed", False),
        ("CC BY-SA 4.0", False),
        ("public domain", False),
    ],
)
def test_noncommercial_licence_words(text: str, expected: bool) -> None:
    assert is_noncommercial(text) is expected


def test_tests_only_words_and_rows() -> None:
    assert is_tests_only("tests/benchmarks only") and is_tests_only("research use only")
    assert not is_tests_only("used in tests of the project")
    nc, tests = restricted_rows(
        [
            {"path": "a.jpg", "license_note": "NON-COMMERCIAL"},
            {"path": "b.jpg", "license_note": "benchmarks only"},
            {"path": "c.jpg", "license_note": "CC0"},
        ]
    )
    assert (nc, tests) == (["a.jpg"], ["b.jpg"])


def test_durations_read_as_plans() -> None:
    assert guidance.format_duration(30) == "under a minute"
    assert guidance.format_duration(299) == "about 5 min"
    assert guidance.format_duration(3600 + 20 * 60) == "about 1 h 20 min"
    assert guidance.format_duration(7200) == "about 2 h"


def test_the_painter_is_promised_what_it_paints(tmp_path) -> None:
    from dataclasses import replace

    config = tiny_config(tmp_path)
    painter = guidance.expectation(replace(config, method="multistyle", preset="painter"))
    assert "first minutes" in painter and "hard-edged colour fields are beyond it" in painter
    lite = guidance.expectation(replace(config, preset="lite", steps=50))
    assert lite != painter and "first minutes" not in lite
    # a goal's own words do not override what the painter does
    assert guidance.expectation(replace(config, preset="painter"), "good") == painter
