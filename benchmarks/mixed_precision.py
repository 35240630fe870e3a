"""Does every family train under mixed precision without NaN, and how fast?

For each family (the README sizes, mnist_5k) and each policy (float32, mixed_float16,
mixed_bfloat16): 200 training steps through `model.fit`, the final losses, whether any logged
loss was ever non-finite, the final loss scale of each float16 optimizer, and images/s.

    python benchmarks/mixed_precision.py --steps 200
    python benchmarks/mixed_precision.py --families vae,dcgan --policies mixed_float16

Writes benchmarks/results/mixed_precision.{json,md}.
"""

from __future__ import annotations

import argparse
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
from speed import BATCH, FAMILY_ARGS, training_data  # noqa: E402


class NonFiniteWatch(keras.callbacks.Callback):
    """Counts batches whose logged losses were not finite (training goes on, to count them)."""

    def __init__(self):
        super().__init__()
        self.bad_steps = 0

    def on_train_batch_end(self, batch, logs=None):
        if any(not np.isfinite(float(v)) for v in (logs or {}).values() if np.ndim(v) == 0):
            self.bad_steps += 1


def run(name, policy, steps):
    keras.mixed_precision.set_global_policy(policy)
    try:
        keras.utils.set_random_seed(0)
        family = FAMILIES[name]
        model = family(image_shape=(28, 28, 1), **FAMILY_ARGS[name])
        model.compile(optimizer=model.default_optimizer())
        watch = NonFiniteWatch()
        start = time.perf_counter()
        history = model.fit(training_data(name, family), steps_per_epoch=steps, epochs=1, verbose=0,
                            callbacks=[watch])
        seconds = time.perf_counter() - start
        scales = {slot: float(opt.dynamic_scale.numpy()) for slot, opt in model.optimizers_by_name.items()
                  if isinstance(opt, keras.optimizers.LossScaleOptimizer)}
        final = {k: round(float(v[-1]), 4) for k, v in history.history.items()}
        return {"final": final, "non_finite_steps": watch.bad_steps,
                "all_final_finite": all(np.isfinite(v) for v in final.values()),
                "loss_scales": scales, "images_per_s": round(steps * BATCH / seconds, 1)}
    finally:
        keras.mixed_precision.set_global_policy("float32")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--families", default=",".join(FAMILY_ARGS))
    parser.add_argument("--policies", default="float32,mixed_float16,mixed_bfloat16")
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "results"))
    args = parser.parse_args(argv)
    results = {"config": {k: v for k, v in vars(args).items() if k != "out"}, "runs": {}}
    rows = []
    for name in args.families.split(","):
        results["runs"][name] = {}
        cells = []
        for policy in args.policies.split(","):
            record = run(name, policy, args.steps)
            results["runs"][name][policy] = record
            print(name, policy, record, flush=True)
            status = "ok" if record["all_final_finite"] and not record["non_finite_steps"] else \
                f"{record['non_finite_steps']} non-finite steps"
            cells.append(f"{policy}: {status}, {record['images_per_s']} img/s")
        rows.append((f"{name} ({args.steps} steps)", "; ".join(cells)))
    write_results(args.out, "mixed_precision", results, rows,
                  command="python benchmarks/mixed_precision.py " + " ".join(argv or sys.argv[1:]))
    return results


if __name__ == "__main__":
    main()
