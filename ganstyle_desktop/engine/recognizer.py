"""The tradition recogniser: which tradition does a picture belong to, or is it a photo?

The measure that has to agree with the eye. A linear classifier (multinomial logistic
regression, L2) over features a person would look at:

- the frozen style prior's 100-d style embedding and the mean and spread of its features
  at four scales (brushwork, line, texture; :mod:`.style_prior`);
- colour: L*a*b* moments and quantiles, a hue-by-chroma histogram (palette);
- structure: how much of the picture is flat, how dense and how dark its edges are.

Classes are the traditions it is given plus ``photo``. The photo class is trained on the
content photos *and on colour-filtered copies of them* (each photo recoloured to an
artwork's palette by histogram matching, a mean/spread colour transfer, tints, sepia,
posterising, blur, grain): a model that only moves colours is recognised as a photo, so
the recognised share cannot be won by a filter (:func:`filtered_photos`).

It is fitted when needed from the artworks at hand (a few seconds on the CPU once the
features are computed) and never shipped, so it is never trained on data a shipped file
could not carry. :func:`cross_validate` reports how well it recognises artworks it did not
train on, per tradition, and how often it calls a filtered photo a photo.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
from PIL import Image, ImageFilter
from torch.nn import functional as F

from .metrics import sobel_edges, square, srgb_to_lab
from .style_prior import StylePrior, shared_prior

log = logging.getLogger(__name__)

PHOTO = "photo"
FEATURE_SIZE = 256  # pictures are compared as 256 px centre crops, the prior's size
FEATURE_TAPS = ("expanded_conv_2", "expanded_conv_5", "expanded_conv_12", "expanded_conv_16")
DEFAULT_L2 = 1e-2
PHOTO_WEIGHT = 2.0
FILTERED_PER_PHOTO = 8
FILTER_KINDS = 6
FILTER_VERSION = 2  # bump when filtered_photos changes: cached recognisers are refitted
FLAT_THRESHOLD = 0.02  # Sobel magnitude (black-to-white step = 1) below which a pixel is flat
EDGE_THRESHOLD = 0.15

Progress = Callable[[int, int], None]


class RecognizerError(ValueError):
    """Too few pictures to fit or judge a recogniser."""


# -- features ---------------------------------------------------------------------------------


def _colour_features(rgb: np.ndarray) -> np.ndarray:
    lab = srgb_to_lab(rgb.reshape(-1, 3))
    L, a, b = lab[:, 0], lab[:, 1], lab[:, 2]
    chroma = np.hypot(a, b)
    feats = []
    for ch in (L, a, b, chroma):
        feats += [ch.mean(), ch.std(), *np.quantile(ch, (0.05, 0.5, 0.95))]
    # Hue (6 sectors) x chroma (3 bands) histogram, weighted by pixel count: the palette.
    hue = (np.arctan2(b, a) + math.pi) / (2 * math.pi)
    h_bin = np.minimum((hue * 6).astype(int), 5)
    c_bin = np.digitize(chroma, (10.0, 30.0))
    hist = np.bincount(h_bin * 3 + c_bin, minlength=18).astype(np.float64) / len(L)
    lum_hist = np.histogram(L, bins=8, range=(0, 100))[0].astype(np.float64) / len(L)
    return np.concatenate([np.array(feats) / 50.0, hist * 4, lum_hist * 4])


def _structure_features(rgb: np.ndarray) -> np.ndarray:
    grey = rgb.astype(np.float32) @ np.array([0.2126, 0.7152, 0.0722], np.float32) / 255.0
    feats = []
    for scale in (1, 2):
        g = grey if scale == 1 else np.asarray(
            Image.fromarray((grey * 255).astype(np.uint8)).resize(
                (grey.shape[1] // 2, grey.shape[0] // 2), Image.Resampling.BILINEAR
            ), np.float32) / 255.0
        edges = sobel_edges(g)
        strong = edges > EDGE_THRESHOLD
        feats += [
            float((edges < FLAT_THRESHOLD).mean()),
            float(strong.mean()),
            float(edges.mean()),
            float(np.quantile(edges, 0.9)),
            # Dark contours: how much darker the strongest edges are than the picture.
            float(g.mean() - (g[strong].mean() if strong.any() else g.mean())),
        ]
    return np.array(feats) * 4


@torch.no_grad()
def _prior_features(batch: torch.Tensor, prior: StylePrior) -> np.ndarray:
    feats = [prior.embedding(batch) / 10.0]
    for f in prior.features(batch, FEATURE_TAPS):
        feats += [f.mean(dim=(2, 3)), f.std(dim=(2, 3))]
    return torch.cat(feats, dim=1).double().numpy()


def image_features(
    images: Sequence[np.ndarray],
    prior: StylePrior | None = None,
    *,
    progress: Progress | None = None,
    batch_size: int = 8,
) -> np.ndarray:
    """(N, D) features of HxWx3 uint8 pictures (each taken as a 256 px centre crop)."""
    if not images:
        return np.zeros((0, feature_dim(prior)))
    prior = prior or shared_prior("cpu")
    out = []
    for start in range(0, len(images), batch_size):
        crops = [square(im, FEATURE_SIZE) for im in images[start : start + batch_size]]
        batch = torch.from_numpy(np.stack(crops).astype(np.float32) / 255.0).permute(0, 3, 1, 2)
        deep = _prior_features(batch.contiguous(), prior)
        hand = np.stack(
            [np.concatenate([_colour_features(c), _structure_features(c)]) for c in crops]
        )
        out.append(np.concatenate([deep, hand], axis=1))
        if progress is not None:
            progress(min(start + batch_size, len(images)), len(images))
    return np.concatenate(out)


def feature_dim(prior: StylePrior | None = None) -> int:
    probe = np.full((FEATURE_SIZE, FEATURE_SIZE, 3), 128, np.uint8)
    return image_features([probe], prior).shape[1]


# -- colour filters: what a model that paints nothing does ------------------------------------


def _match_histograms(src: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """Per-channel quantile mapping of ``src``'s colours onto ``ref``'s (in L*a*b*-like RGB)."""
    out = np.empty_like(src, dtype=np.float64)
    for c in range(3):
        s = src[..., c].reshape(-1).astype(np.float64)
        r = np.sort(ref[..., c].reshape(-1).astype(np.float64))
        ranks = np.argsort(np.argsort(s, kind="stable"), kind="stable") / max(len(s) - 1, 1)
        out[..., c] = np.interp(ranks, np.linspace(0, 1, len(r)), r).reshape(src.shape[:2])
    return np.clip(out, 0, 255).astype(np.uint8)


def _mean_std_transfer(src: np.ndarray, ref: np.ndarray) -> np.ndarray:
    s, r = src.astype(np.float64), ref.astype(np.float64)
    out = (s - s.mean((0, 1))) / (s.std((0, 1)) + 1e-6) * r.std((0, 1)) + r.mean((0, 1))
    return np.clip(out, 0, 255).astype(np.uint8)


def filtered_photos(
    photos: Sequence[np.ndarray],
    artworks: Sequence[np.ndarray],
    per_photo: int = FILTERED_PER_PHOTO,
    seed: int = 0,
) -> list[np.ndarray]:
    """Filtered copies of ``photos``: a palette borrowed from an artwork, a tint, sepia,
    posterised levels, softening (heavy blur, down-and-up sampling) or grain. Still photos,
    to a person; the recogniser is taught so."""
    rng = np.random.default_rng(seed)
    out = []
    for photo in photos:
        base = square(photo, FEATURE_SIZE)
        for k in range(per_photo):
            ref = square(artworks[rng.integers(len(artworks))], FEATURE_SIZE) if artworks else base
            kind = (k + rng.integers(FILTER_KINDS)) % FILTER_KINDS
            if kind == 0:
                im = _match_histograms(base, ref)
            elif kind == 1:
                im = _mean_std_transfer(base, ref)
            elif kind == 2:
                grey = base.astype(np.float64) @ np.array([0.299, 0.587, 0.114])
                tint = rng.uniform(0.6, 1.2, size=3)
                im = np.clip(grey[..., None] * tint[None, None], 0, 255).astype(np.uint8)
                if rng.random() < 0.5:
                    im = _mean_std_transfer(im, ref)
            elif kind == 3:
                levels = int(rng.integers(4, 9))
                im = (np.round(base / 255.0 * (levels - 1)) / (levels - 1) * 255).astype(np.uint8)
                im = _mean_std_transfer(im, ref)
            else:
                # Softened: what a generator that has learned little gives (a blurred or
                # down-and-up-sampled photo), with a borrowed palette half of the time.
                pil = Image.fromarray(base)
                if kind == 4:
                    factor = float(rng.uniform(2.0, 5.0))
                    small = (max(8, int(FEATURE_SIZE / factor)),) * 2
                    pil = pil.resize(small, Image.Resampling.BILINEAR).resize(
                        (FEATURE_SIZE, FEATURE_SIZE), Image.Resampling.BILINEAR
                    )
                else:
                    pil = pil.filter(ImageFilter.GaussianBlur(float(rng.uniform(1.5, 4.0))))
                im = np.asarray(pil)
                if rng.random() < 0.5:
                    im = _mean_std_transfer(im, ref)
            pil = Image.fromarray(im)
            if kind < 4 and rng.random() < 0.4:
                pil = pil.filter(ImageFilter.GaussianBlur(float(rng.uniform(0.5, 1.5))))
            im = np.asarray(pil).astype(np.float64)
            if rng.random() < 0.5:  # grain / a fine mesh, as an untrained generator leaves
                im = im + rng.normal(0, rng.uniform(2, 8), size=im.shape)
            out.append(np.clip(im, 0, 255).astype(np.uint8))
    return out


# -- the classifier -------------------------------------------------------------------------


def _fit_logistic(
    x: np.ndarray, y: np.ndarray, n_classes: int, l2: float, weights: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Weighted multinomial logistic regression with an L2 penalty (LBFGS, full batch)."""
    xt = torch.from_numpy(x).double()
    yt = torch.from_numpy(y).long()
    wt = torch.from_numpy(weights).double()
    W = torch.zeros(x.shape[1], n_classes, dtype=torch.float64, requires_grad=True)
    b = torch.zeros(n_classes, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.LBFGS([W, b], lr=1.0, max_iter=500, tolerance_grad=1e-9,
                            line_search_fn="strong_wolfe")

    def closure() -> torch.Tensor:
        opt.zero_grad()
        nll = F.cross_entropy(xt @ W + b, yt, reduction="none")
        loss = (nll * wt).sum() / wt.sum() + l2 * (W**2).sum()
        loss.backward()
        return loss

    opt.step(closure)
    return W.detach().numpy(), b.detach().numpy()


@dataclass
class TraditionRecognizer:
    classes: list[str]
    mean: np.ndarray
    std: np.ndarray
    weight: np.ndarray
    bias: np.ndarray
    info: dict = field(default_factory=dict)

    @classmethod
    def fit_features(
        cls,
        features: Mapping[str, np.ndarray],
        l2: float = DEFAULT_L2,
        photo_weight: float = PHOTO_WEIGHT,
    ) -> TraditionRecognizer:
        """Fit from precomputed features per class (``PHOTO`` among them).

        Classes are balanced, and the photo class counts ``photo_weight`` times more: calling
        a photo a painting is the costlier mistake for a measure of painting."""
        classes = sorted(k for k in features if k != PHOTO) + [PHOTO]
        if PHOTO not in features or len(classes) < 2:
            raise RecognizerError("a recogniser needs photos and at least one tradition")
        for name in classes:
            if len(features[name]) < 2:
                raise RecognizerError(f"{name}: need at least 2 pictures, got {len(features[name])}")
        x = np.concatenate([features[c] for c in classes])
        y = np.concatenate([np.full(len(features[c]), i) for i, c in enumerate(classes)])
        counts = np.bincount(y, minlength=len(classes)).astype(np.float64)
        per_class = len(y) / (len(classes) * counts)
        per_class[classes.index(PHOTO)] *= photo_weight
        weights = per_class[y]
        mean, std = x.mean(0), x.std(0) + 1e-6
        W, b = _fit_logistic((x - mean) / std, y, len(classes), l2, weights)
        info = {"l2": l2, "photo_weight": photo_weight, "counts": {c: int(n) for c, n in zip(classes, counts, strict=True)}}
        return cls(classes, mean, std, W, b, info)

    @classmethod
    def fit(
        cls,
        traditions: Mapping[str, Sequence[np.ndarray]],
        photos: Sequence[np.ndarray],
        *,
        prior: StylePrior | None = None,
        l2: float = DEFAULT_L2,
        seed: int = 0,
    ) -> TraditionRecognizer:
        """Fit from pictures: artworks per tradition, and photos (filtered copies added)."""
        feats = {name: image_features(list(ims), prior) for name, ims in traditions.items()}
        art = [im for ims in traditions.values() for im in ims]
        photo_set = list(photos) + filtered_photos(photos, art, seed=seed)
        feats[PHOTO] = image_features(photo_set, prior)
        return cls.fit_features(feats, l2)

    def logits_from_features(self, feats: np.ndarray) -> np.ndarray:
        return ((feats - self.mean) / self.std) @ self.weight + self.bias

    def probabilities_from_features(self, feats: np.ndarray) -> np.ndarray:
        z = self.logits_from_features(feats)
        z = z - z.max(axis=1, keepdims=True)
        p = np.exp(z)
        return p / p.sum(axis=1, keepdims=True)

    def predict_features(self, feats: np.ndarray) -> list[str]:
        return [self.classes[i] for i in self.logits_from_features(feats).argmax(axis=1)]

    def predict(self, images: Sequence[np.ndarray], prior: StylePrior | None = None) -> list[str]:
        return self.predict_features(image_features(images, prior))

    def recognised_share(
        self, images: Sequence[np.ndarray], intended: str, prior: StylePrior | None = None
    ) -> dict:
        """Share of ``images`` recognised as ``intended``, with what the rest were taken for."""
        if intended not in self.classes:
            raise RecognizerError(f"the recogniser does not know {intended!r}")
        labels = self.predict(images, prior)
        counts = {c: labels.count(c) for c in sorted(set(labels))}
        return {
            "recognised_share": labels.count(intended) / max(len(labels), 1),
            "n": len(labels),
            "assigned": counts,
        }

    def to_json(self) -> str:
        return json.dumps({
            "classes": self.classes, "mean": self.mean.tolist(), "std": self.std.tolist(),
            "weight": self.weight.tolist(), "bias": self.bias.tolist(), "info": self.info,
        })

    @classmethod
    def from_json(cls, text: str) -> TraditionRecognizer:
        d = json.loads(text)
        return cls(list(d["classes"]), np.array(d["mean"]), np.array(d["std"]),
                   np.array(d["weight"]), np.array(d["bias"]), dict(d.get("info", {})))


def crops(image: np.ndarray, n: int, seed: int = 0) -> list[np.ndarray]:
    """``n`` square views of a picture: the centre crop first, then random crops at random
    scales (a quarter to all of the short side), each resized to the feature size."""
    rng = np.random.default_rng(seed)
    out = [square(image, FEATURE_SIZE)]
    h, w = image.shape[:2]
    for _ in range(n - 1):
        side = int(min(h, w) * rng.uniform(0.5, 1.0))
        side = max(side, min(h, w, 64))
        top, left = int(rng.integers(0, h - side + 1)), int(rng.integers(0, w - side + 1))
        out.append(square(image[top : top + side, left : left + side], FEATURE_SIZE))
    return out


def cross_validate(
    features: Mapping[str, np.ndarray],
    folds: int = 5,
    seed: int = 0,
    l2: float = DEFAULT_L2,
    filtered: np.ndarray | None = None,
    photo_weight: float = PHOTO_WEIGHT,
) -> dict:
    """Held-out accuracy per class: each picture is judged by a recogniser fitted without
    it (stratified ``folds``-fold by picture).

    ``features[name]`` is (N, D), or (N, V, D) for V views of each picture (view 0, the
    centre crop, is the one judged; every view of a training picture trains).
    ``filtered`` (P, F, D): F filtered copies of each of the P photos (in the order of
    ``features[PHOTO]``); they train the photo class and are judged with their source
    photo's fold, so a photo never helps judge its own copies.
    """
    views = {n: (x if x.ndim == 3 else x[:, None]) for n, x in features.items()}
    rng = np.random.default_rng(seed)
    fold_of = {name: rng.permutation(len(x)) % folds for name, x in views.items()}
    correct = {name: 0 for name in views}
    filtered_as_photo = 0
    confusion: dict[str, dict[str, int]] = {name: {} for name in views}
    for k in range(folds):
        train = {
            name: x[fold_of[name] != k].reshape(-1, x.shape[-1]) for name, x in views.items()
        }
        if filtered is not None:
            keep = fold_of[PHOTO] != k
            train[PHOTO] = np.concatenate(
                [train[PHOTO], filtered[keep].reshape(-1, filtered.shape[-1])]
            )
        if any(len(v) < 2 for v in train.values()):
            raise RecognizerError("too few pictures per class for this many folds")
        model = TraditionRecognizer.fit_features(train, l2, photo_weight)
        for name, x in views.items():
            test = x[fold_of[name] == k][:, 0]
            if not len(test):
                continue
            for label in model.predict_features(test):
                confusion[name][label] = confusion[name].get(label, 0) + 1
                correct[name] += label == name
        if filtered is not None:
            held = filtered[fold_of[PHOTO] == k]
            if len(held):
                labels = model.predict_features(held.reshape(-1, held.shape[-1]))
                filtered_as_photo += sum(lab == PHOTO for lab in labels)
    per_class = {name: correct[name] / len(views[name]) for name in views}
    art = [n for n in views if n != PHOTO]
    n_art = sum(len(views[n]) for n in art)
    result = {
        "folds": folds,
        "per_class": per_class,
        "counts": {n: int(len(x)) for n, x in views.items()},
        "artworks_correct": int(sum(correct[n] for n in art)),
        "artworks_total": int(n_art),
        "artwork_accuracy": sum(correct[n] for n in art) / max(n_art, 1),
        "balanced_accuracy": float(np.mean([per_class[n] for n in art])),
        "photo_accuracy": per_class.get(PHOTO, float("nan")),
        "confusion": confusion,
    }
    if filtered is not None:
        result["filtered_photos_called_photo"] = filtered_as_photo / max(
            filtered.shape[0] * filtered.shape[1], 1
        )
    return result
