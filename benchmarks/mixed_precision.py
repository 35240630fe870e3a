"""Does every family train under mixed precision without NaN, and how fast?

For each family (the README sizes, mnist_5k) and each policy (float32, mixed_float16,
mixed_bfloat16): 200 training steps through `model.fit`, the final losses, whether any logged
loss was ever non-finite, the final loss scale of each float16 optimizer, and images/s.

    python benchmarks/mixed_precision.py --steps 200
    python benchmarks/mixed_precision.py --families vae,dcgan --policies mixed_float16
    python benchmarks/mixed_precision.py --policies mixed_float16 --batch-size 16 --merge

Writes benchmarks/results/mixed_precision.{json,md}.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import keras  # noqa: E402
import numpy as np  # noqa: E402

from keras_gen.models import FAMILIES  # noqa: E402
from reporting import write_results  # noqa: E402
from speed import BATCH, FAMILY_ARGS, compiled_family, training_data  # noqa: E402


class NonFiniteWatch(keras.callbacks.Callback):
    """Counts batches whose logged losses were not finite (training goes on, to count them).

    With `progress_every`, also prints the step count and elapsed seconds every that many steps,
    so a long emulated-float16 run shows how far it has got.
    """

    def __init__(self, progress_every=0):
        super().__init__()
        self.bad_steps = 0
        self.progress_every = progress_every
        self.start = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):
        if any(not np.isfinite(float(v)) for v in (logs or {}).values() if np.ndim(v) == 0):
            self.bad_steps += 1
        if self.progress_every and (batch + 1) % self.progress_every == 0:
            print(f"  step {batch + 1}: {time.perf_counter() - self.start:.0f} s, "
                  f"{self.bad_steps} non-finite", file=sys.stderr, flush=True)


def run(name, policy, steps, batch_size=BATCH, progress_every=0):
    keras.mixed_precision.set_global_policy(policy)
    try:
        keras.utils.set_random_seed(0)
        model = compiled_family(name)
        watch = NonFiniteWatch(progress_every)
        start = time.perf_counter()
        history = model.fit(training_data(name, FAMILIES[name], batch_size), steps_per_epoch=steps, epochs=1, verbose=0,
                            callbacks=[watch])
        seconds = time.perf_counter() - start
        scales = {slot: float(opt.dynamic_scale.numpy()) for slot, opt in model.optimizers_by_name.items()
                  if isinstance(opt, keras.optimizers.LossScaleOptimizer)}
        final = {k: round(float(v[-1]), 4) for k, v in history.history.items()}
        return {"final": final, "non_finite_steps": watch.bad_steps,
                "all_final_finite": all(np.isfinite(v) for v in final.values()),
                "loss_scales": scales, "images_per_s": round(steps * batch_size / seconds, 1)}
    finally:
        keras.mixed_precision.set_global_policy("float32")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--families", default=",".join(FAMILY_ARGS))
    parser.add_argument("--policies", default="float32,mixed_float16,mixed_bfloat16")
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--batch-size", type=int, default=BATCH,
                        help="smaller batches make float16 affordable on a CPU without float16 kernels")
    parser.add_argument("--progress-every", type=int, default=0,
                        help="print the step count and elapsed time every this many steps")
    parser.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "results"))
    parser.add_argument("--merge", action="store_true",
                        help="keep an earlier results file's runs of other families or policies")
    args = parser.parse_args(argv)
    results = {"config": {k: v for k, v in vars(args).items() if k not in ("out", "progress_every")},
               "runs": {}}
    command = "python benchmarks/mixed_precision.py " + " ".join(argv or sys.argv[1:])
    for name in args.families.split(","):
        results["runs"][name] = {}
        for policy in args.policies.split(","):
            record = run(name, policy, args.steps, args.batch_size, args.progress_every)
            record.update(steps=args.steps, batch_size=args.batch_size)
            results["runs"][name][policy] = record
            print(name, policy, record, flush=True)
    previous_path = os.path.join(args.out, "mixed_precision.json")
    if args.merge and os.path.exists(previous_path):
        with open(previous_path) as handle:
            previous = json.load(handle)
        for name, runs in previous.get("runs", {}).items():
            for policy, record in runs.items():
                record.setdefault("steps", previous["config"]["steps"])
                record.setdefault("batch_size", previous["config"].get("batch_size", BATCH))
                results["runs"].setdefault(name, {}).setdefault(policy, record)
        command = "; ".join([*previous.get("commands", [previous.get("command", "")]), command])
    results["commands"] = command.split("; ")
    rows = []
    for name, runs in results["runs"].items():
        cells = []
        for policy, record in runs.items():
            status = "ok" if record["all_final_finite"] and not record["non_finite_steps"] else \
                f"{record['non_finite_steps']} non-finite steps"
            cells.append(f"{policy} ({record['steps']} steps of {record['batch_size']}): {status}, "
                         f"{record['images_per_s']} img/s")
        rows.append((name, "; ".join(cells)))
    write_results(args.out, "mixed_precision", results, rows, command=command)
    return results


if __name__ == "__main__":
    main()
