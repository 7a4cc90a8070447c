"""Self-check of the method tests: each known way to get a method wrong must fail them.

For every breakage below (the list of issue 11, plus a few variants), this script copies
the package and the tests to a temporary folder, applies the breakage to the copy's
source, runs the method tests there and records whether they failed. It first runs the
same tests on the unbroken copy, which must pass. It prints one JSON object and exits 0
only when the baseline passes and every breakage was caught.

    python tests/mutations.py                 # the method test files (about 3 minutes)
    python tests/mutations.py --full          # the whole default test run per breakage
    python tests/mutations.py --only nce_no_temperature ema_no_average
    python tests/mutations.py --anchors       # only check that every breakage still applies

It is not part of the default test run (it runs the tests many times). A breakage whose
source line is not found any more is reported as "stale" (exit 2): the code moved, so
update the anchor here rather than trusting an old result.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = "ganstyle_desktop"
ENGINE = f"{PACKAGE}/engine"

NCE_TESTS = ["tests/engine/test_nce.py", "tests/engine/test_method_steps.py"]
STEP_TESTS = ["tests/engine/test_method_steps.py"]
EMA_TESTS = ["tests/engine/test_ema.py", "tests/engine/test_method_steps.py"]
METHOD_TESTS = [
    "tests/engine/test_nce.py",
    "tests/engine/test_ema.py",
    "tests/engine/test_augment.py",
    "tests/engine/test_method_steps.py",
    "tests/engine/test_methods.py",
]


@dataclass(frozen=True)
class Mutation:
    name: str
    breakage: str  # in the words of issue 11
    path: str
    old: str
    new: str
    tests: tuple[str, ...]


MUTATIONS = [
    Mutation(
        "nce_queries_elsewhere",
        "PatchNCE queries sampled at other locations than the keys",
        f"{ENGINE}/nce.py",
        "pooled_q, _ = self.mlp(feat_q, self.num_patches, patch_ids=ids)",
        "pooled_q, _ = self.mlp(feat_q, self.num_patches, generator=rng)",
        tuple(NCE_TESTS),
    ),
    Mutation(
        "nce_positive_among_negatives",
        "the positive left among the negatives",
        f"{ENGINE}/nce.py",
        "l_neg = l_neg.masked_fill(diagonal, -10.0)",
        "l_neg = l_neg",
        tuple(NCE_TESTS),
    ),
    Mutation(
        "fastcut_not_flipped_back",
        "FastCUT features not flipped back (in PatchNCE)",
        f"{ENGINE}/nce.py",
        "feat_q = [torch.flip(f, dims=[3]) for f in feat_q]",
        "feat_q = list(feat_q)",
        tuple(NCE_TESTS),
    ),
    Mutation(
        "fastcut_flip_not_passed",
        "FastCUT features not flipped back (the step forgets it flipped)",
        f"{ENGINE}/methods/cut.py",
        "loss_nce = self.nce(self.G, content, fake, nce_rng, flip_target=flipped)",
        "loss_nce = self.nce(self.G, content, fake, nce_rng, flip_target=False)",
        tuple(STEP_TESTS),
    ),
    Mutation(
        "multistyle_flip_not_passed",
        "FastCUT features not flipped back (multi-style step)",
        f"{ENGINE}/methods/multistyle.py",
        'self.G, content, fake, self.rngs["nce"], flip_target=flipped)',
        'self.G, content, fake, self.rngs["nce"], flip_target=False)',
        tuple(STEP_TESTS),
    ),
    Mutation(
        "nce_no_temperature",
        "the temperature dropped",
        f"{ENGINE}/nce.py",
        "logits = torch.cat([l_pos, l_neg], dim=2).view(b * p, p + 1) / tau",
        "logits = torch.cat([l_pos, l_neg], dim=2).view(b * p, p + 1)",
        tuple(NCE_TESTS),
    ),
    Mutation(
        "ema_no_average",
        "EMA that does not average (copies the weights)",
        f"{ENGINE}/ema.py",
        "p.lerp_(source[name].detach().to(p.dtype), 1.0 - d)",
        "p.copy_(source[name].detach().to(p.dtype))",
        tuple(EMA_TESTS),
    ),
    Mutation(
        "ema_never_updated",
        "EMA that does not average (never updated by the methods)",
        f"{ENGINE}/methods/adversarial.py",
        "ema.update(self.nets[name])",
        "del ema",
        tuple(EMA_TESTS),
    ),
    Mutation(
        "cut_d_real_unaugmented",
        "the discriminator shown un-augmented real images (CUT/FastCUT)",
        f"{ENGINE}/methods/cut.py",
        "self.D(self.augment(style)), self.D(self.augment(fake.detach())), kind",
        "self.D(style), self.D(self.augment(fake.detach())), kind",
        tuple(STEP_TESTS),
    ),
    Mutation(
        "cyclegan_d_real_unaugmented",
        "the discriminator shown un-augmented real images (CycleGAN)",
        f"{ENGINE}/methods/cyclegan.py",
        "self.D_A(self.augment(real_b)), self.D_A(self.augment(pooled_b)), kind",
        "self.D_A(real_b), self.D_A(self.augment(pooled_b)), kind",
        tuple(STEP_TESTS),
    ),
    Mutation(
        "multistyle_d_real_unaugmented",
        "the discriminator shown un-augmented real images (multi-style)",
        f"{ENGINE}/methods/multistyle.py",
        "all_heads = self.D(self.augment(style))",
        "all_heads = self.D(style)",
        tuple(STEP_TESTS),
    ),
    Mutation(
        "cyclegan_identity_a_wrong_generator",
        "CycleGAN identity loss through the wrong generator (G_B for the paintings)",
        f"{ENGINE}/methods/cyclegan.py",
        "F.l1_loss(self.G_A(real_b).float(), real_b.float())",
        "F.l1_loss(self.G_B(real_b).float(), real_b.float())",
        tuple(STEP_TESTS),
    ),
    Mutation(
        "cyclegan_identity_b_wrong_generator",
        "CycleGAN identity loss through the wrong generator (G_A for the photos)",
        f"{ENGINE}/methods/cyclegan.py",
        "F.l1_loss(self.G_B(real_a).float(), real_a.float())",
        "F.l1_loss(self.G_A(real_a).float(), real_a.float())",
        tuple(STEP_TESTS),
    ),
    Mutation(
        "d_b_paintings_real",
        "D_B told paintings are real",
        f"{ENGINE}/methods/cyclegan.py",
        "self.D_B(self.augment(real_a)), self.D_B(self.augment(pooled_a)), kind",
        "self.D_B(self.augment(real_b)), self.D_B(self.augment(pooled_a)), kind",
        tuple(STEP_TESTS),
    ),
    Mutation(
        "cycle_weight_zero",
        "the cycle loss weighted to zero",
        f"{ENGINE}/methods/cyclegan.py",
        'losses["cycle_a"] = F.l1_loss(rec_a.float(), real_a.float()) * cfg.lambda_cycle',
        'losses["cycle_a"] = F.l1_loss(rec_a.float(), real_a.float()) * 0.0',
        tuple(STEP_TESTS),
    ),
    Mutation(
        "cycle_left_out_of_the_objective",
        "the cycle loss weighted to zero in the objective (still reported)",
        f"{ENGINE}/methods/cyclegan.py",
        "loss_g = sum(losses.values())",
        'loss_g = sum(v for k, v in losses.items() if not k.startswith("cycle"))',
        tuple(STEP_TESTS),
    ),
]


def _copy_tree(dest: Path) -> None:
    """The checkout's files (tracked and not ignored) and, beside it, the shared data."""
    listing = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.decode()
    for name in filter(None, listing.split("\0")):
        source = ROOT / name
        if source.is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, dest / name)
    shared = ROOT.parent / "shared"
    if shared.is_dir():  # tests find the sample data at <checkout>/../shared/data
        (dest.parent / "shared").symlink_to(shared, target_is_directory=True)


