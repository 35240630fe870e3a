"""Write a benchmark's figures as JSON plus a short markdown table, with machine and command."""

from __future__ import annotations

import datetime
import glob
import json
import os
import platform


def machine_description():
    """Where the figures were measured: processor, core count, library versions, accelerators."""
    import keras
    import tensorflow as tf

    processor = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as handle:
            for line in handle:
                if line.startswith("model name"):
                    processor = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return {
        "processor": processor,
        "cpu_count": os.cpu_count(),
        "gpus": [d.name for d in tf.config.list_physical_devices("GPU")],
        "python": platform.python_version(),
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
    }


def digit_reference():
    """What the digit benchmarks score samples against: `(extractor, test images, their
    features, the share of them the classifier is confident about)` on mnist_5k's test split."""
    from keras_gen import data, metrics

    extractor = metrics.DigitFeatures()
    x_test, _ = data.load_arrays("mnist_5k", "test")
    features, probabilities = extractor.features_and_probabilities(x_test)
    return extractor, x_test, features, round(metrics.confident_share(probabilities), 3)


def seconds_per_image(fn, batch):
    """`(wall-clock seconds per image, result)` of `fn(batch)`, timed on a second call after a
    tracing one."""
    import time

    fn(batch)
    start = time.perf_counter()
    result = fn(batch)
    return (time.perf_counter() - start) / batch, result


def mean_bits_per_dim(model, images, batch=250):
    """Mean `model.log_prob` (bits/dim) over `images`, in batches."""
    import numpy as np

    return float(np.concatenate([np.asarray(model.log_prob(images[i:i + batch]))
                                 for i in range(0, len(images), batch)]).mean())


def rounded(figures, digits=4):
    """`figures` with its floats rounded to `digits` decimals, for readable tables and JSON."""
    return {key: round(value, digits) if isinstance(value, float) else value for key, value in figures.items()}


def own_figures(out_dir, name, figures=()):
    """The figures a results page shows: `figures` (names under `<out_dir>/figures/`) and every
    `figures/<name>_*.png` that no longer results name claims (`openmoji_attention_*` belongs
    to `openmoji_attention`, not to `openmoji`)."""
    folder = os.path.join(out_dir, "figures")
    others = [os.path.basename(p)[:-3] for p in glob.glob(os.path.join(out_dir, "*.md"))]
    claimed = [o for o in others if len(o) > len(name) and o.startswith(name + "_")]
    found = [os.path.basename(p) for p in sorted(glob.glob(os.path.join(folder, f"{name}_*.png")))
             if not any(os.path.basename(p).startswith(o + "_") for o in claimed)]
    return [*dict.fromkeys([*figures, *found])]


def write_results(out_dir, name, results, rows, command, figures=()):
    """Write `<out_dir>/<name>.json` and `<out_dir>/<name>.md` (its figures shown at the end:
    `own_figures`); return the JSON path."""
    os.makedirs(out_dir, exist_ok=True)
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    record = {"benchmark": name, "date": stamp, "command": command,
              "machine": machine_description(), **results}
    json_path = os.path.join(out_dir, f"{name}.json")
    with open(json_path, "w") as handle:
        json.dump(record, handle, indent=2)
    machine = record["machine"]
    lines = [
        f"# {name}",
        "",
        f"- date: {stamp}",
        f"- command: `{command}`",
        f"- machine: {machine['processor']}, {machine['cpu_count']} cores, "
        f"GPUs: {machine['gpus'] or 'none'}; TensorFlow {machine['tensorflow']}, "
        f"Keras {machine['keras']}",
        "",
        "| figure | value |",
        "| --- | --- |",
        *[f"| {label} | {value} |" for label, value in rows],
        "",
    ]
    shown = own_figures(out_dir, name, figures)
    if shown:
        lines += ["## Figures", "", *[f"![{f}](figures/{f})" for f in shown], ""]
    with open(os.path.join(out_dir, f"{name}.md"), "w") as handle:
        handle.write("\n".join(lines))
    print("\n".join(lines))
    return json_path
