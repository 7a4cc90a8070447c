"""One training step of each method against a reference step written from its paper.

Before a step the networks and random streams are copied; the step runs; then the
reference (method_references.py: CUT/FastCUT from Park et al. 2020, CycleGAN from Zhu et
al. 2017, DiffAugment from Zhao et al. 2020, the EMA) recomputes it from the copies. The
losses, the gradient every optimiser received and the EMA weights after the step must
agree. Gradients pin the whole objective, so a term that is dropped, re-weighted, sent
through the wrong network or shown the wrong images fails here, whatever the loss names.

A second group of tests does not recompute anything: hooks record which tensors reach
which network and which of them a discriminator is told are real. Those checks hold for
any set of extra loss terms and stay valid as the methods grow.

New optional terms (a perceptual loss, more discriminator scales, ...) are switched off
for the reference steps in ``REFERENCE_SETTINGS``; a new term that is on there makes the
gradients disagree, which is the point: the reference must describe the whole step.
"""

from __future__ import annotations

import copy
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
from method_references import (
    clone_generator,
    diff_augment,
    ema_average,
    frozen_copy,
    gradients,
    l1,
    lsgan_d,
    lsgan_g,
    patch_nce,
)
from training_setup import tiny_config

from ganstyle_desktop.engine.config import StyleSource
from ganstyle_desktop.engine.devices import plan_for
from ganstyle_desktop.engine.methods import cut as cut_module
from ganstyle_desktop.engine.methods import cyclegan as cyclegan_module
from ganstyle_desktop.engine.methods import method_class

POLICY = "color,translation,cutout"  # every DiffAugment op, whatever the default policy
# The settings of the reference steps: the papers' objectives and nothing else.
REFERENCE_SETTINGS = dict(diffaugment=POLICY, gan_loss="lsgan", lambda_gan=1.0, ema_decay=0.999)

RTOL, ATOL = 2e-4, 2e-6


@pytest.fixture(autouse=True)
def _one_torch_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _method(tmp_path: Path, name: str, **overrides):
    settings = {**REFERENCE_SETTINGS, **overrides}
    if name == "multistyle":
        settings.setdefault(
            "styles", [StyleSource(s, display_name=s) for s in ("ukiyo-e", "ink-wash", "fresco")]
        )
    return method_class(name)(tiny_config(tmp_path, name, **settings), plan_for("cpu"))


def _batch(seed: int, n: int = 2) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    content = torch.rand(n, 3, 32, 32, generator=g) * 2 - 1
    # Paintings with their own colour cast, so photo and painting are easy to tell apart.
    style = (torch.rand(n, 3, 32, 32, generator=g) * 1.2 - 0.9).clamp(-1, 1)
    return content, style


class StepRecord:
    """Copies of everything a step starts from, and the gradients each optimiser stepped."""

    def __init__(self, method) -> None:
        self.nets = {name: frozen_copy(net) for name, net in method.nets.items()}
        self.rngs = {name: clone_generator(g) for name, g in method.rngs.items()}
        self.emas = {name: copy.deepcopy(e.module) for name, e in method.emas.items()}
        self.ema_updates = {name: e.updates for name, e in method.emas.items()}
        self.grads: dict[str, dict[str, dict[str, torch.Tensor]]] = {}
        owner = {
            id(p): (net_name, p_name)
            for net_name, net in method.nets.items()
            for p_name, p in net.named_parameters()
        }
        original = method.optimizer_step

        def recording_step(opt_name: str) -> None:
            for group in method.optimizers[opt_name].param_groups:
                for p in group["params"]:
                    net_name, p_name = owner[id(p)]
                    grad = torch.zeros_like(p) if p.grad is None else p.grad.detach().clone()
                    self.grads.setdefault(net_name, {})[p_name] = grad
            original(opt_name)

        method.optimizer_step = recording_step
        self._method = method
        self._original = original

    def finish(self) -> None:
        self._method.optimizer_step = self._original


