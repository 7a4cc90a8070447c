"""The tradition recogniser: the classifier is the one defined, held-out means held out,
and a colour filter is not a painting."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ganstyle_desktop.engine import recognizer as rec
from ganstyle_desktop.engine.recognizer import (
    PHOTO,
    TraditionRecognizer,
    _fit_logistic,
    crops,
    cross_validate,
    filtered_photos,
    image_features,
)


def test_logistic_fit_is_the_optimum_of_its_objective() -> None:
    # The weighted, L2-penalised multinomial cross-entropy has gradient
    # X^T (P - Y) w / sum(w) + 2 * l2 * W (and (P - Y)^T w / sum(w) for the bias);
    # both must vanish at the fitted solution.
    rng = np.random.default_rng(0)
    x = rng.normal(size=(60, 5))
    y = rng.integers(0, 3, size=60)
    x[np.arange(60), y] += 1.5  # some signal
    w = rng.uniform(0.5, 2.0, size=60)
    l2 = 0.05
    W, b = _fit_logistic(x, y, 3, l2, w)
    z = x @ W + b
    p = np.exp(z - z.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    onehot = np.eye(3)[y]
    grad_w = x.T @ ((p - onehot) * w[:, None]) / w.sum() + 2 * l2 * W
    grad_b = ((p - onehot) * w[:, None]).sum(0) / w.sum()
    assert np.abs(grad_w).max() < 1e-5
    assert np.abs(grad_b).max() < 1e-5


def _features(n: int, centre: float, dim: int, rng) -> np.ndarray:
    return rng.normal(centre, 1.0, size=(n, dim))


def test_fit_features_balances_classes_and_orders_photo_last() -> None:
    rng = np.random.default_rng(1)
    feats = {"b-art": _features(40, 2.0, 4, rng), "a-art": _features(8, -2.0, 4, rng),
             PHOTO: _features(20, 0.0, 4, rng)}
    model = TraditionRecognizer.fit_features(feats)
    assert model.classes == ["a-art", "b-art", PHOTO]
    # The small class is not swallowed by the large one.
    assert model.predict_features(_features(20, -2.0, 4, rng)).count("a-art") >= 18
    again = TraditionRecognizer.from_json(model.to_json())
    np.testing.assert_allclose(again.logits_from_features(feats["a-art"]),
                               model.logits_from_features(feats["a-art"]))


def test_cross_validation_never_judges_a_picture_it_trained_on() -> None:
    # No signal at all: labels are random. Each picture has 4 identical views; if any view
    # of a held-out picture leaked into training, a 1-nearest-copy fit would recognise it.
    rng = np.random.default_rng(2)
    pictures = rng.normal(size=(90, 30))
    labels = np.repeat(np.array(["x", "y", PHOTO]), 30)
    feats = {c: np.repeat(pictures[labels == c][:, None], 4, axis=1) for c in ("x", "y", PHOTO)}
    result = cross_validate(feats, folds=5, l2=1e-6)
    assert result["artwork_accuracy"] < 0.7  # chance is 1/3; leakage gives ~1.0


def test_cross_validation_finds_real_signal() -> None:
    rng = np.random.default_rng(3)
    feats = {"x": _features(30, 2.0, 6, rng)[:, None], "y": _features(30, -2.0, 6, rng)[:, None],
             PHOTO: _features(30, 0.0, 6, rng)[:, None]}
    result = cross_validate(feats, folds=5)
    assert result["artwork_accuracy"] > 0.85
    assert result["artworks_total"] == 60


def _flat_outlined(rng) -> np.ndarray:
    """Flat colour areas with dark contours: a woodblock-like picture."""
    im = np.empty((96, 96, 3), np.uint8)
    im[:] = rng.integers(150, 256, size=3)
    for _ in range(4):
        y, x, h, w = rng.integers(0, 70, size=4)
        im[y : y + h + 10, x : x + w + 10] = rng.integers(0, 256, size=3)
        im[y : y + h + 10, x : x + 2] = 10
        im[y : y + 2, x : x + w + 10] = 10
    return im


def _strokes(rng) -> np.ndarray:
    """Short broken strokes of many colours: an impressionist-like surface."""
    im = np.full((96, 96, 3), 128, np.float64)
    for _ in range(300):
        y, x = rng.integers(0, 92, size=2)
        im[y : y + 2, x : x + 5] = rng.integers(0, 256, size=3)
    return im.astype(np.uint8)


def _photo(rng) -> np.ndarray:
    """Smooth gradients with fine noise: photographic."""
    yy, xx = np.mgrid[0:96, 0:96] / 96.0
    base = np.stack([yy, xx, 1 - yy * xx], -1) * rng.uniform(80, 200, size=3)
    return np.clip(base + rng.normal(0, 6, size=base.shape), 0, 255).astype(np.uint8)


@pytest.fixture(scope="module")
def synthetic_sets():
    rng = np.random.default_rng(4)
    return ({"woodblock": [_flat_outlined(rng) for _ in range(12)],
             "strokes": [_strokes(rng) for _ in range(12)]},
            [_photo(rng) for _ in range(12)])


def test_recogniser_tells_apart_pictures_a_person_tells_apart(synthetic_sets) -> None:
    torch.set_num_threads(1)
    traditions, photos = synthetic_sets
    model = TraditionRecognizer.fit(traditions, photos)
    rng = np.random.default_rng(5)
    assert model.recognised_share([_flat_outlined(rng) for _ in range(6)],
                                  "woodblock")["recognised_share"] >= 5 / 6
    assert model.recognised_share([_strokes(rng) for _ in range(6)],
                                  "strokes")["recognised_share"] >= 5 / 6
    # A photo recoloured with a tradition's palette is still a photo.
    recoloured = filtered_photos([_photo(rng) for _ in range(4)], traditions["woodblock"],
                                 per_photo=2, seed=9)
    assert model.predict(recoloured).count(PHOTO) >= 6
    with pytest.raises(rec.RecognizerError):
        model.recognised_share(recoloured, "baroque")


def test_filtered_photos_keep_the_photo_and_change_its_colours(synthetic_sets) -> None:
    traditions, photos = synthetic_sets
    out = filtered_photos(photos[:3], traditions["woodblock"], per_photo=4, seed=0)
    assert len(out) == 12 and all(o.shape == (256, 256, 3) for o in out)
    assert out[0].dtype == np.uint8
    # Colours moved, structure kept: correlated with its photo, not identical.
    src = rec.square(photos[0], 256).astype(np.float64).mean(-1)
    for o in out[:4]:
        grey = o.astype(np.float64).mean(-1)
        assert not np.array_equal(o, rec.square(photos[0], 256))
        assert np.corrcoef(src.ravel(), grey.ravel())[0, 1] > 0.5


def test_crops_start_with_the_centre_and_are_square() -> None:
    im = np.random.default_rng(0).integers(0, 255, size=(120, 200, 3), dtype=np.uint8)
    views = crops(im, 3, seed=1)
    assert len(views) == 3 and all(v.shape == (256, 256, 3) for v in views)
    np.testing.assert_array_equal(views[0], rec.square(im, 256))


def test_features_are_finite_for_flat_and_tiny_pictures() -> None:
    flat = np.zeros((20, 30, 3), np.uint8)
    feats = image_features([flat, np.full((300, 200, 3), 255, np.uint8)])
    assert feats.shape[0] == 2 and np.isfinite(feats).all()
