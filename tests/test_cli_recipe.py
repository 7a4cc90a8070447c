"""Every recipe knob of TrainConfig is a ``ganstyle-cli train`` flag, and a model card's
recorded command reproduces the recipe."""

from __future__ import annotations

import argparse
import shlex
from pathlib import Path

import pytest
from PIL import Image

from ganstyle_desktop.cli import train_cmd
from ganstyle_desktop.engine.config import recipe_knobs


@pytest.fixture()
def folders(tmp_path: Path) -> tuple[Path, Path]:
    style, content = tmp_path / "ukiyo", tmp_path / "photos"
    for folder in (style, content):
        folder.mkdir()
        for i in range(2):
            Image.new("RGB", (32, 32), (i * 90, 40, 200)).save(folder / f"{i}.png")
    return style, content


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser()
    train_cmd.add_parser(parser.add_subparsers())
    return parser


def test_every_knob_has_a_flag() -> None:
    help_text = _parser()._subparsers._group_actions[0].choices["train"].format_help()
    for f in recipe_knobs():
        assert train_cmd.knob_flag(f) in help_text


def test_flags_reach_the_config_and_the_command_reproduces_it(folders, tmp_path) -> None:
    style, content = folders
    argv = ["train", "--style", str(style), "--content", str(content), "--out",
            str(tmp_path / "run"), "--lambda-critic", "2", "--diffaugment", "translation",
            "--d-scales", "2", "--style-loss", "gram", "--lambda-nce", "3.5"]
    config = train_cmd.build_config(_parser().parse_args(argv))
    assert (config.lambda_critic, config.diffaugment, config.d_scales) == (2.0, "translation", 2)
    assert (config.style_loss, config.lambda_nce) == ("gram", 3.5)
    assert config.lambda_style == 0.0  # untouched knobs keep TrainConfig's defaults
    again = train_cmd.build_config(
        _parser().parse_args(shlex.split(train_cmd.command_line(config, None))[1:])
    )
    for f in recipe_knobs():
        assert getattr(again, f.name) == getattr(config, f.name), f.name


def test_a_knob_out_of_range_is_refused_with_its_name(folders, tmp_path) -> None:
    style, content = folders
    argv = ["train", "--style", str(style), "--content", str(content), "--out",
            str(tmp_path / "run"), "--lambda-style", "-1"]
    with pytest.raises(train_cmd.CliError, match="lambda_style"):
        train_cmd.build_config(_parser().parse_args(argv))
