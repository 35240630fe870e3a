"""Train any keras_gen family with `model.fit`, then export it for TF Serving.

    python apps/train.py                      # VAE on the offline mnist_5k, exports exported/vae/<n>
    python apps/train.py vae --dataset mnist_5k --epochs 5 --batch-size 64 \
        --steps-per-epoch 20 --out runs/vae --export-dir exported --set latent_dim=8 --set beta=4
    python apps/train.py stacked_ae --pretrain-epochs 2 --set "units=(256, 128)"

Families: vae, beta_vae, cvae (labels from the dataset), dbvae (the biased "is it a 7?" task
built from the dataset's digits, resampled each epoch), autoencoder, stacked_ae, sparse_ae,
denoising_ae, gan, dcgan, cgan (labels from the dataset), wgan_gp, pix2pix (edges -> digit
pairs from the dataset, or a folder of side-by-side A|B images), cyclegan (scikit-learn
digits <-> mnist_5k, or tfds:cycle_gan/<pair>), pixelcnn, diffusion. GANs, translators and
diffusion see data in [-1, 1] and export images in [0, 1].

Writes under `--out`: `checkpoints/epoch_NNN.weights.h5` (one per epoch), `logs/` (TensorBoard,
with sample images), `samples/samples_epoch_NNN.png`, `history.csv`, `curves.png` and
`model.keras`; then the SavedModel to `<export-dir>/<name>/<version>/`.

Killed mid-run, the same command resumes from the last completed epoch (`backup/`, Keras's
BackupAndRestore: weights, optimizer state and epoch). A NaN or infinite loss stops the run
with exit status 3 and a message naming the loss and the step; nothing is exported.

`--strategy mirrored` trains data-parallel on every local GPU (or CPU); `--strategy
multiworker` runs one worker of a MultiWorkerMirroredStrategy cluster described by the
`TF_CONFIG` environment variable. Only the chief (worker 0) exports; other workers write their
run folder under `<out>/worker_<index>`.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import sys
import time

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def parse_overrides(pairs):
    """`["latent_dim=8", "beta=4.0"]` -> `{"latent_dim": 8, "beta": 4.0}` (Python literals)."""
    overrides = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep or not key.isidentifier():
            raise ValueError(f"--set expects key=value, got {pair!r}")
        try:
            overrides[key] = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            overrides[key] = value
    return overrides


def build_parser(families):
    parser = argparse.ArgumentParser(
        description="Train a keras_gen model with model.fit and export it as a SavedModel."
    )
    parser.add_argument("family", nargs="?", default="vae", choices=sorted(families))
    parser.add_argument("--dataset", default="mnist_5k",
                        help="mnist_5k (offline default), digits, tfds:<name>, or a folder path")
    parser.add_argument("--image-size", type=int, nargs=2, metavar=("H", "W"), default=None)
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--steps-per-epoch", type=int, default=None)
    parser.add_argument("--learning-rate", type=float, default=None,
                        help="default: the family's own (1e-3; GANs 2e-4, WGAN-GP 1e-4)")
    parser.add_argument("--out", default=None, help="run folder (default runs/<family>)")
    parser.add_argument("--export-dir", default="exported")
    parser.add_argument("--name", default=None, help="export name (default: the family)")
    parser.add_argument("--no-export", action="store_true")
    parser.add_argument("--no-validation", action="store_true")
    parser.add_argument("--precision", default="float32",
                        choices=["float32", "mixed_float16", "mixed_bfloat16"])
    parser.add_argument("--jit-compile", default="auto", choices=["auto", "on", "off"],
                        help="XLA; auto = on with a GPU, and on a CPU only for the families measured "
                             "faster with it there (" + ", ".join(XLA_FASTER_ON_CPU) + ")")
    parser.add_argument("--pretrain-epochs", type=int, default=0,
                        help="greedy layer-wise pretraining epochs per layer (stacked_ae)")
    parser.add_argument("--fid-every", type=int, default=0,
                        help="FID to the test split every N epochs (image generators)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--strategy", default="default", choices=["default", "mirrored", "multiworker"],
                        help="tf.distribute strategy (multiworker reads TF_CONFIG)")
    parser.add_argument("--steps-per-execution", type=int, default=1,
                        help="train steps per compiled call (fewer Python round trips)")
    parser.add_argument("--verbose", type=int, default=1, choices=[0, 1, 2])
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="model constructor argument, repeatable (e.g. --set latent_dim=8)")
    return parser


def load_data(args, family):
    """`{"train", "validation", "callbacks", "steps_per_epoch", "model_args"}` for a family."""
    from keras_gen import data

    if hasattr(family, "task_data"):  # families with a task of their own (dbvae, translators)
        return family.task_data(args.dataset, args.batch_size, seed=args.seed,
                                image_size=args.image_size)
    labels = getattr(family, "needs_labels", False)
    common = dict(batch_size=args.batch_size, value_range=getattr(family, "value_range", (0.0, 1.0)),
                  seed=args.seed, image_size=args.image_size, with_labels=labels)
    if os.path.isdir(args.dataset):
        train, test = data.from_directory(args.dataset, **common), None
        num_classes = len(data.folders.class_names(args.dataset)) if labels else None
    else:
        train = data.load(args.dataset, "train", **common)
        test = None if args.no_validation else data.load(args.dataset, "test", **common)
        num_classes = data.num_classes(args.dataset) if labels else None
    if not labels:
        train = data.images_only(train)
        test = data.images_only(test) if test is not None else None
    model_args = {"num_classes": num_classes} if num_classes else {}
    return {"train": train, "validation": test, "callbacks": [],
            "steps_per_epoch": args.steps_per_epoch, "model_args": model_args}


def make_strategy(name):
    """`(strategy, is_chief, worker_index)` for `--strategy`."""
    import tensorflow as tf

    if name == "mirrored":
        return tf.distribute.MirroredStrategy(), True, 0
    if name == "multiworker":
        if "TF_CONFIG" not in os.environ:
            raise ValueError("--strategy multiworker needs the TF_CONFIG environment variable")
        strategy = tf.distribute.MultiWorkerMirroredStrategy()
        resolver = strategy.cluster_resolver
        task_type, index = resolver.task_type, int(resolver.task_id or 0)
        has_chief = "chief" in resolver.cluster_spec().as_dict()
        is_chief = task_type == "chief" or (task_type == "worker" and index == 0 and not has_chief)
        return strategy, is_chief, index
    return tf.distribute.get_strategy(), True, 0


def read_backup_epoch(backup_dir):
    """Epochs completed by an interrupted run whose BackupAndRestore folder is `backup_dir`."""
    path = os.path.join(backup_dir, "training_metadata.json")
    try:
        with open(path) as handle:
            return int(json.load(handle)["epoch"])
    except (OSError, ValueError, KeyError):
        return None


# Families whose training step measured faster with XLA than without on a CPU in every one of
# three fresh processes of benchmarks/speed_spread.py (1.05x to 1.37x). The others measured
# slower in at least one (0.17x to 0.93x; the MLP GAN 0.82x, 0.93x, 1.05x). With a GPU, XLA is
# on for all (not measured here).
XLA_FASTER_ON_CPU = ("autoencoder", "stacked_ae", "sparse_ae")


def resolve_jit(choice, family_name, strategy_name="default"):
    """`--jit-compile` as a bool: `auto` follows the measurements per device kind and family."""
    import tensorflow as tf

    if choice == "auto":
        if tf.config.list_physical_devices("GPU"):
            return True
        return family_name in XLA_FASTER_ON_CPU and strategy_name == "default"
    return choice == "on"


def main(argv=None):
    from keras_gen.models import FAMILIES

    args = build_parser(FAMILIES).parse_args(argv)
    try:
        overrides = parse_overrides(args.set)
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2

    try:  # first: MultiWorkerMirroredStrategy must exist before any other TensorFlow op
        strategy, is_chief, worker_index = make_strategy(args.strategy)
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2

    import keras

    from keras_gen.export import export
    from keras_gen.callbacks import EpochCheckpoint, NonFiniteLossError, SampleGrid, StopOnNonFiniteLoss
    from keras_gen.plots import plot_history

    keras.utils.set_random_seed(args.seed)
    keras.mixed_precision.set_global_policy(args.precision)
    family = FAMILIES[args.family]
    out = args.out or os.path.join("runs", args.family)
    if not is_chief:
        out = os.path.join(out, f"worker_{worker_index}")
    try:
        prepared = load_data(args, family)
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    train, test = prepared["train"], prepared["validation"]
    spec = train.element_spec[0] if isinstance(train.element_spec, tuple) else train.element_spec
    image_shape = tuple(spec.shape[1:])
    with strategy.scope():
        try:
            model = family(image_shape=image_shape, **{**prepared["model_args"], **overrides})
        except (TypeError, ValueError) as err:
            print(f"error: cannot build {args.family}: {err}", file=sys.stderr)
            return 2
        model.compile(optimizer=model.default_optimizer(args.learning_rate),
                      jit_compile=resolve_jit(args.jit_compile, args.family, args.strategy),
                      steps_per_execution=args.steps_per_execution)
    os.makedirs(out, exist_ok=True)
    reference = None
    if getattr(model, "preview", None):  # image-to-image models: show inputs above outputs
        reference = next(iter(test if test is not None else train))
        reference = reference[0] if isinstance(reference, tuple) else reference
        if getattr(model, "value_range", (0.0, 1.0)) == (-1.0, 1.0):
            reference = (reference + 1.0) / 2.0
    backup_dir = os.path.join(out, "backup")
    resumed_epoch = read_backup_epoch(backup_dir)
    if resumed_epoch is None and os.path.exists(os.path.join(out, "history.csv")):
        os.remove(os.path.join(out, "history.csv"))  # a fresh run; a resumed one appends
    # Order matters for a kill at any moment: an epoch's checkpoint and history row are
    # written before the backup that marks the epoch done (a kill in between re-runs it).
    callbacks = [
        StopOnNonFiniteLoss(),
        *prepared["callbacks"],
        EpochCheckpoint(os.path.join(out, "checkpoints", "epoch_{epoch:03d}.weights.h5")),
        keras.callbacks.TensorBoard(os.path.join(out, "logs")),
        keras.callbacks.CSVLogger(os.path.join(out, "history.csv"), append=True),
        SampleGrid(os.path.join(out, "samples"), log_dir=os.path.join(out, "logs"),
                   reference_images=reference),
        keras.callbacks.BackupAndRestore(backup_dir, save_freq="epoch", delete_checkpoint=True,
                                         double_checkpoint=True),
    ]
    if resumed_epoch is not None:
        print(f"resuming from the backup in {backup_dir}: {resumed_epoch} of {args.epochs} epochs done",
              flush=True)
    if args.fid_every and test is not None and not getattr(model, "preview", None):
        from keras_gen.callbacks import FIDCallback
        from keras_gen.data import load_arrays

        reference = load_arrays(args.dataset, "test")[0] if args.dataset in ("mnist_5k", "digits") else None
        if reference is not None:
            # first, so CSVLogger and TensorBoard see the value in the same epoch
            callbacks.insert(0, FIDCallback(reference, every=args.fid_every, num_images=1000))
    os.makedirs(os.path.join(out, "checkpoints"), exist_ok=True)
    start = time.time()
    if args.pretrain_epochs and hasattr(model, "pretrain_layerwise"):
        model.pretrain_layerwise(train, epochs_per_layer=args.pretrain_epochs,
                                 steps_per_epoch=args.steps_per_epoch, verbose=args.verbose)
    try:
        history = model.fit(
            train,
            epochs=args.epochs,
            steps_per_epoch=args.steps_per_epoch or prepared["steps_per_epoch"],
            validation_data=test,
            callbacks=callbacks,
            shuffle=False,  # the pipelines shuffle already
            verbose=args.verbose,
        )
    except NonFiniteLossError as err:
        print(f"error: {err}; nothing exported (checkpoints of earlier epochs are in "
              f"{os.path.join(out, 'checkpoints')})", file=sys.stderr)
        return 3
    seconds = time.time() - start
    plot_history(history.history, os.path.join(out, "curves.png"))
    model.save(os.path.join(out, "model.keras"))
    final = {k: float(v[-1]) for k, v in history.history.items()}
    summary = {"family": args.family, "dataset": args.dataset, "epochs": args.epochs,
               "resumed_from_epoch": resumed_epoch,
               "train_seconds": round(seconds, 1), "final_metrics": final, "run_dir": out}
    if not args.no_export and is_chief:
        path = export(
            model,
            os.path.join(args.export_dir, args.name or args.family),
            metadata={"training_data": args.dataset, "epochs": args.epochs,
                      "precision": args.precision, "metrics": final},
        )
        summary["export"] = path
    with open(os.path.join(out, "summary.json"), "w") as handle:
        json.dump(summary, handle, indent=2)
    print(json.dumps(summary, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