def _assert_gradients(record: StepRecord, net_name: str, expected: dict[str, torch.Tensor]) -> None:
    got = record.grads[net_name]
    assert set(got) == set(expected), net_name
    # Rounding noise scales with the network's gradients (a bias right before an instance
    # norm has a true gradient of 0 and a computed one of rounding size).
    scale = max(float(v.abs().max()) for v in expected.values())
    assert scale > 0, f"{net_name} got no gradient at all"
    for p_name, value in expected.items():
        torch.testing.assert_close(
            got[p_name],
            value,
            rtol=RTOL,
            atol=RTOL * scale,
            msg=lambda m, n=p_name: f"{net_name}.{n}: {m}",
        )


def _assert_losses(got: dict[str, float], expected: dict[str, torch.Tensor]) -> None:
    for key, value in expected.items():
        assert key in got, f"the step does not report {key!r}"
        assert got[key] == pytest.approx(float(value.detach()), rel=RTOL, abs=ATOL), key


def _assert_ema(method, record: StepRecord, net_name: str) -> None:
    ema = method.emas[net_name]
    decay, updates = ema.decay, record.ema_updates[net_name]
    trained = dict(method.nets[net_name].named_parameters())
    before = dict(record.emas[net_name].named_parameters())
    for p_name, value in ema.module.named_parameters():
        expected = ema_average(before[p_name], trained[p_name].detach(), decay, updates)
        torch.testing.assert_close(value, expected, rtol=1e-5, atol=1e-7)
    assert ema.updates == updates + 1


# -- CUT and FastCUT ------------------------------------------------------------------------


def reference_cut_step(method, record: StepRecord, content, style) -> tuple[dict, dict]:
    """Park et al. 2020, sec. 3 (CUT) and appendix (FastCUT), with DiffAugment before D."""
    G, D, heads = record.nets["G"], record.nets["D"], record.nets["F"].mlp.mlps
    D_after = frozen_copy(method.nets["D"])  # G's update is judged by the updated D
    rng = record.rngs
    tau, patches, lam = method.nce.tau, method.num_patches, method.lambda_nce
    n = content.shape[0]

    flipped = method.flip_equivariance and torch.rand(1, generator=rng["flip"]).item() < 0.5
    inputs = torch.cat([content, style]) if method.nce_idt else content
    if flipped:
        inputs = torch.flip(inputs, dims=[3])
    out = G(inputs)
    fake, idt = out[:n], out[n:]

    loss_d = lsgan_d(
        D(diff_augment(style, POLICY, rng["augment"])),
        D(diff_augment(fake.detach(), POLICY, rng["augment"])),
    )
    g_gan = lsgan_g(D_after(diff_augment(fake, POLICY, rng["augment"])))
    nce = lam * patch_nce(G.encode, heads, content, fake, rng["nce"], patches, tau, flipped)
    losses = {"d": loss_d, "g_gan": g_gan, "nce": nce}
    total = g_gan + nce
    if method.nce_idt:
        nce_idt = lam * patch_nce(G.encode, heads, style, idt, rng["nce"], patches, tau, flipped)
        losses["nce_idt"] = nce_idt
        total = g_gan + 0.5 * (nce + nce_idt)
    losses["g_total"] = total
    grads = {
        "D": gradients(loss_d, D),
        "G": gradients(total, G),
        "F": gradients(total, record.nets["F"]),
    }
    return losses, grads


@pytest.mark.parametrize("name", ["cut", "fastcut"])
def test_cut_steps_follow_the_reference(tmp_path: Path, name: str) -> None:
    method = _method(tmp_path, name)
    flips = []
    for step in range(4):
        content, style = _batch(step)
        record = StepRecord(method)
        flips.append(bool(torch.rand(1, generator=clone_generator(method.rngs["flip"])) < 0.5))
        got = method.train_step(content, style)
        record.finish()
        losses, grads = reference_cut_step(method, record, content, style)
        _assert_losses(got, losses)
        for net_name, expected in grads.items():
            _assert_gradients(record, net_name, expected)
        _assert_ema(method, record, "G")
    if name == "fastcut":
        assert set(flips) == {True, False}  # both halves of flip-equivariance were checked
    assert method.lambda_nce == {"cut": 1.0, "fastcut": 10.0}[name]


# -- CycleGAN -------------------------------------------------------------------------------


