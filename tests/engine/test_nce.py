"""PatchNCE against a reference written from Park et al. 2020 (see method_references.py):
the loss value, the sampled locations (the same for queries and keys), the positive kept
out of the negatives, the temperature, and FastCUT's flip-back."""

from __future__ import annotations

import pytest
import torch
from method_references import clone_generator, nce_loss, patch_nce, sample_locations
from torch.nn import functional as F

from ganstyle_desktop.engine.methods.weights import init_weights
from ganstyle_desktop.engine.nce import PatchNCE, PatchSampleMLP, patch_nce_loss
from ganstyle_desktop.engine.nets import GeneratorSpec, ResnetGenerator

SPEC = GeneratorSpec(width=4, n_blocks=2, n_down=2, separable=True)
TAU = 0.07


@pytest.fixture(autouse=True)
def _one_torch_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _unit(*shape: int, seed: int) -> torch.Tensor:
    return F.normalize(torch.randn(*shape, generator=torch.Generator().manual_seed(seed)), dim=-1)


def _image(seed: int, n: int = 2, side: int = 32) -> torch.Tensor:
    return torch.rand(n, 3, side, side, generator=torch.Generator().manual_seed(seed)) * 2 - 1


def _generator_and_nce(num_patches: int = 24, spec: GeneratorSpec = SPEC):
    gen = ResnetGenerator(spec)
    init_weights(gen, torch.Generator().manual_seed(0))
    nce = PatchNCE(gen, num_patches=num_patches, nc=16, tau=TAU)
    init_weights(nce, torch.Generator().manual_seed(1))
    return gen, nce


@pytest.mark.parametrize("tau", [TAU, 0.5])
def test_loss_is_the_infonce_of_the_definition(tau: float) -> None:
    q, k = _unit(2, 12, 8, seed=0), _unit(2, 12, 8, seed=1)
    expected = nce_loss(q, k, tau)
    torch.testing.assert_close(patch_nce_loss(q, k, tau), expected, rtol=1e-5, atol=1e-6)
    # Queries that equal their keys: the positive dominates, unless it is also counted
    # as a negative (then the loss would be about log 2 instead of about 0).
    perfect = patch_nce_loss(k, k, tau)
    torch.testing.assert_close(perfect, nce_loss(k, k, tau), rtol=1e-5, atol=1e-6)


def test_loss_uses_the_default_temperature_of_the_paper() -> None:
    q, k = _unit(1, 10, 8, seed=2), _unit(1, 10, 8, seed=3)
    torch.testing.assert_close(patch_nce_loss(q, k), nce_loss(q, k, 0.07), rtol=1e-5, atol=1e-6)


def test_negatives_come_from_the_same_image_only() -> None:
    q, k = _unit(2, 6, 4, seed=4), _unit(2, 6, 4, seed=5)
    batch = patch_nce_loss(q, k, TAU)
    one_by_one = (patch_nce_loss(q[:1], k[:1], TAU) + patch_nce_loss(q[1:], k[1:], TAU)) / 2
    torch.testing.assert_close(batch, one_by_one, rtol=1e-5, atol=1e-6)


def test_keys_are_not_trained_through() -> None:
    q = _unit(1, 6, 4, seed=6).requires_grad_(True)
    k = _unit(1, 6, 4, seed=7).requires_grad_(True)
    patch_nce_loss(q, k, TAU).backward()
    assert q.grad is not None and q.grad.abs().sum() > 0
    assert k.grad is None


def test_module_loss_matches_the_reference_sampling_and_heads() -> None:
    gen, nce = _generator_and_nce()
    source, target = _image(0), _image(1)
    rng = torch.Generator().manual_seed(3)
    twin = clone_generator(rng)
    got = nce.loss(gen, source, target, rng)
    expected = patch_nce(gen.encode, nce.mlp.mlps, source, target, twin, 24, TAU)
    torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-6)
    # The same random numbers were used: one location draw per tap, nothing else.
    assert torch.equal(torch.rand(4, generator=rng), torch.rand(4, generator=twin))


def test_queries_are_taken_at_the_keys_locations() -> None:
    """An output equal to its input matches itself at every sampled location."""
    gen, nce = _generator_and_nce()
    x = _image(2)
    rng = torch.Generator().manual_seed(4)
    got = nce.loss(gen, x, x, rng)
    expected = patch_nce(gen.encode, nce.mlp.mlps, x, x, torch.Generator().manual_seed(4), 24, TAU)
    torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-6)
    # And the sampler hands the queries exactly the keys' ids.
    feats = gen.encode(x)
    keys, ids = nce.mlp(feats, 24, generator=torch.Generator().manual_seed(5))
    queries, ids_q = nce.mlp(feats, 24, patch_ids=ids)
    for tap, (feat, tap_ids) in enumerate(zip(feats, ids, strict=True)):
        locations = sample_locations(
            feat.shape[2], feat.shape[3], 24, torch.Generator().manual_seed(5)
        )
        if tap == 0:
            assert [(int(i) // feat.shape[3], int(i) % feat.shape[3]) for i in tap_ids] == locations
        assert torch.equal(ids_q[tap], tap_ids)
        torch.testing.assert_close(queries[tap], keys[tap])


def test_flipped_translations_are_flipped_back() -> None:
    gen, nce = _generator_and_nce()
    x = _image(6)
    mirrored = torch.flip(x, dims=[3])  # what a flip-equivariant G(flip(x)) would give
    got = nce.loss(gen, x, mirrored, torch.Generator().manual_seed(7), flip_target=True)
    expected = patch_nce(
        gen.encode,
        nce.mlp.mlps,
        x,
        mirrored,
        torch.Generator().manual_seed(7),
        24,
        TAU,
        flipped=True,
    )
    torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-6)
    unflipped = nce.loss(gen, x, mirrored, torch.Generator().manual_seed(7), flip_target=False)
    assert got < unflipped  # flipped back, the pixel tap matches exactly


def test_every_tap_counts_once_in_the_mean() -> None:
    """A one-block generator names its block twice (middle and last): one tap, one term."""
    spec = GeneratorSpec(width=4, n_blocks=1, n_down=2, separable=True)
    gen, nce = _generator_and_nce(spec=spec)
    assert len(set(gen.nce_layer_ids)) < len(gen.nce_layer_ids)
    source, target = _image(8), _image(9)
    got = nce.loss(gen, source, target, torch.Generator().manual_seed(1))
    expected = patch_nce(
        gen.encode, nce.mlp.mlps, source, target, torch.Generator().manual_seed(1), 24, TAU
    )
    torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-6)


def test_sampler_shapes_and_norms() -> None:
    mlp = PatchSampleMLP([3, 8])
    feats = [torch.randn(2, 3, 8, 8), torch.randn(2, 8, 4, 4)]
    out, ids = mlp(feats, num_patches=10, generator=torch.Generator().manual_seed(1))
    assert [o.shape for o in out] == [(2, 10, 256), (2, 10, 256)]
    assert len(ids[1]) == 10 and len(set(ids[1].tolist())) == 10
    assert torch.allclose(out[0].norm(dim=-1), torch.ones(2, 10), atol=1e-5)
    # A map smaller than num_patches gives all of its locations.
    out, ids = mlp([feats[0], torch.randn(2, 8, 2, 2)], 10, generator=torch.Generator())
    assert sorted(ids[1].tolist()) == [0, 1, 2, 3]
