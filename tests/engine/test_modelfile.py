"""Model files: safetensors + card round trips; pickles and damaged files are refused."""

from __future__ import annotations

import json
import os
import pickle
import struct
from pathlib import Path

import pytest
import torch
from torch import nn

from ganstyle_desktop.engine import modelfile
from ganstyle_desktop.engine.modelfile import (
    InvalidModelFile,
    ModelCard,
    StyleModel,
    UnsafeModelFile,
    list_model_files,
    load_model,
    model_display_name,
    read_card,
    register_generator_builder,
    save_model,
)
from ganstyle_desktop.engine.nets import GeneratorSpec, ResnetGenerator

SPEC = GeneratorSpec(width=4, n_blocks=1, n_down=2, separable=True)


def _generator(seed: int = 0) -> ResnetGenerator:
    torch.manual_seed(seed)
    gen = ResnetGenerator(SPEC)
    # Non-default norm affine parameters so a loader that skipped them would be caught.
    with torch.no_grad():
        for p in gen.parameters():
            p.add_(torch.randn_like(p) * 0.1)
    return gen.eval()


def _card(**overrides) -> ModelCard:
    values = dict(
        name="Ukiyo-e test",
        method="fastcut",
        preset="tiny",
        architecture={"generator": "resnet", "spec": SPEC.to_dict()},
        training_size=32,
        traditions=[{"slug": "japanese-ukiyo-e", "name": "Ukiyo-e", "culture": "Japanese"}],
        steps=3,
        data_provenance=[{"path": "a.jpg", "license_note": "public domain"}],
        metrics={"style_score": 0.5},
        training={"command": "test", "wall_seconds": 1.5, "hardware": "CPU"},
    )
    values.update(overrides)
    return ModelCard(**values)


class _Marker:
    """Unpickling this would create the file at ``path``."""

    def __init__(self, path: Path) -> None:
        self.path = str(path)

    def __reduce__(self):
        return (open, (self.path, "w"))


def test_round_trip_gives_identical_outputs_and_card(tmp_path: Path) -> None:
    gen = _generator()
    card = _card()
    path = save_model(tmp_path / "m.safetensors", gen, card)
    model = load_model(path)
    assert isinstance(model, StyleModel)
    assert not model.generator.training
    x = torch.rand(2, 3, 32, 32) * 2 - 1
    with torch.no_grad():
        assert torch.equal(gen(x), model.module_for()(x))
    loaded = model.card
    # The writer fills in version and date; everything the caller gave is unchanged.
    assert loaded.engine_version and loaded.created
    expected = card.to_dict() | {
        "engine_version": loaded.engine_version,
        "created": loaded.created,
    }
    assert loaded.to_dict() == expected
    assert read_card(path) == loaded
    assert model.traditions[0]["slug"] == "japanese-ukiyo-e"
    assert not model.is_multistyle
    # The sidecar is the same card, for people.
    sidecar = json.loads((tmp_path / "m.json").read_text(encoding="utf-8"))
    assert sidecar == loaded.to_dict()


def test_weights_are_saved_as_contiguous_float32_on_cpu(tmp_path: Path) -> None:
    from safetensors.torch import load_file

    gen = _generator().to(torch.float64)
    path = save_model(tmp_path / "m.safetensors", gen, _card())
    state = load_file(str(path))
    assert state and all(t.dtype == torch.float32 for t in state.values())
    model = load_model(path)
    assert next(model.generator.parameters()).dtype == torch.float32


def test_architecture_is_filled_in_for_a_resnet(tmp_path: Path) -> None:
    path = save_model(tmp_path / "m.safetensors", _generator(), _card(architecture={}))
    assert read_card(path).architecture == {"generator": "resnet", "spec": SPEC.to_dict()}
    load_model(path)


def test_single_style_module_ignores_blend(tmp_path: Path) -> None:
    path = save_model(tmp_path / "m.safetensors", _generator(), _card())
    model = load_model(path)
    assert model.module_for({"anything": 1.0}) is model.generator