def reference_cyclegan_step(method, record: StepRecord, real_a, real_b) -> tuple[dict, dict]:
    """Zhu et al. 2017, eq. 1-3 and the identity loss of sec. 5.2 (weight 0.5 lambda)."""
    cfg = method.config
    G_A, G_B, D_A, D_B = (record.nets[k] for k in ("G_A", "G_B", "D_A", "D_B"))
    aug = record.rngs["augment"]
    lam, lam_idt = cfg.lambda_cycle, cfg.lambda_identity

    fake_b = G_A(real_a)  # photo -> painting
    fake_a = G_B(real_b)  # painting -> photo
    losses = {
        "idt_a": lam * lam_idt * l1(G_A(real_b), real_b),  # a painting stays a painting
        "idt_b": lam * lam_idt * l1(G_B(real_a), real_a),  # a photo stays a photo
        "g_a": lsgan_g(D_A(diff_augment(fake_b, POLICY, aug))),
        "g_b": lsgan_g(D_B(diff_augment(fake_a, POLICY, aug))),
        "cycle_a": lam * l1(G_B(fake_b), real_a),
        "cycle_b": lam * l1(G_A(fake_a), real_b),
    }
    total = sum(losses.values())
    # D_A tells paintings from translated photos, D_B photos from translated paintings.
    # (The history pool gives back this step's fakes while it fills.)
    d_a = lsgan_d(
        D_A(diff_augment(real_b, POLICY, aug)), D_A(diff_augment(fake_b.detach(), POLICY, aug))
    )
    d_b = lsgan_d(
        D_B(diff_augment(real_a, POLICY, aug)), D_B(diff_augment(fake_a.detach(), POLICY, aug))
    )
    losses.update(g_total=total, d_a=d_a, d_b=d_b)
    grads = {
        "G_A": gradients(total, G_A),
        "G_B": gradients(total, G_B),
        "D_A": gradients(d_a + d_b, D_A),
        "D_B": gradients(d_a + d_b, D_B),
    }
    return losses, grads


def test_cyclegan_steps_follow_the_reference(tmp_path: Path) -> None:
    method = _method(tmp_path, "cyclegan", pool_size=50, lambda_cycle=10.0, lambda_identity=0.5)
    for step in range(3):  # 6 fakes: the pool is still filling, so D sees this step's
        content, style = _batch(10 + step)
        record = StepRecord(method)
        got = method.train_step(content, style)
        record.finish()
        losses, grads = reference_cyclegan_step(method, record, content, style)
        _assert_losses(got, losses)
        for net_name, expected in grads.items():
            _assert_gradients(record, net_name, expected)
        _assert_ema(method, record, "G_A")
        _assert_ema(method, record, "G_B")


def test_cyclegan_without_a_history_pool_trains_d_on_detached_fakes(tmp_path: Path) -> None:
    method = _method(tmp_path, "cyclegan", pool_size=0)
    content, style = _batch(20)
    record = StepRecord(method)
    got = method.train_step(content, style)
    record.finish()
    losses, grads = reference_cyclegan_step(method, record, content, style)
    _assert_losses(got, losses)
    _assert_gradients(record, "D_B", grads["D_B"])


# -- multi-style ----------------------------------------------------------------------------


