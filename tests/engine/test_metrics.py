"""Metrics without pretrained networks: they separate what they should, on synthetic sets."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from ganstyle_desktop.engine import metrics
from ganstyle_desktop.engine.metrics import (
    MetricsError,
    edge_ssim,
    evaluate_model,
    palette_distance,
    random_feature_kid,
    split_halves,
    srgb_to_lab,
    style_score,
    swd,
)
from ganstyle_desktop.engine.modelfile import ModelCard, StyleModel
from ganstyle_desktop.engine.nets import GeneratorSpec, ResnetGenerator

SIZE = 64


@pytest.fixture(autouse=True)
def _one_torch_thread():
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


def painting(rng: np.random.Generator, size: int = SIZE) -> np.ndarray:
    """A 'style': warm palette, hard-edged stripes at a random angle and random frequency."""
    y, x = np.mgrid[0:size, 0:size].astype(np.float32)
    angle, freq = rng.uniform(0, np.pi), rng.uniform(0.3, 0.6)
    stripes = (np.sin((x * np.cos(angle) + y * np.sin(angle)) * freq) > 0).astype(np.float32)
    warm = np.array([200, 90, 30], np.float32) * rng.uniform(0.8, 1.1)
    dark = np.array([40, 20, 60], np.float32)
    img = stripes[..., None] * warm + (1 - stripes[..., None]) * dark
    return np.clip(img + rng.normal(0, 6, img.shape), 0, 255).astype(np.uint8)


def photo(rng: np.random.Generator, size: int = SIZE) -> np.ndarray:
    """A 'photo': smooth cool colour fields with mild sensor noise."""
    coarse = (rng.random((4, 4, 3)) * np.array([120, 160, 255])).astype(np.uint8)
    img = np.asarray(Image.fromarray(coarse).resize((size, size), Image.Resampling.BICUBIC))
    return np.clip(img + rng.normal(0, 3, img.shape), 0, 255).astype(np.uint8)


@pytest.fixture(scope="module")
def sets() -> dict[str, list[np.ndarray]]:
    rng = np.random.default_rng(0)
    return {
        "style": [painting(rng) for _ in range(12)],
        "more_style": [painting(rng) for _ in range(12)],
        "photos": [photo(rng) for _ in range(12)],
        "more_photos": [photo(rng) for _ in range(12)],
    }


def test_swd_of_identical_sets_is_near_zero(sets) -> None:
    style, photos = sets["style"], sets["photos"]
    same = swd(style, style, SIZE)
    assert same == pytest.approx(0.0, abs=1e-6) and swd(style, photos, SIZE) > 10
    # Seeded: the same call gives the same number.
    assert swd(style, photos, SIZE, seed=3) == swd(style, photos, SIZE, seed=3)


def test_style_score_is_near_one_for_the_style_and_zero_for_photos(sets) -> None:
    style, photos = sets["style"], sets["photos"]
    # New samples of the same style (not used to build S) score about 1.
    s_style = style_score(sets["more_style"], style, photos, SIZE)["style_score"]
    assert 0.6 < s_style < 1.4
    # Photos score 0 by definition; other photos of the same kind near 0.
    assert style_score(photos, style, photos, SIZE)["style_score"] == pytest.approx(0.0)
    s_photos = style_score(sets["more_photos"], style, photos, SIZE)["style_score"]
    assert abs(s_photos) < 0.3
    # Half-way images land in between.
    halfway = [
        ((p.astype(np.uint16) + s) // 2).astype(np.uint8)
        for p, s in zip(sets["more_photos"], sets["more_style"], strict=True)
    ]
    s_half = style_score(halfway, style, photos, SIZE)["style_score"]
    assert s_photos < s_half < s_style


def test_style_score_is_undefined_when_photos_look_like_the_style(sets) -> None:
    style = sets["style"]
    # "Photos" that are the style set itself sit closer to half B than half A does.
    assert np.isnan(style_score(style, style, style, SIZE)["style_score"])


def test_split_halves_needs_two_images(sets) -> None:
    a, b = split_halves(sets["style"])
    assert len(a) + len(b) == 12 and not any(x is y for x in a for y in b)
    with pytest.raises(MetricsError):
        split_halves(sets["style"][:1])


def test_edge_ssim_is_one_for_itself_and_low_for_noise(sets) -> None:
    photos = sets["style"][:4]
    assert edge_ssim(photos, photos) == pytest.approx(1.0, abs=1e-6)
    rng = np.random.default_rng(1)
    noise = [rng.integers(0, 256, p.shape, dtype=np.uint8) for p in photos]
    assert edge_ssim(photos, noise) < 0.3
    # A colour change that keeps the edges keeps most of the score.
    recoloured = [p[:, :, ::-1].copy() for p in photos]
    assert edge_ssim(photos, recoloured) > edge_ssim(photos, noise)


def test_srgb_to_lab_reference_values() -> None:
    lab = srgb_to_lab(np.array([[255, 255, 255], [0, 0, 0], [255, 0, 0]], np.uint8))
    np.testing.assert_allclose(lab[0], [100.0, 0.0, 0.0], atol=0.01)
    np.testing.assert_allclose(lab[1], [0.0, 0.0, 0.0], atol=0.01)
    np.testing.assert_allclose(lab[2], [53.24, 80.09, 67.20], atol=0.05)


def test_palette_distance_separates_palettes(sets) -> None:
    style = sets["style"]
    same = palette_distance(style, sets["more_style"], SIZE)["palette_distance"]
    other = palette_distance(style, sets["photos"], SIZE)
    assert same < 0.25 * other["palette_distance"]
    assert set(other) == {"palette_distance", "palette_L", "palette_a", "palette_b"}


def test_kid_is_near_zero_for_the_same_distribution_and_larger_otherwise(sets) -> None:
    style = sets["style"]
    different = random_feature_kid(style, sets["photos"], SIZE)
    same_distribution = random_feature_kid(style, sets["more_style"], SIZE)
    identical = random_feature_kid(style, style, SIZE)
    assert different > 0.5
    assert abs(same_distribution) < 0.2 * different
    # Identical sets: the unbiased estimator's diagonal terms give a small negative value.
    assert abs(identical) < 0.5 * different
    with pytest.raises(MetricsError):
        random_feature_kid(style[:1], style, SIZE)


def test_evaluate_model_reports_every_metric(tmp_path, sets) -> None:
    torch.manual_seed(0)
    spec = GeneratorSpec(width=4, n_blocks=1, separable=True)
    model = StyleModel(
        ModelCard(name="t", architecture={"generator": "resnet", "spec": spec.to_dict()}),
        ResnetGenerator(spec).eval(),
    )
    style_files, content_files = [], []
    for i, im in enumerate(sets["style"][:4]):
        style_files.append(tmp_path / f"s{i}.png")
        Image.fromarray(im).save(style_files[-1])
    for i, im in enumerate(sets["photos"][:3]):
        content_files.append(tmp_path / f"c{i}.png")
        Image.fromarray(im).save(content_files[-1])
    bad = tmp_path / "broken.jpg"
    bad.write_bytes(b"not an image")
    seen = []
    result = evaluate_model(
        model, style_files, content_files + [bad], size=32, progress=lambda d, t: seen.append(d)
    )
    for key in ("style_score", "edge_ssim", "palette_distance", "kid", "swd_style_floor"):
        assert np.isfinite(result[key]), key
    assert result["n_content"] == 3 and seen == [1, 2, 3]
    assert len(result["skipped"]) == 1 and "broken.jpg" in result["skipped"][0]
    with pytest.raises(MetricsError):
        evaluate_model(model, style_files[:1], content_files, size=32)


def test_square_crops_keep_the_centre() -> None:
    wide = np.zeros((20, 60, 3), np.uint8)
    wide[:, 20:40] = 255
    out = metrics.square(wide, 20)
    assert out.shape == (20, 20, 3) and out.mean() > 250


# -- contours kept --------------------------------------------------------------------------


def _rectangles(seed: int, side: int = 96, texture: float = 0.0) -> np.ndarray:
    """A 'photo' of a few flat rectangles on a ground, optionally with fine texture."""
    rng = np.random.default_rng(seed)
    image = np.full((side, side, 3), 70.0)
    for _ in range(4):
        top, left = rng.integers(4, side - 40, 2)
        image[top : top + 30, left : left + 36] = rng.integers(100, 250, 3)
    image += rng.normal(0, texture, image.shape)
    return np.clip(image, 0, 255).astype(np.uint8)


def test_contour_map_is_thin_and_on_the_edge() -> None:
    step = np.zeros((40, 40, 3), np.uint8)
    step[:, 20:] = 200
    contours = metrics.contour_map(step)
    columns = np.flatnonzero(contours.any(axis=0))
    assert set(columns) <= {19, 20}  # the step sits between columns 19 and 20
    assert contours[5:-5].sum(axis=1).max() <= 2  # one ridge, not a band
    assert not metrics.contour_map(np.full((40, 40, 3), 90, np.uint8)).any()


def test_contour_fscore_matches_within_the_tolerance_only() -> None:
    photo = _rectangles(0)
    assert metrics.contour_fscore([photo], [photo]) == pytest.approx(1.0)
    near = np.roll(photo, (1, 1), axis=(0, 1))  # 1 px off: within 2 px
    assert metrics.contour_fscore([photo], [near]) > 0.95
    far = np.roll(photo, (7, 7), axis=(0, 1))  # every contour moved 7 px away
    assert metrics.contour_fscore([photo], [far]) < 0.2
    tinted = (photo * np.array([0.9, 0.7, 0.4])).astype(np.uint8)  # colour is not structure
    assert metrics.contour_fscore([photo], [tinted]) > 0.95


def test_contour_fscore_is_the_f_measure_of_recall_and_precision() -> None:
    # Left half: two rectangles; right half blank. The output keeps the left half only:
    # recall about 1/2 of the photo's contours, precision 1, so F = 2PR / (P + R) ~ 2/3.
    photo = np.full((64, 128, 3), 60, np.uint8)
    photo[10:50, 10:50] = 200
    photo[10:50, 74:114] = 200
    half = photo.copy()
    half[:, 64:] = 60
    f = metrics.contour_fscore([photo], [half])
    assert f == pytest.approx(2 * 0.5 * 1.0 / 1.5, abs=0.06)
    # ... and the other way round: the output adds a contour the photo lacks.
    assert metrics.contour_fscore([half], [photo]) == pytest.approx(f, abs=0.02)


def test_contour_fscore_sees_kept_structure_where_edge_ssim_does_not() -> None:
    # A textured photo painted as flat colour with dark outlines keeps every contour: the
    # eye sees the same picture. Edge SSIM calls the missing texture lost structure.
    photos = [_rectangles(s, texture=12.0) for s in (1, 2, 3)]
    flats = []
    for s in (1, 2, 3):
        flat = _rectangles(s).copy()
        outline = metrics.sobel_edges(metrics.luminance(flat)) > 0.1
        flat[outline] = (20, 20, 30)
        flats.append(flat)
    others = photos[1:] + photos[:1]
    kept = metrics.contour_fscore(photos, flats)
    assert kept > 0.7
    assert metrics.edge_ssim(photos, flats) < kept - 0.2
    assert metrics.contour_fscore(photos, others) < kept - 0.4