def test_pickle_is_refused_and_never_executed(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    for name in ("evil.safetensors", "evil.pkl", "evil.dat"):
        path = tmp_path / name
        path.write_bytes(pickle.dumps(_Marker(marker), protocol=4))
        with pytest.raises(UnsafeModelFile, match="pickle") as info:
            load_model(path)
        assert name in str(info.value)
        with pytest.raises(UnsafeModelFile):
            read_card(path)
    # Protocol 0 pickles carry no PROTO opcode; they are refused too.
    path = tmp_path / "old.model"
    path.write_bytes(pickle.dumps(_Marker(marker), protocol=0))
    with pytest.raises(UnsafeModelFile):
        load_model(path)
    assert not marker.exists()


def test_torch_save_file_is_refused(tmp_path: Path) -> None:
    gen = _generator()
    for name in ("model.pt", "model.pth", "model.ckpt", "disguised.safetensors"):
        path = tmp_path / name
        torch.save(gen.state_dict(), path)
        with pytest.raises(UnsafeModelFile) as info:
            load_model(path)
        message = str(info.value)
        assert name in message and "PyTorch pickle" in message
        assert "never loads them" in message and "safetensors" in message


def test_pt_suffix_is_refused_even_with_safetensors_content(tmp_path: Path) -> None:
    path = save_model(tmp_path / "m.safetensors", _generator(), _card())
    renamed = path.rename(tmp_path / "m.pt")
    with pytest.raises(UnsafeModelFile, match=r"m\.pt"):
        load_model(renamed)


@pytest.mark.parametrize("keep", [3, 8, 20, 0.5, -10])
def test_truncated_file_names_the_file(tmp_path: Path, keep) -> None:
    path = save_model(tmp_path / "cut short.safetensors", _generator(), _card())
    data = path.read_bytes()
    n = int(len(data) * keep) if isinstance(keep, float) else keep if keep > 0 else len(data) + keep
    path.write_bytes(data[:n])
    with pytest.raises(InvalidModelFile, match="cut short.safetensors"):
        load_model(path)
    with pytest.raises(InvalidModelFile, match="cut short.safetensors"):
        read_card(path)


def test_empty_and_garbage_files_are_invalid(tmp_path: Path) -> None:
    empty = tmp_path / "empty.safetensors"
    empty.write_bytes(b"")
    with pytest.raises(InvalidModelFile, match="empty.safetensors"):
        read_card(empty)
    junk = tmp_path / "junk.safetensors"
    junk.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json at all}")
    with pytest.raises(InvalidModelFile, match="damaged"):
        read_card(junk)


def _with_card_json(tmp_path: Path, card_dict: dict | None, name: str) -> Path:
    from safetensors.torch import save_file

    path = tmp_path / name
    meta = {} if card_dict is None else {"ganstyle_card": json.dumps(card_dict)}
    save_file(_generator().state_dict(), str(path), metadata=meta)
    return path


def test_missing_card_is_invalid(tmp_path: Path) -> None:
    path = _with_card_json(tmp_path, None, "plain.safetensors")
    with pytest.raises(InvalidModelFile, match="no GANStyle model card"):
        load_model(path)


def test_newer_schema_asks_for_an_update(tmp_path: Path) -> None:
    data = _card().to_dict() | {"schema_version": 2, "new_field": 1}
    path = _with_card_json(tmp_path, data, "future.safetensors")
    with pytest.raises(InvalidModelFile, match="newer GANStyle.*update") as info:
        read_card(path)
    assert "future.safetensors" in str(info.value)


def test_unknown_generator_kind_asks_for_an_update(tmp_path: Path) -> None:
    data = _card().to_dict() | {"architecture": {"generator": "diffusion9000"}}
    path = _with_card_json(tmp_path, data, "alien.safetensors")
    assert read_card(path).architecture["generator"] == "diffusion9000"
    with pytest.raises(InvalidModelFile, match="diffusion9000"):
        load_model(path)


def test_wrong_tensors_are_invalid(tmp_path: Path) -> None:
    # A card for a wider generator than the weights: strict loading must fail by name.
    wide = GeneratorSpec(width=8, n_blocks=1, n_down=2, separable=True).to_dict()
    data = _card().to_dict() | {"architecture": {"generator": "resnet", "spec": wide}}
    path = _with_card_json(tmp_path, data, "mismatch.safetensors")
    with pytest.raises(InvalidModelFile, match="mismatch.safetensors.*do not match"):
        load_model(path)
    # A tensor missing from the file.
    from safetensors.torch import save_file

    state = _generator().state_dict()
    state.pop(next(iter(state)))
    short = tmp_path / "short.safetensors"
    save_file(state, str(short), metadata={"ganstyle_card": json.dumps(_card().to_dict())})
    with pytest.raises(InvalidModelFile, match="missing 1 tensors"):
        load_model(short)