def reference_multistyle_step(method, record: StepRecord, content, style, ids) -> tuple[dict, dict]:
    """FastCUT's objective per tradition (one PatchGAN head each, Park et al. 2020 +
    StarGAN v2's multi-task D), the "not this tradition" term on the other heads, and the
    palette term (the colour distribution of each output against its artwork's)."""
    G, D, heads_F = record.nets["G"], record.nets["D"], record.nets["F"].mlp.mlps
    D_after = frozen_copy(method.nets["D"])
    rng = record.rngs
    n = content.shape[0]
    targets = ids.repeat((n + ids.shape[0] - 1) // ids.shape[0])[:n]  # one style image each

    flipped = torch.rand(1, generator=rng["flip"]).item() < 0.5
    fake = G(torch.flip(content, dims=[3]) if flipped else content, targets)

    def head_of(maps: torch.Tensor, which: torch.Tensor) -> torch.Tensor:
        return torch.stack([maps[i, int(which[i])] for i in range(maps.shape[0])])[:, None]

    all_heads = D(diff_augment(style, POLICY, rng["augment"]))
    fake_maps = D(diff_augment(fake.detach(), POLICY, rng["augment"]))
    loss_d = lsgan_d(head_of(all_heads, ids), head_of(fake_maps, targets))
    shift = torch.randint(1, D.n_heads, ids.shape, generator=rng["heads"])
    wrong_ids = (ids + shift) % D.n_heads
    share = method.config.wrong_head_nearest
    if share > 0:  # that share of the wrong heads: the closest other tradition's
        rows = method.recipe.tradition_embeddings
        nearest = torch.tensor([
            min((j for j in range(len(rows)) if j != i),
                key=lambda j, i=i: float(((rows[i] - rows[j]) ** 2).sum()))
            for i in range(len(rows))
        ])
        taken = torch.rand(ids.shape, generator=rng["nearest"]) < share
        wrong_ids = torch.where(taken, nearest[ids], wrong_ids)
    wrong = head_of(all_heads, wrong_ids)
    loss_d = loss_d + method.config.lambda_wrong_head * 0.5 * (wrong**2).mean()

    g_gan = lsgan_g(head_of(D_after(diff_augment(fake, POLICY, rng["augment"])), targets))
    nce = method.lambda_nce * patch_nce(
        G.encode, heads_F, content, fake, rng["nce"], method.num_patches, method.nce.tau, flipped
    )
    # The palette term: the sliced Wasserstein-1 distance between each output's pixel
    # colours and its artwork's (Rabin et al. 2011): random pixels on each side, random unit
    # directions, and W1 in 1-D as the mean gap of the sorted projections.
    gen = rng["palette"]
    count = min(4096, fake.shape[2] * fake.shape[3], style.shape[2] * style.shape[3])
    ia = torch.randint(0, fake.shape[2] * fake.shape[3], (count,), generator=gen)
    ib = torch.randint(0, style.shape[2] * style.shape[3], (count,), generator=gen)
    dirs = torch.randn(3, 32, generator=gen)
    dirs = dirs / dirs.norm(dim=0, keepdim=True)
    upright = torch.flip(fake, dims=[3]) if flipped else fake
    gaps = []
    for i in range(n):
        a = upright[i].reshape(3, -1)[:, ia].T @ dirs
        b = style[i].reshape(3, -1)[:, ib].T @ dirs
        gaps.append((a.sort(dim=0).values - b.sort(dim=0).values).abs().mean())
    loss_palette = method.recipe.lambda_palette * torch.stack(gaps).mean()
    total = g_gan + nce + loss_palette
    losses = {"d": loss_d, "g_gan": g_gan, "nce": nce, "palette": loss_palette, "g_total": total}
    grads = {
        "D": gradients(loss_d, D),
        "G": gradients(total, G),
        "F": gradients(total, record.nets["F"]),
    }
    return losses, grads, flipped


def test_multistyle_steps_follow_the_reference(tmp_path: Path) -> None:
    method = _method(tmp_path, "multistyle")
    flips = set()
    for step in range(4):
        content, style = _batch(30 + step)
        ids = torch.tensor([step % 3, (step + 1) % 3])
        record = StepRecord(method)
        got = method.train_step(content, style, ids)
        record.finish()
        losses, grads, flipped = reference_multistyle_step(method, record, content, style, ids)
        flips.add(flipped)
        _assert_losses(got, losses)
        for net_name, expected in grads.items():
            _assert_gradients(record, net_name, expected)
        _assert_ema(method, record, "G")
    assert flips == {True, False}


def test_multistyle_wrong_heads_can_favour_the_closest_tradition(tmp_path: Path) -> None:
    """``wrong_head_nearest``: that share of each artwork's "not this tradition" head is
    the tradition whose mean style embedding is closest to its own."""
    method = _method(tmp_path, "multistyle", lambda_wrong_head=1.5, wrong_head_nearest=0.5)
    g = torch.Generator().manual_seed(3)
    # Two warm sets and a cold one: the warm pair are each other's nearest.
    casts = [(0.9, 0.6, 0.2), (0.8, 0.5, 0.3), (0.1, 0.3, 0.9)]
    sources = [
        SimpleNamespace(images=[
            ((torch.rand(3, 48, 48, generator=g) * 0.2 + torch.tensor(c)[:, None, None])
             .clamp(0, 1) * 255).to(torch.uint8)
            for _ in range(2)
        ])
        for c in casts
    ]
    method.observe_styles(sources)
    assert method.recipe.tradition_embeddings.shape[0] == 3
    assert method._nearest.tolist()[:2] == [1, 0]
    taken_any = set()
    for step in range(4):
        content, style = _batch(50 + step)
        ids = torch.tensor([step % 3, (step + 2) % 3])
        record = StepRecord(method)
        taken_any |= set((torch.rand(2, generator=clone_generator(record.rngs["nearest"]))
                          < 0.5).tolist())
        got = method.train_step(content, style, ids)
        record.finish()
        losses, grads, _ = reference_multistyle_step(method, record, content, style, ids)
        _assert_losses(got, losses)
        _assert_gradients(record, "D", grads["D"])
    assert taken_any == {True, False}  # both draws happened: the test sees the nearest path


# -- which images reach which network (no reference numbers: valid for any extra terms) ----


class Traffic:
    """Records every input of some networks, every DiffAugment call, and every call of a
    discriminator loss (which logits it is told are real, which fake)."""

    def __init__(self, method, nets: list[str], loss_module=None, monkeypatch=None) -> None:
        self.inputs: dict[str, list[torch.Tensor]] = {n: [] for n in nets}
        self.outputs: dict[int, str] = {}  # id of an output tensor -> the net that made it
        self.augmented: dict[int, torch.Tensor] = {}  # id of an augmented tensor -> its source
        self.keep: list[torch.Tensor] = []  # keeps ids unique while recording
        self.d_calls: list[tuple[torch.Tensor, torch.Tensor]] = []
        for name in nets:
            net = method.nets[name]
            net.register_forward_pre_hook(self._pre(name))
            net.register_forward_hook(self._post(name))
        original_augment = method.augment

        def augment(x: torch.Tensor) -> torch.Tensor:
            y = original_augment(x)
            self.augmented[id(y)] = x
            self.keep += [x, y]
            return y

        method.augment = augment
        if loss_module is None:
            return
        original_loss = loss_module.discriminator_loss

        def discriminator_loss(real_logits, fake_logits, kind):
            self.d_calls.append((real_logits, fake_logits))
            return original_loss(real_logits, fake_logits, kind)

        monkeypatch.setattr(loss_module, "discriminator_loss", discriminator_loss)

    def _pre(self, name: str):
        def hook(_module, args):
            self.inputs[name].append(args[0])
            self.keep.append(args[0])

        return hook

    def _post(self, name: str):
        def hook(_module, _args, output):
            self.outputs[id(output)] = name
            self.keep.append(output)

        return hook

    def source_of(self, shown: torch.Tensor) -> torch.Tensor:
        """The tensor DiffAugment was given to make ``shown`` (fails if it was not augmented)."""
        assert id(shown) in self.augmented, "a discriminator saw an image DiffAugment never made"
        return self.augmented[id(shown)]


def _same(a: torch.Tensor, b: torch.Tensor) -> bool:
    return a.shape == b.shape and torch.allclose(a.detach(), b.detach(), atol=1e-6)


def _contains(tensors: list[torch.Tensor], x: torch.Tensor) -> int:
    return sum(_same(t, x) for t in tensors)


@pytest.mark.parametrize("name", ["cut", "fastcut"])
def test_cut_discriminator_sees_augmented_paintings_as_real(
    tmp_path: Path, name: str, monkeypatch
) -> None:
    method = _method(tmp_path, name, diffaugment="translation,cutout")
    traffic = Traffic(method, ["G", "D"], cut_module, monkeypatch)
    content, style = _batch(40)
    method.train_step(content, style)
    fakes = [out for out in traffic.keep if traffic.outputs.get(id(out)) == "G"]
    assert fakes, "G made no translations"
    assert traffic.inputs["D"], "D saw nothing"
    for shown in traffic.inputs["D"]:
        source = traffic.source_of(shown)
        is_style = _same(source, style)
        is_fake = any(_same(source, f[: content.shape[0]]) for f in fakes)
        assert is_style or is_fake, "D saw something that is neither a painting nor a translation"
        assert not _same(source, content), "D saw a photo"
    assert traffic.d_calls
    for real_logits, fake_logits in traffic.d_calls:
        real_input = traffic.inputs["D"][_index_of_output(traffic, real_logits)]
        fake_input = traffic.inputs["D"][_index_of_output(traffic, fake_logits)]
        assert _same(traffic.source_of(real_input), style), "D is told something else is real"
        assert not _same(traffic.source_of(fake_input), style), "D is told a painting is fake"
        assert not traffic.source_of(fake_input).requires_grad  # D's update leaves G alone


def _index_of_output(traffic: Traffic, logits: torch.Tensor) -> int:
    """Which recorded input of the net produced ``logits`` (hooks record in call order)."""
    outputs = [t for t in traffic.keep if id(t) in traffic.outputs]
    name = traffic.outputs.get(id(logits))
    assert name is not None, "a discriminator loss got logits no discriminator made"
    same_net = [t for t in outputs if traffic.outputs[id(t)] == name]
    return [id(t) for t in same_net].index(id(logits))


def test_cyclegan_networks_see_what_the_paper_says(tmp_path: Path, monkeypatch) -> None:
    method = _method(tmp_path, "cyclegan", diffaugment="translation,cutout")
    nets = ["G_A", "G_B", "D_A", "D_B"]
    traffic = Traffic(method, nets, cyclegan_module, monkeypatch)
    photo, painting = _batch(41)
    method.train_step(photo, painting)
    seen = traffic.inputs
    # G_A (photo -> painting): the photos, the translated paintings (cycle) and the
    # paintings (identity: left as they are). G_B the mirror image of that.
    assert _contains(seen["G_A"], photo) == 1 and _contains(seen["G_A"], painting) == 1
    assert _contains(seen["G_B"], painting) == 1 and _contains(seen["G_B"], photo) == 1
    assert len(seen["G_A"]) == len(seen["G_B"]) == 3
    # D_A judges paintings, D_B photos: each is told its own domain's real images are real.
    assert len(traffic.d_calls) == 2
    told_real = {}
    for real_logits, fake_logits in traffic.d_calls:
        d_name = traffic.outputs[id(real_logits)]
        assert traffic.outputs[id(fake_logits)] == d_name
        real_input = seen[d_name][_index_of_output(traffic, real_logits)]
        fake_input = seen[d_name][_index_of_output(traffic, fake_logits)]
        told_real[d_name] = traffic.source_of(real_input)
        fake_source = traffic.source_of(fake_input)
        assert not fake_source.requires_grad
        assert not _same(fake_source, photo) and not _same(fake_source, painting)
    assert _same(told_real["D_A"], painting), "D_A must be told paintings are real"
    assert _same(told_real["D_B"], photo), "D_B must be told photos are real"
    for d_name in ("D_A", "D_B"):
        for shown in seen[d_name]:
            traffic.source_of(shown)  # every image a discriminator sees is augmented


def test_multistyle_discriminator_sees_only_augmented_images(tmp_path: Path) -> None:
    method = _method(tmp_path, "multistyle", diffaugment="translation,cutout")
    traffic = Traffic(method, ["D"])
    content, style = _batch(42)
    method.train_step(content, style, torch.tensor([0, 2]))
    assert len(traffic.inputs["D"]) == 3
    sources = [traffic.source_of(shown) for shown in traffic.inputs["D"]]
    assert _same(sources[0], style)
    assert all(not _same(s, content) for s in sources)


@pytest.mark.parametrize("name", ["cut", "fastcut", "cyclegan", "multistyle"])
def test_the_default_policy_augments_every_discriminator_input(tmp_path: Path, name: str) -> None:
    """With the shipped DiffAugment setting (whatever it is), nothing reaches D un-augmented."""
    config = tiny_config(tmp_path, name)
    if name == "multistyle":
        config.styles = [StyleSource(s, display_name=s) for s in ("ukiyo-e", "ink-wash")]
    assert config.diffaugment, "DiffAugment is off by default"
    method = method_class(name)(config, plan_for("cpu"))
    d_names = [n for n in method.nets if n.startswith("D")]
    traffic = Traffic(method, d_names)
    content, style = _batch(43)
    method.train_step(content, style, torch.tensor([0, 1]) if name == "multistyle" else None)
    changed = []
    for d_name in d_names:
        assert traffic.inputs[d_name], f"{d_name} saw nothing"
        for shown in traffic.inputs[d_name]:
            changed.append(not torch.equal(traffic.source_of(shown), shown))
    assert any(changed)  # and the augmentation did something
