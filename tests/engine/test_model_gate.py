"""One gate for model files: hostile headers, cards and weights are refused with a typed,
clear error (InvalidModelFile) by every reader, before any network is built, and quickly:
never a RecursionError, a RuntimeError from a constructor, minutes of work or a black image."""

from __future__ import annotations

import json
import math
import os
import re
import struct
import time
from pathlib import Path

import pytest
import torch

from ganstyle_desktop.engine import modelfile
from ganstyle_desktop.engine.modelfile import (
    InvalidModelFile,
    ModelCard,
    load_model,
    read_card,
    save_model,
    verify_model_file,
)
from ganstyle_desktop.engine.nets import GeneratorSpec, ResnetGenerator

SPEC = GeneratorSpec(width=4, n_blocks=1, n_down=2, separable=True)


def _state() -> dict[str, torch.Tensor]:
    torch.manual_seed(0)
    return {k: v.clone() for k, v in ResnetGenerator(SPEC).state_dict().items()}


def _card_dict(**changes) -> dict:
    card = ModelCard(
        name="gate test",
        method="fastcut",
        architecture={"generator": "resnet", "spec": SPEC.to_dict()},
        traditions=[{"slug": "ink", "name": "Ink"}],
    ).to_dict()
    card.update(changes)
    return card


def _write(path: Path, state: dict, card: dict | str) -> Path:
    from safetensors.torch import save_file

    text = card if isinstance(card, str) else json.dumps(card)
    save_file(state, str(path), metadata={"ganstyle_card": text, "format": "pt"})
    return path


def _raw_header_file(path: Path, header_text: str) -> Path:
    raw = header_text.encode()
    path.write_bytes(struct.pack("<Q", len(raw)) + raw)
    return path


def _spec_card(**spec) -> dict:
    return _card_dict(architecture={"generator": "resnet", "spec": SPEC.to_dict() | spec})


def _multistyle_card(**arch) -> dict:
    base = {
        "generator": "multistyle",
        "spec": SPEC.to_dict(),
        "traditions": ["a", "b"],
        "style_dim": 8,
        "mlp_hidden": 8,
    }
    return _card_dict(kind="multistyle", architecture=base | arch)


HOSTILE_CARDS = {
    "width 200000": _spec_card(width=200_000),
    "40 downsamplings": _spec_card(n_down=40),
    "negative width": _spec_card(width=-4),
    "a million blocks": _spec_card(n_blocks=1_000_000),
    "width as text": _spec_card(width="64"),
    "boolean width": _spec_card(width=True),
    "separable as a number": _spec_card(separable=3),
    "five input channels": _spec_card(in_channels=5),
    "style_dim 2e9": _multistyle_card(style_dim=2_000_000_000),
    "mlp_hidden 2e9": _multistyle_card(mlp_hidden=2_000_000_000),
    "100000 traditions": _multistyle_card(traditions=[f"t{i}" for i in range(100_000)]),
}


@pytest.mark.parametrize("case", sorted(HOSTILE_CARDS))
def test_architecture_out_of_bounds_is_refused_before_any_network_is_built(
    tmp_path: Path, monkeypatch, case: str
) -> None:
    path = _write(tmp_path / "m.safetensors", _state(), HOSTILE_CARDS[case])
    built = []
    for kind in ("resnet", "multistyle"):
        builder = modelfile._builder_for(kind)
        monkeypatch.setitem(
            modelfile._BUILDERS, kind, lambda arch, b=builder: built.append(arch) or b(arch)
        )
    for reader in (read_card, verify_model_file, load_model):
        started = time.perf_counter()
        with pytest.raises(InvalidModelFile) as info:
            reader(path)
        assert time.perf_counter() - started < 2.0
        assert str(info.value).startswith("m.safetensors: ") and "architecture" in str(info.value)
    assert built == []


@pytest.mark.parametrize("where", ["header", "card"])
def test_deeply_nested_json_is_invalid_not_a_recursion_error(tmp_path: Path, where: str) -> None:
    deep = "[" * 100_000 + "]" * 100_000
    if where == "header":
        path = _raw_header_file(tmp_path / "m.safetensors", '{"x": ' + deep + "}")
    else:
        path = _write(tmp_path / "m.safetensors", _state(), '{"format": ' + deep + "}")
    for reader in (read_card, verify_model_file, load_model):
        with pytest.raises(InvalidModelFile, match="nested too deeply"):
            reader(path)
    moderately = _card_dict(metrics={"a": json.loads("[" * 200 + "]" * 200)})
    path = _write(tmp_path / "n.safetensors", _state(), moderately)
    with pytest.raises(InvalidModelFile, match="nested too deeply"):
        read_card(path)


def test_an_oversized_card_is_refused(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(modelfile, "MAX_CARD_BYTES", 10_000)
    card = _card_dict(data_provenance=[{"path": "x" * 100}] * 200)
    path = _write(tmp_path / "m.safetensors", _state(), card)
    with pytest.raises(InvalidModelFile, match="card is too large"):
        read_card(path)


@pytest.mark.parametrize(
    "field, value",
    [
        ("name", 5),
        ("training", ["not", "an", "object"]),
        ("metrics", "fast"),
        ("steps", -1),
        ("training_size", "big"),
        ("direction", "sideways"),
        ("kind", "both"),
        ("data_provenance", [1, 2]),
    ],
)
def test_card_fields_of_the_wrong_type_are_invalid(tmp_path: Path, field: str, value) -> None:
    path = _write(tmp_path / "m.safetensors", _state(), _card_dict(**{field: value}))
    with pytest.raises(InvalidModelFile, match=field):
        read_card(path)


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_non_finite_weights_are_refused(tmp_path: Path, bad: float) -> None:
    state = _state()
    name = sorted(state)[3]
    state[name].view(-1)[0] = bad
    path = _write(tmp_path / "m.safetensors", state, _card_dict())
    read_card(path)  # the header alone is fine: listing a folder stays cheap
    for reader in (verify_model_file, load_model):
        with pytest.raises(InvalidModelFile, match=f"values in {re.escape(name)} are not finite"):
            reader(path)


def test_tensors_that_do_not_match_the_card_are_caught_from_the_header(tmp_path: Path) -> None:
    state = _state()
    state.pop(sorted(state)[0])
    path = _write(tmp_path / "m.safetensors", state, _card_dict())
    for reader in (read_card, verify_model_file):
        with pytest.raises(InvalidModelFile, match="do not match"):
            reader(path)


def test_a_good_model_passes_every_gate(tmp_path: Path) -> None:
    torch.manual_seed(1)
    generator = ResnetGenerator(SPEC)
    path = save_model(tmp_path / "m.safetensors", generator, ModelCard(name="good"))
    assert read_card(path).name == "good"
    verified = verify_model_file(path)
    assert verified.card.name == "good"
    assert verified.parameters == sum(p.numel() for p in generator.state_dict().values())
    assert load_model(path).card.name == "good"


@pytest.mark.skipif(os.name != "posix", reason="POSIX special files")
def test_special_files_and_loops_are_refused_with_the_true_reason(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.safetensors"
    os.mkfifo(fifo)
    with pytest.raises(InvalidModelFile, match=r"not a regular file \(a FIFO"):
        read_card(fifo)
    loop = tmp_path / "loop.safetensors"
    loop.symlink_to(loop)
    with pytest.raises(InvalidModelFile, match="symbolic link loop"):
        load_model(loop)
    with pytest.raises(InvalidModelFile, match="no such file"):
        read_card(tmp_path / "missing.safetensors")