def test_read_card_does_not_load_weights(tmp_path: Path, monkeypatch) -> None:
    path = save_model(tmp_path / "m.safetensors", _generator(), _card())

    def boom(*args, **kwargs):
        raise AssertionError("read_card loaded tensors")

    import safetensors.torch

    monkeypatch.setattr(safetensors.torch, "load_file", boom)
    monkeypatch.setattr(safetensors.torch, "load", boom)
    monkeypatch.setattr(safetensors, "safe_open", boom)
    # Zero the tensor bytes: a card read must not care what the weights are.
    header_len = struct.unpack("<Q", path.read_bytes()[:8])[0]
    data = bytearray(path.read_bytes())
    data[8 + header_len :] = bytes(len(data) - 8 - header_len)
    path.write_bytes(bytes(data))
    assert read_card(path).name == "Ukiyo-e test"


def test_failed_write_leaves_existing_model_and_no_temp_files(tmp_path: Path, monkeypatch) -> None:
    path = save_model(tmp_path / "m.safetensors", _generator(0), _card())
    before = path.read_bytes()
    sidecar_before = (tmp_path / "m.json").read_bytes()

    import safetensors.torch

    real_save_file = safetensors.torch.save_file

    def half_then_fail(tensors, filename, metadata=None):
        real_save_file(tensors, filename, metadata=metadata)
        with open(filename, "r+b") as fh:
            fh.truncate(100)  # a half-written file, then the writer dies
        raise OSError("disk full")

    monkeypatch.setattr(safetensors.torch, "save_file", half_then_fail)
    with pytest.raises(OSError, match="disk full"):
        save_model(path, _generator(1), _card(name="new"))
    assert path.read_bytes() == before
    assert (tmp_path / "m.json").read_bytes() == sidecar_before
    assert sorted(os.listdir(tmp_path)) == ["m.json", "m.safetensors"]
    assert load_model(path).card.name == "Ukiyo-e test"


def test_save_refuses_other_suffixes(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"\.safetensors"):
        save_model(tmp_path / "m.pt", _generator(), _card())


class _Blended(nn.Module):
    def __init__(self, n: int, blend=None) -> None:
        super().__init__()
        self.table = nn.Parameter(torch.arange(float(n)))
        self.blend = blend

    def with_blend(self, blend):
        return _BlendedView(self, blend)

    def forward(self, x):
        return x


class _BlendedView(nn.Module):
    def __init__(self, base, blend) -> None:
        super().__init__()
        self.base, self.blend = base, blend


def test_registered_builder_and_multistyle_blend(tmp_path: Path) -> None:
    register_generator_builder("test-blended", lambda arch: _Blended(arch["n_styles"]))
    try:
        card = _card(
            kind="multistyle",
            method="multistyle",
            architecture={"generator": "test-blended", "n_styles": 3},
        )
        gen = _Blended(3)
        with torch.no_grad():
            gen.table.mul_(7)
        path = save_model(tmp_path / "multi.safetensors", gen, card)
        model = load_model(path)
        assert model.is_multistyle
        assert torch.equal(model.generator.table, gen.table)
        view = model.module_for({"japanese-ukiyo-e": 1.0})
        assert view.blend == {"japanese-ukiyo-e": 1.0} and view.base is model.generator
    finally:
        modelfile._BUILDERS.pop("test-blended", None)


def test_list_model_files_skips_bad_ones(tmp_path: Path, caplog) -> None:
    good = save_model(tmp_path / "a" / "good.safetensors", _generator(), _card())
    (tmp_path / "a" / "broken.safetensors").write_bytes(b"\x00" * 4)
    (tmp_path / "a" / "evil.safetensors").write_bytes(pickle.dumps([1, 2]))
    (tmp_path / "a" / ".good.safetensors.tmp.safetensors").write_bytes(b"")
    (tmp_path / "a" / "notes.txt").write_text("x")
    with caplog.at_level("WARNING"):
        found = list_model_files([tmp_path / "a", tmp_path / "missing"])
    assert found == [good]
    assert "broken.safetensors" in caplog.text and "evil.safetensors" in caplog.text


