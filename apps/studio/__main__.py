"""Run the studio.

    python -m apps.studio                          # every shipped preset (exported on first start)
    python -m apps.studio --exported exported      # your own exports
    python -m apps.studio --serving-url http://localhost:8501 --models vae,cgan
"""

from __future__ import annotations

import argparse
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m apps.studio", description=__doc__)
    parser.add_argument("--exported", default=None,
                        help="export root with <name>/<version>/ folders (default: the shipped "
                             "presets, exported into $KERAS_GEN_CACHE/presets on first start)")
    parser.add_argument("--serving-url", default=None, help="TF Serving REST URL, e.g. http://localhost:8501")
    parser.add_argument("--models", default=None, help="comma-separated model names (default: all)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--max-upload-mb", type=float, default=2.0, help="largest accepted upload")
    parser.add_argument("--allowed-host", action="append", default=[],
                        help="a host name besides localhost and IP addresses that may reach the "
                             "studio (repeatable)")
    args = parser.parse_args(argv)

    from apps.studio import create_app

    names = [n.strip() for n in args.models.split(",") if n.strip()] if args.models else None
    if args.exported is None and args.serving_url is None:
        from keras_gen.presets import export_presets

        print("studio: exporting the shipped presets (once; later starts reuse them) ...", flush=True)
        args.exported = export_presets(names=names)
    elif args.exported is None:
        args.exported = "exported"
    app = create_app(args.exported, serving_url=args.serving_url,
                     max_upload_bytes=int(args.max_upload_mb * 2**20), model_names=names,
                     allowed_hosts=args.allowed_host)
    print(f"studio: {len(app.extensions['studio_models'])} models on http://{args.host}:{args.port}/")
    app.run(host=args.host, port=args.port, threaded=True)


if __name__ == "__main__":
    main()
