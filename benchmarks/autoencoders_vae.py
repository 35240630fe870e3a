"""How well do the autoencoder and VAE families do on mnist_5k's held-out test split?

- reconstruction MSE (per pixel) of the autoencoder, sparse and denoising autoencoders;
- denoising: PSNR of noisy test images (Gaussian, sigma 0.3) before and after `denoise`;
- linear-probe accuracy (logistic regression) on autoencoder codes vs. on raw pixels;
- VAE and beta-VAE: negative ELBO and importance-sampled NLL (K = 100), nats per image;
- DB-VAE vs. a plain classifier of the same network on the biased "is it a 7?" task:
  accuracy on the rare subgroup (bold 7s), on thin 7s and on other digits, over seeds.

    python benchmarks/autoencoders_vae.py --epochs 15

Writes benchmarks/results/autoencoders_vae.{json,md} and figures under
benchmarks/results/figures/ (samples, reconstructions, traversal, interpolation).
"""

from __future__ import annotations

import argparse
import os
import sys

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import keras  # noqa: E402
import numpy as np  # noqa: E402

from keras_gen import data, latent  # noqa: E402
from keras_gen.data import DebiasingSampler  # noqa: E402
from keras_gen.models import DBVAE  # noqa: E402
from keras_gen.plots import save_image_grid  # noqa: E402
from keras_gen.training import TrainingRun  # noqa: E402
from reporting import write_results  # noqa: E402


def psnr(clean, other):
    mse = np.mean((clean - other) ** 2, axis=(1, 2, 3))
    return float(np.mean(10 * np.log10(1.0 / np.maximum(mse, 1e-12))))


def batched(fn, x, batch=500):
    return np.concatenate([np.asarray(fn(x[i : i + batch])) for i in range(0, len(x), batch)])


def linear_probe(train_features, y_train, test_features, y_test):
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    scaler = StandardScaler().fit(train_features)
    probe = LogisticRegression(max_iter=2000)
    probe.fit(scaler.transform(train_features), y_train)
    return float(probe.score(scaler.transform(test_features), y_test))


def fit(family, model_args, epochs, batch_size, lr=1e-3):
    """`(trained model, train seconds)`: family `family` trained on mnist_5k by a TrainingRun."""
    run = TrainingRun(family, "mnist_5k", epochs=epochs, batch_size=batch_size, seed=0,
                      model_args=model_args, optimizer=keras.optimizers.Adam(lr),
                      validation=False, verbose=0)
    run.run()
    return run.model, run.summary["train_seconds"]


def autoencoders(args, x_train, y_train, x_test, y_test, figures):
    rng = np.random.default_rng(0)
    noisy = np.clip(x_test + rng.normal(0, 0.3, x_test.shape), 0, 1).astype("float32")
    results = {"raw_pixel_probe_accuracy": linear_probe(
        x_train.reshape(len(x_train), -1), y_train, x_test.reshape(len(x_test), -1), y_test)}
    models = {
        "autoencoder": ("autoencoder", dict(latent_dim=32, units=(256,))),
        "conv_autoencoder": ("autoencoder", dict(latent_dim=32, architecture="conv", units=(32, 64))),
        "sparse_autoencoder": ("sparse_ae", dict(latent_dim=128, units=(256,), rho=0.05, beta=3.0)),
        "denoising_autoencoder": ("denoising_ae", dict(latent_dim=32, units=(256,),
                                                       noise="gaussian", stddev=0.3)),
    }
    for name, (family, model_args) in models.items():
        model, seconds = fit(family, model_args, args.epochs, args.batch_size)
        reconstructions = batched(model.reconstruct, x_test)
        denoised = batched(model.denoise, noisy)
        entry = {
            "test_mse": round(float(np.mean((reconstructions - x_test) ** 2)), 5),
            "noisy_psnr_db": round(psnr(x_test, noisy), 2),
            "denoised_psnr_db": round(psnr(x_test, denoised), 2),
            "linear_probe_accuracy": round(linear_probe(
                batched(model.encode, x_train), y_train, batched(model.encode, x_test), y_test), 4),
            "train_seconds": seconds,
        }
        if name == "sparse_autoencoder":
            codes = batched(model.encode, x_test)
            entry["mean_code_activation"] = round(float(codes.mean()), 4)
        results[name] = entry
        latent.save_reconstruction_figure(
            x_test[::100][:10], reconstructions[::100][:10],
            os.path.join(figures, f"{name}_reconstructions.png"))
        if name == "denoising_autoencoder":
            picks = slice(0, 1000, 100)
            save_image_grid(np.concatenate([noisy[picks], denoised[picks], x_test[picks]]),
                            os.path.join(figures, "denoising_noisy_denoised_clean.png"), cols=10)
    return results