def test_model_display_name() -> None:
    assert model_display_name(_card()) == "Ukiyo-e test"
    unnamed = _card(name="", traditions=[{"slug": "a", "name": "Ukiyo-e"}, {"slug": "b"}])
    assert model_display_name(unnamed) == "Ukiyo-e + b"
    assert model_display_name(_card(name="", traditions=[])) == "Unnamed model"
    assert "painting to photo" in model_display_name(_card(direction="style_to_photo"))


def test_card_from_dict_rejects_foreign_json() -> None:
    with pytest.raises(ValueError, match="ganstyle-model"):
        ModelCard.from_dict({"name": "x"})
    with pytest.raises(ValueError, match="schema_version"):
        ModelCard.from_dict(_card().to_dict() | {"schema_version": "1"})


def test_multistyle_model_loads_in_a_fresh_process(tmp_path: Path) -> None:
    """The multistyle builder registers itself when load_model needs it."""
    import subprocess
    import sys

    nets = pytest.importorskip("ganstyle_desktop.engine.multistyle_nets")
    spec = GeneratorSpec(width=4, n_blocks=1, n_down=2, separable=True)
    gen = nets.MultiStyleGenerator(spec, traditions=["ukiyo-e", "shan-shui"]).eval()
    card = _card(kind="multistyle", method="multistyle", architecture=gen.architecture())
    path = save_model(tmp_path / "multi.safetensors", gen, card)
    torch.manual_seed(0)
    x = torch.rand(1, 3, 16, 16) * 2 - 1
    with torch.no_grad():
        expected = gen.with_blend({"shan-shui": 1.0})(x)
    from safetensors.torch import save_file

    save_file({"x": x, "y": expected}, str(tmp_path / "io.safetensors"))
    script = (
        "import sys, torch\n"
        "from safetensors.torch import load_file\n"
        "from ganstyle_desktop.engine.modelfile import load_model\n"
        "assert 'ganstyle_desktop.engine.multistyle_nets' not in sys.modules\n"
        f"m = load_model({str(path)!r})\n"
        f"d = load_file({str(tmp_path / 'io.safetensors')!r})\n"
        "with torch.no_grad():\n"
        "    y = m.module_for({'shan-shui': 1.0})(d['x'])\n"
        "assert m.is_multistyle and torch.equal(y, d['y'])\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr


def test_rewrite_card_keeps_weights_bit_for_bit(tmp_path: Path) -> None:
    from dataclasses import replace

    from ganstyle_desktop.engine.modelfile import rewrite_card

    path = save_model(tmp_path / "m.safetensors", _generator(), _card())
    before = load_model(path)
    card = replace(before.card, name="Renamed", training={"command": "ganstyle-cli train"})
    rewrite_card(path, card)
    after = load_model(path)
    assert after.card == card
    assert json.loads((tmp_path / "m.json").read_text(encoding="utf-8"))["name"] == "Renamed"
    for (k1, v1), (k2, v2) in zip(
        before.generator.state_dict().items(), after.generator.state_dict().items(), strict=True
    ):
        assert k1 == k2 and torch.equal(v1, v2)
    assert sorted(os.listdir(tmp_path)) == ["m.json", "m.safetensors"]
    pickled = tmp_path / "p.safetensors"
    pickled.write_bytes(pickle.dumps([1]))
    with pytest.raises(UnsafeModelFile):
        rewrite_card(pickled, card)


def test_load_on_a_missing_device_says_so(tmp_path: Path) -> None:
    from ganstyle_desktop.engine.devices import DeviceUnavailable

    path = save_model(tmp_path / "m.safetensors", _generator(), _card())
    assert next(load_model(path, device="auto").generator.parameters()).device.type == "cpu"
    if torch.cuda.is_available():
        pytest.skip("needs a machine without CUDA")
    with pytest.raises(DeviceUnavailable, match="CUDA"):
        load_model(path, device="cuda")
