"""The generated parts of README.md and docs/: the family table and the preset table.

    python apps/docs_tables.py --write     # rewrite every generated block in place
    python apps/docs_tables.py --check     # exit 1, naming the stale blocks, when one is stale

A generated block sits between `<!-- generated: NAME -->` and `<!-- end generated -->`. The
family table reads `keras_gen.models.FAMILIES` (class, the first line of its docstring) and the
shipped presets' metadata (preset, headline figure); the preset table reads the presets'
metadata. Nothing in them is typed by hand, and `tests/test_docs.py` fails when one is stale.
"""

from __future__ import annotations

import argparse
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from keras_gen.models import FAMILIES  # noqa: E402
from keras_gen.presets import list_presets, preset_metadata  # noqa: E402

#: The files whose generated blocks `--write` and `--check` handle.
DOCUMENTS = ("README.md", os.path.join("docs", "index.md"), os.path.join("docs", "presets.md"))
BLOCK = re.compile(r"(<!-- generated: (\w+) -->\n)(.*?)(<!-- end generated -->)", re.S)


def _headline(facts):
    headline = facts.get("headline") or {}
    value = headline.get("value")
    if value is None:
        return ""
    return f"{headline.get('name')} {value:.4g}" if isinstance(value, float) else \
        f"{headline.get('name')} {value}"


def family_table(listed=None):
    """One row per registered family: its name, class, what it is (the first line of the
    class docstring), its shipped presets and their headline figures (held-out data)."""
    listed = list_presets() if listed is None else listed
    rows = ["| family | class | what it is | preset | headline (test split) |",
            "| --- | --- | --- | --- | --- |"]
    for name in sorted(FAMILIES):
        cls = FAMILIES[name]
        summary = " ".join((cls.__doc__ or "").strip().split("\n\n")[0].split())
        summary = summary.split(". ")[0].rstrip(".") + "."  # its first sentence
        presets = {p: facts for p, facts in listed.items() if facts["family"] == name}
        rows.append(f"| `{name}` | `{cls.__name__}` | {summary} | "
                    + "<br>".join(f"`{p}`" for p in presets) + " | "
                    + "<br>".join(_headline(f) for f in presets.values()) + " |")
    return "\n".join(rows)


def preset_table(listed=None):
    """One row per shipped preset: family, data, size, headline, recipe, training time."""
    listed = list_presets() if listed is None else listed
    rows = ["| preset | family | data | size | headline (test split) | recipe | trained |",
            "| --- | --- | --- | --- | --- | --- | --- |"]
    for name, facts in listed.items():
        meta = preset_metadata(facts["folder"])
        headline = facts["headline"] or {}
        trained = (f"{meta['training_seconds'] / 60:.1f} min" if "training_seconds" in meta else "")
        quick = (meta.get("quick_default") or {}).get("figures", {}).get(headline.get("name"))
        recipe = meta.get("recipe", "quick") + (f" (quick default: {quick})" if quick else "")
        rows.append(f"| `{name}` | `{facts['family']}` | {facts['data']} | "
                    f"{facts['bytes'] / 1e6:.2f} MB | {headline.get('name')} {headline.get('value')} | "
                    f"{recipe} | {trained} |")
    return "\n".join(rows)


GENERATORS = {"families": family_table, "presets": preset_table}


def refreshed(text, listed=None):
    """`text` with every generated block rewritten; a block of an unknown name raises."""
    listed = list_presets() if listed is None else listed

    def render(match):
        name = match.group(2)
        if name not in GENERATORS:
            raise ValueError(f"unknown generated block {name!r}; known: {sorted(GENERATORS)}")
        return match.group(1) + GENERATORS[name](listed) + "\n" + match.group(4)

    return BLOCK.sub(render, text)


def stale_documents(root=ROOT):
    """The documents (of `DOCUMENTS`) whose generated blocks differ from what they would be now."""
    listed = list_presets()
    stale = []
    for relative in DOCUMENTS:
        with open(os.path.join(root, relative)) as handle:
            text = handle.read()
        if refreshed(text, listed) != text:
            stale.append(relative)
    return stale


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--write", action="store_true")
    group.add_argument("--check", action="store_true")
    args = parser.parse_args(argv)
    if args.check:
        stale = stale_documents()
        for relative in stale:
            print(f"stale generated block in {relative}: run python apps/docs_tables.py --write",
                  file=sys.stderr)
        return 1 if stale else 0
    listed = list_presets()
    for relative in DOCUMENTS:
        path = os.path.join(ROOT, relative)
        with open(path) as handle:
            text = handle.read()
        with open(path, "w") as handle:
            handle.write(refreshed(text, listed))
    return 0


if __name__ == "__main__":
    sys.exit(main())
