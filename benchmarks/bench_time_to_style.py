"""Minutes to a recognisable style with the default settings, on this machine.

For each tradition: train with the defaults of ``TrainConfig`` (what ``ganstyle-cli train``
and the Training panel start with), on the training photos of ``../shared/data``, and every
``--eval-every`` steps paint the held-out photos and ask the benchmark recogniser (see
``bench_recipe.py``) and the contour F-score whether the bar is met: recognised share >= 0.7
and the photo's contours kept (contour F >= 0.5; ``engine.quality_monitor.meets_bar``, the
rule the trainer's quality checks use too). Edge SSIM is printed beside it. The clock counts training only (not the
evaluations). Prints one JSON line per evaluation and a final JSON object.

    python benchmarks/bench_time_to_style.py [--traditions A B C] [--budget-minutes 30]
"""

from __future__ import annotations

import argparse
import json
import sys
import time

from bench_recipe import (
    EVAL_SIZE,
    RESULTS,
    contact_sheet,
    evaluate,
    fitted_recognizer,
    style_subset,
)
from data_sets import STYLES, load_square, photo_split

DEFAULT_TRADITIONS = ("japanese-ukiyo-e", "european-impressionism", "post-impressionism")
RECOGNISED_BAR = 0.7


def run_one(slug: str, args, recognizer, held, photo_images) -> dict:
    from ganstyle_desktop.engine.config import StyleSource, TrainConfig
    from ganstyle_desktop.engine.events import CheckpointSaved, TrainingFinished
    from ganstyle_desktop.engine.quality_monitor import meets_bar
    from ganstyle_desktop.engine.trainer import Trainer

    train_photos, _ = photo_split()
    out = RESULTS / "time_to_style" / slug
    if out.exists():
        import shutil

        shutil.rmtree(out)
    defaults = TrainConfig(styles=[], content_paths=[], out_dir="")
    # The defaults' step count is for a whole run; here the clock decides when to stop.
    steps = max(defaults.steps, args.max_steps)
    config = TrainConfig(
        styles=[StyleSource(name=slug, paths=[str(STYLES / slug)], display_name=slug)],
        content_paths=[str(p) for p in train_photos],
        out_dir=str(out / "run"),
        steps=steps,
        preview_every=0,
        checkpoint_every=args.eval_every,
        keep_last=1,
    )
    style_set = {slug: load_square(style_subset(slug), EVAL_SIZE)}
    from ganstyle_desktop.engine.control import JobControl

    control = JobControl()
    trained = 0.0
    t_mark = time.perf_counter()
    rows = []
    reached = None
    recognised = None  # the recogniser's half of the bar alone
    for event in Trainer(config, control).run():
        if isinstance(event, CheckpointSaved) and event.model_path is not None:
            trained += time.perf_counter() - t_mark
            metrics, outputs = evaluate(event.model_path, [slug], recognizer, held,
                                        photo_images, style_set)
            m = metrics[slug]
            ok = meets_bar({"recognised": m["recognised_share"],
                            "contour_f": m["contour_fscore"]})
            row = {"tradition": slug, "step": event.step, "train_minutes": round(trained / 60, 2),
                   "meets_bar": ok, **m}
            rows.append(row)
            print(json.dumps(row), flush=True)
            if recognised is None and m["recognised_share"] >= RECOGNISED_BAR:
                recognised = row
            if ok and reached is None:
                reached = row
                contact_sheet(photo_images, outputs, out / f"reached_{event.step:06d}.png")
                control.cancel()
            elif trained / 60 >= args.budget_minutes:
                control.cancel()
            t_mark = time.perf_counter()
        if isinstance(event, TrainingFinished):
            break
    return {
        "tradition": slug,
        "minutes_to_bar": reached["train_minutes"] if reached else None,
        "steps_to_bar": reached["step"] if reached else None,
        "minutes_to_recognised": recognised["train_minutes"] if recognised else None,
        "steps_to_recognised": recognised["step"] if recognised else None,
        "budget_minutes": args.budget_minutes,
        "evaluations": rows,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--traditions", nargs="+", default=list(DEFAULT_TRADITIONS))
    parser.add_argument("--budget-minutes", type=float, default=30.0)
    parser.add_argument("--eval-every", type=int, default=100)
    parser.add_argument("--max-steps", type=int, default=100_000)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    import torch

    torch.set_num_threads(args.threads)
    from ganstyle_desktop.engine.config import TrainConfig, default_knob_values

    recognizer = fitted_recognizer()
    _, held = photo_split()
    photo_images = load_square(held, EVAL_SIZE)
    t0 = time.perf_counter()
    results = [run_one(s, args, recognizer, held, photo_images) for s in args.traditions]
    d = TrainConfig(styles=[], content_paths=[], out_dir="")
    print(json.dumps({
        "benchmark": "time_to_style",
        # What the defaults train with (a knob at None resolved by the engine's table).
        "defaults": {"method": d.method, "preset": d.preset, "size": d.size,
                     "diffaugment": d.diffaugment,
                     **default_knob_values(d.method, d.preset)},
        "threads": args.threads,
        "wall_minutes": round((time.perf_counter() - t0) / 60, 1),
        "results": [{k: v for k, v in r.items() if k != "evaluations"} for r in results],
        "evaluations": [row for r in results for row in r["evaluations"]],
    }))


if __name__ == "__main__":
    sys.exit(main())
