"""How much do speed.py's training figures vary from one fresh process to the next?

speed.py times each family once, in one process. Between its runs, the same family's images/s
has differed by up to 2x, and `apps/train.py --jit-compile auto` follows its XLA figures. This
benchmark measures that spread: it runs speed.py's alternating measurement (keras_gen's `fit`,
the keras.io-style reference on the same networks, and keras_gen with `jit_compile=True`, in
turn, three times over) for every family in several fresh processes, the families interleaved
so that a slow spell of the machine falls on many of them. For each family it reports, over
processes, the lowest, median and highest of the best images/s of keras_gen and the
reference, of their ratio and of the XLA speed-up; the spread within a process; and the CPU
time the hypervisor stole during it.

    python benchmarks/speed_spread.py                          # every family, 3 processes
    python benchmarks/speed_spread.py --families vae,dcgan --processes 5

Writes benchmarks/results/speed_spread.{json,md}. Run it alone: it measures the machine too.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import numpy as np  # noqa: E402

from reporting import write_results  # noqa: E402

# families whose step costs 10x a DCGAN step time fewer steps per fit, so a process stays short
STEPS = {"cyclegan": 6, "pixelcnn": 10, "diffusion": 10}
RESULT_PREFIX = "RATES "


def cpu_times():
    """(busy, steal, total) jiffies of all CPUs so far, from /proc/stat (zeros where absent)."""
    try:
        with open("/proc/stat") as handle:
            fields = [int(v) for v in handle.readline().split()[1:]]
    except OSError:
        return 0, 0, 0
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    steal = fields[7] if len(fields) > 7 else 0
    total = sum(fields[:8])
    return total - idle - steal, steal, total


def child(name, steps, repeats):
    """In a fresh process: speed.py's alternating measurement of `name`, printed as JSON."""
    from speed import BATCH, CRITIC_STEPS, alternating_train_rates

    _, _, _, ours, theirs, xla = alternating_train_rates(name, steps, repeats, with_xla=True)
    factor = CRITIC_STEPS if name == "wgan_gp" else 1
    print(RESULT_PREFIX + json.dumps({"ours": [r * BATCH for r in ours],
                                      "theirs": [r * BATCH * factor for r in theirs],
                                      "xla": [r * BATCH for r in xla]}), flush=True)


def run_process(name, steps, repeats):
    before = cpu_times()
    output = subprocess.run([sys.executable, os.path.abspath(__file__), "--child", name,
                             "--steps", str(steps), "--repeats", str(repeats)],
                            capture_output=True, text=True, check=True).stdout
    after = cpu_times()
    line = next(line for line in output.splitlines() if line.startswith(RESULT_PREFIX))
    rates = json.loads(line[len(RESULT_PREFIX):])
    total = max(after[2] - before[2], 1)
    rates["busy_share"] = round((after[0] - before[0]) / total, 3)  # of all cores: 1.0 = every core busy
    rates["steal_share"] = round((after[1] - before[1]) / total, 4)
    return rates


def span(low_median_high):
    return " / ".join(str(v) for v in low_median_high)


def low_median_high(values, digits):
    return [round(float(f(values)), digits) for f in (np.min, np.median, np.max)]


def summarise(runs):
    """Over processes: low / median / high of the best rates and of their ratio, and spreads."""
    best_ours = np.array([max(r["ours"]) for r in runs])
    summary = {"processes": len(runs),
               "ours": low_median_high(best_ours, 1),
               "between_process_spread": round(float(best_ours.max() / best_ours.min()), 3),
               "within_process_spread_median": round(float(np.median(
                   [max(r["ours"]) / min(r["ours"]) for r in runs])), 3),
               "steal_share_max": max(r["steal_share"] for r in runs)}
    best_xla = np.array([max(r["xla"]) for r in runs])
    summary["xla_speedup"] = low_median_high(best_xla / best_ours, 3)
    if runs[0]["theirs"]:
        best_theirs = np.array([max(r["theirs"]) for r in runs])
        ratios = best_ours / best_theirs
        summary["reference"] = low_median_high(best_theirs, 1)
        summary["reference_between_process_spread"] = round(float(best_theirs.max() / best_theirs.min()), 3)
        summary["ratio"] = low_median_high(ratios, 3)
    return summary


def main(argv=None):
    from speed import FAMILY_ARGS

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--families", default=",".join(FAMILY_ARGS))
    parser.add_argument("--processes", type=int, default=3, help="fresh processes per family")
    parser.add_argument("--steps", type=int, default=30,
                        help="training steps per timed fit (fewer for " + ", ".join(STEPS) + ")")
    parser.add_argument("--repeats", type=int, default=3, help="timed fits of each model per process")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "results"))
    args = parser.parse_args(argv)
    if args.child:
        return child(args.child, args.steps, args.repeats)
    names = args.families.split(",")
    runs = {name: [] for name in names}
    for round_ in range(args.processes):
        for name in names:
            runs[name].append(run_process(name, min(args.steps, STEPS.get(name, args.steps)), args.repeats))
            print(round_, name, runs[name][-1], flush=True)
    results = {"config": {k: v for k, v in vars(args).items() if k not in ("out", "child")},
               "steps_per_fit": {name: min(args.steps, STEPS.get(name, args.steps)) for name in names},
               "families": {name: {"summary": summarise(r), "runs": r} for name, r in runs.items()}}
    rows = []
    for name, entry in results["families"].items():
        s = entry["summary"]
        parts = [f"keras_gen {span(s['ours'])} img/s (x{s['between_process_spread']} between processes, "
                 f"x{s['within_process_spread_median']} within)"]
        if "ratio" in s:
            parts += [f"reference {span(s['reference'])} (x{s['reference_between_process_spread']})",
                      f"ratio {span(s['ratio'])}"]
        parts += [f"XLA x{span(s['xla_speedup'])}", f"steal <= {100 * s['steal_share_max']:.1f}%"]
        rows.append((f"{name}: low / median / high over {s['processes']} processes", "; ".join(parts)))
    write_results(args.out, "speed_spread", results, rows,
                  command="python benchmarks/speed_spread.py " + " ".join(argv or sys.argv[1:]))
    return results


if __name__ == "__main__":
    main()