def _env(copy: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(copy)  # the copy shadows the installed (editable) package
    env.setdefault("OMP_NUM_THREADS", "1")
    env.setdefault("MKL_NUM_THREADS", "1")
    env.setdefault("QT_QPA_PLATFORM", "offscreen")
    return env


def _imports_the_copy(copy: Path) -> bool:
    probe = subprocess.run(
        [sys.executable, "-c", f"import {PACKAGE}; print({PACKAGE}.__file__)"],
        cwd=copy,
        env=_env(copy),
        capture_output=True,
        text=True,
    )
    return probe.returncode == 0 and probe.stdout.strip().startswith(str(copy))


def _run_tests(copy: Path, tests: list[str]) -> dict:
    started = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rf", *tests],
        cwd=copy,
        env=_env(copy),
        capture_output=True,
        text=True,
    )
    failed = sorted(set(re.findall(r"^FAILED (\S+)", proc.stdout, flags=re.MULTILINE)))
    summary = proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else proc.stderr[-300:]
    return {
        "returncode": proc.returncode,
        "failed_tests": failed,
        "summary": summary,
        "seconds": round(time.perf_counter() - started, 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="run the whole default test run")
    parser.add_argument("--only", nargs="+", metavar="NAME", help="only these breakages")
    parser.add_argument("--anchors", action="store_true", help="only check the anchors")
    args = parser.parse_args()
    chosen = [m for m in MUTATIONS if not args.only or m.name in args.only]
    if args.only and len(chosen) != len(set(args.only)):
        known = ", ".join(m.name for m in MUTATIONS)
        parser.error(f"unknown breakage in {args.only}; known: {known}")

    if args.anchors:
        counts = {m.name: (ROOT / m.path).read_text(encoding="utf-8").count(m.old) for m in chosen}
        stale = [name for name, n in counts.items() if n != 1]
        print(json.dumps({"anchors": counts, "stale": stale}, indent=2))
        return 2 if stale else 0

    result: dict = {"check": "method-test mutations", "full_run": args.full, "mutations": []}
    with tempfile.TemporaryDirectory(prefix="ganstyle-mutations-") as tmp:
        copy = Path(tmp) / "tree"
        _copy_tree(copy)
        if not _imports_the_copy(copy):
            result["error"] = "the temporary copy does not shadow the installed package"
            print(json.dumps(result, indent=2))
            return 2
        selection = ["tests"] if args.full else METHOD_TESTS
        baseline = _run_tests(copy, selection)
        result["baseline"] = baseline
        if baseline["returncode"] != 0:
            result["error"] = "the tests fail without any breakage"
            print(json.dumps(result, indent=2))
            return 2
        for mutation in chosen:
            source = copy / mutation.path
            original = source.read_text(encoding="utf-8")
            entry = {"name": mutation.name, "breakage": mutation.breakage, "file": mutation.path}
            if original.count(mutation.old) != 1:
                entry["status"] = "stale"
                entry["reason"] = f"anchor found {original.count(mutation.old)} times, not once"
                result["mutations"].append(entry)
                continue
            source.write_text(original.replace(mutation.old, mutation.new), encoding="utf-8")
            try:
                run = _run_tests(copy, ["tests"] if args.full else list(mutation.tests))
            finally:
                source.write_text(original, encoding="utf-8")
            caught = run["returncode"] == 1 and bool(run["failed_tests"])
            entry["status"] = "caught" if caught else "missed"
            entry.update(run)
            result["mutations"].append(entry)
            print(f"{mutation.name}: {entry['status']} ({run['summary']})", file=sys.stderr)

    statuses = [m["status"] for m in result["mutations"]]
    result["caught"] = statuses.count("caught")
    result["missed"] = [m["name"] for m in result["mutations"] if m["status"] == "missed"]
    result["stale"] = [m["name"] for m in result["mutations"] if m["status"] == "stale"]
    print(json.dumps(result, indent=2))
    if result["stale"]:
        return 2
    return 0 if not result["missed"] else 1


if __name__ == "__main__":
    sys.exit(main())
