"""Built-in quality checks during training: held-apart photos, S and edge SSIM, best
checkpoint by S."""

from __future__ import annotations

from pathlib import Path

from training_setup import tiny_config, write_images

from ganstyle_desktop.engine.events import CheckpointSaved, LogMessage, MetricsComputed
from ganstyle_desktop.engine.quality_monitor import split_held_apart
from ganstyle_desktop.engine.trainer import Trainer


def test_one_photo_in_five_is_held_apart_when_enough_can_be_spared() -> None:
    files = [Path(f"p{i:02d}.jpg") for i in range(10)]
    train, held = split_held_apart(files)
    assert held == [Path("p04.jpg"), Path("p09.jpg")]
    assert len(train) == 8 and not set(train) & set(held)
    train, held = split_held_apart(files[:6])  # only one could be spared: not enough
    assert held == [] and train == sorted(files[:6])


def test_training_measures_held_apart_photos_and_marks_the_best(tmp_path: Path) -> None:
    write_images(tmp_path / "style", 4, seed=1)
    content = write_images(tmp_path / "content", 10, seed=2, size=(40, 48))
    config = tiny_config(tmp_path, steps=4, metrics_every=2, checkpoint_every=0)
    trainer = Trainer(config)
    events = list(trainer.run())

    info = [e.message for e in events if isinstance(e, LogMessage) and "Quality" in e.message]
    assert info and "2 held-apart photos" in info[0]
    held_names = {"img_4.png", "img_9.png"}
    assert all(name in info[0] for name in held_names)
    # The held-apart photos never reach the training images.
    trained = {Path(f).name for f in trainer_content_files(trainer)}
    assert trained and not trained & held_names and len(trained) == len(content) - 2

    metrics = [e for e in events if isinstance(e, MetricsComputed)]
    assert [m.step for m in metrics] == [2, 4]
    for m in metrics:
        assert 0.0 <= m.metrics["edge_ssim"] <= 1.0
    if any("style_score" in m.metrics for m in metrics):
        assert any(e.is_best for e in events if isinstance(e, CheckpointSaved))


def test_too_few_photos_turn_the_checks_off_with_a_reason(tmp_path: Path) -> None:
    events = list(Trainer(tiny_config(tmp_path, steps=2, metrics_every=1)).run())
    warnings = [e.message for e in events if isinstance(e, LogMessage) and e.level == "warning"]
    assert any("Quality checks are off" in w for w in warnings)
    assert not any(isinstance(e, MetricsComputed) for e in events)


def trainer_content_files(trainer: Trainer) -> list[Path]:
    # The trainer keeps its data loaders private; the held-apart split is visible through
    # the sources it loaded, which the preview batch draws from too.
    return list(trainer.content_files)
