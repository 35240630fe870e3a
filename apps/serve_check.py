"""Check every SavedModel under an export folder against the TF Serving contract.

    python apps/serve_check.py exported/

For each model folder (its latest version) it reads the signature defs from `saved_model.pb`
as TF Serving does, checks that every input is batched and JSON-representable, and that a
`PredictRequest` built from example inputs gives the in-process answer; it also checks that
`models.config` parses as TF Serving's ModelServerConfig and lists every model. Exit status 1
on any problem.
"""

from __future__ import annotations

import argparse
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def check_models_config(root, names):
    """Problems with `<root>/models.config` (parsed with TF Serving's own proto)."""
    from google.protobuf import text_format
    from tensorflow_serving.config import model_server_config_pb2

    path = os.path.join(root, "models.config")
    if not os.path.exists(path):
        return [f"{path} is missing"]
    config = model_server_config_pb2.ModelServerConfig()
    with open(path) as handle:
        text_format.Parse(handle.read(), config)
    listed = {c.name: c for c in config.model_config_list.config}
    problems = [f"models.config does not list {name!r}" for name in names if name not in listed]
    problems += [f"models.config lists {name!r} with platform {c.model_platform!r}"
                 for name, c in listed.items() if c.model_platform != "tensorflow"]
    return problems


def check_export_root(root):
    """`(reports, problems)` for every model folder in `root`."""
    from keras_gen.export import model_folders
    from keras_gen.serving import check_saved_model

    names = model_folders(root)
    if not names:
        return [], [f"no model folders with versions under {root}"]
    reports = [check_saved_model(os.path.join(root, name)) for name in names]
    problems = check_models_config(root, names)
    for name, report in zip(names, reports):
        problems += [f"{name}: {p}" for p in report["problems"]]
    return reports, problems


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root", nargs="?", default="exported")
    args = parser.parse_args(argv)
    if not os.path.isdir(args.root):
        parser.error(f"no such folder: {args.root}")
    reports, problems = check_export_root(args.root)
    for report in reports:
        status = "ok" if not report["problems"] else "FAIL"
        print(f"{status:4s} {report['path']}  {report['model']}  {', '.join(report['signatures'])}")
    for problem in problems:
        print("problem:", problem, file=sys.stderr)
    print(f"{len(reports)} models checked, {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