def vaes(args, x_test, figures):
    results = {}
    for name, model_args in (("vae", {"latent_dim": 16}), ("beta_vae", {"latent_dim": 16, "beta": 4.0})):
        model, seconds = fit(name, model_args, args.vae_epochs, args.batch_size)
        elbo = float(np.mean(batched(model.elbo, x_test)))
        nll = float(-np.mean(batched(lambda x: model.log_likelihood(x, num_samples=args.iwae_k),
                                     x_test, batch=100)))
        results[name] = {"test_negative_elbo_nats": round(-elbo, 2),
                         f"test_iwae_nll_nats_k{args.iwae_k}": round(nll, 2),
                         "train_seconds": seconds}
        save_image_grid(model.sample(64, seed=0), os.path.join(figures, f"{name}_samples.png"))
        z = np.asarray(model.encode(x_test[:1])[0])[0]
        kl_per_dim = np.mean(0.5 * (np.exp(np.asarray(model.encode(x_test[:500])[1]))
                                    + np.asarray(model.encode(x_test[:500])[0]) ** 2 - 1
                                    - np.asarray(model.encode(x_test[:500])[1])), axis=0)
        busiest = np.argsort(kl_per_dim)[::-1][:6]  # the dimensions the model uses most
        latent.save_traversal_figure(model, z, os.path.join(figures, f"{name}_traversal.png"),
                                     dims=busiest, values=np.linspace(-3, 3, 9))
        codes = np.asarray(model.encode(x_test[::100][:10])[0])
        pairs = [(codes[i], codes[i + 1]) for i in range(0, 10, 2)]
        latent.save_interpolation_figure(model, pairs, os.path.join(figures, f"{name}_interpolation.png"),
                                         steps=10)
        latent.save_reconstruction_figure(x_test[::100][:10], np.asarray(model.reconstruct(x_test[::100][:10])),
                                          os.path.join(figures, f"{name}_reconstructions.png"))
    return results


def debiasing(args):
    from keras_gen.data.biased import biased_digit_task

    task = biased_digit_task(rare_fraction=0.03)
    x, y, bold = task["train"]
    x_test, y_test, bold_test = task["test"]
    groups = {"bold_7s (rare)": (y_test == 1) & (bold_test == 1),
              "thin_7s": (y_test == 1) & (bold_test == 0), "other_digits": y_test == 0}
    runs = {"plain_classifier": [], "dbvae": []}
    for seed in range(args.seeds):
        for name, debias in (("plain_classifier", False), ("dbvae", True)):
            keras.utils.set_random_seed(seed)
            model = DBVAE(latent_dim=args.dbvae_latent,
                          vae_weight=args.dbvae_vae_weight if debias else 0.0)
            model.compile(optimizer=keras.optimizers.Adam(1e-3))
            sampler = DebiasingSampler(x, y, batch_size=args.batch_size, debias=debias, seed=seed)
            model.fit(sampler.dataset, steps_per_epoch=len(x) // args.batch_size,
                      epochs=args.dbvae_epochs, callbacks=[sampler], verbose=0)
            predictions = batched(model.classify, x_test) > 0.5
            entry = {group: float(np.mean(predictions[mask] == y_test[mask]))
                     for group, mask in groups.items()}
            entry["sampling_mass_on_bold_7s"] = float(sampler.probabilities[bold[y == 1] == 1].sum())
            runs[name].append(entry)
    summary = {name: {key: round(float(np.mean([r[key] for r in entries])), 4)
                      for key in entries[0]} for name, entries in runs.items()}
    return {"setup": "train: 400 sevens of which 12 bold (3%), 3,600 other digits of which half "
                     "bold; test: mnist_5k test split, half of every class bold",
            "mean_over_seeds": summary, "per_seed": runs}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--vae-epochs", type=int, default=30)
    parser.add_argument("--dbvae-epochs", type=int, default=10)
    parser.add_argument("--dbvae-latent", type=int, default=8)
    parser.add_argument("--dbvae-vae-weight", type=float, default=0.05)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--iwae-k", type=int, default=100)
    parser.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "results"))
    args = parser.parse_args(argv)
    figures = os.path.join(args.out, "figures")
    os.makedirs(figures, exist_ok=True)
    x_train, y_train = data.load_arrays("mnist_5k", "train")
    x_test, y_test = data.load_arrays("mnist_5k", "test")

    results = {"config": vars(args),
               "autoencoders": autoencoders(args, x_train, y_train, x_test, y_test, figures),
               "vaes": vaes(args, x_test, figures),
               "debiasing": debiasing(args)}
    ae, va, db = results["autoencoders"], results["vaes"], results["debiasing"]["mean_over_seeds"]
    rows = [(f"{name}: test MSE / probe acc / PSNR noisy -> denoised",
             f"{ae[name]['test_mse']} / {ae[name]['linear_probe_accuracy']} / "
             f"{ae[name]['noisy_psnr_db']} -> {ae[name]['denoised_psnr_db']} dB")
            for name in ("autoencoder", "conv_autoencoder", "sparse_autoencoder", "denoising_autoencoder")]
    rows.append(("raw-pixel linear probe accuracy", round(ae["raw_pixel_probe_accuracy"], 4)))
    rows.append(("sparse AE mean code activation (rho = 0.05)", ae["sparse_autoencoder"]["mean_code_activation"]))
    for name in ("vae", "beta_vae"):
        rows.append((f"{name}: test -ELBO / IWAE NLL (K={args.iwae_k}), nats",
                     f"{va[name]['test_negative_elbo_nats']} / {va[name][f'test_iwae_nll_nats_k{args.iwae_k}']}"))
    for name in ("plain_classifier", "dbvae"):
        entry = db[name]
        rows.append((f"{name}: accuracy bold 7s (rare) / thin 7s / other digits; mass on bold 7s",
                     f"{entry['bold_7s (rare)']} / {entry['thin_7s']} / {entry['other_digits']}; "
                     f"{entry['sampling_mass_on_bold_7s']}"))
    shown = [*(f"{name}_reconstructions.png" for name in ae), "denoising_noisy_denoised_clean.png",
             *(f"{name}_{kind}.png" for name in va
               for kind in ("samples", "traversal", "interpolation", "reconstructions"))]
    write_results(args.out, "autoencoders_vae", results, rows,
                  command="python benchmarks/autoencoders_vae.py " + " ".join(argv or sys.argv[1:]),
                  figures=shown)
    return results


if __name__ == "__main__":
    main()
