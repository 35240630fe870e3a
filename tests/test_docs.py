"""The front door and the reference site (issue 40): a short README whose family table is
generated, a MkDocs site that builds with `--strict`, runnable quick-start code, and a results
folder whose every figure a page shows."""

import glob
import os
import re
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "apps"))

import docs_tables  # noqa: E402


def _readme():
    with open(os.path.join(ROOT, "README.md")) as handle:
        return handle.read()


def test_readme_is_a_short_front_door_with_the_ci_test_command():
    readme = _readme()
    assert len(readme.splitlines()) <= 200
    with open(os.path.join(ROOT, ".ci", "run")) as handle:
        ci_command = [line for line in handle if line.startswith("python -m pytest")][0].strip()
    assert f"```bash\n{ci_command}\n```" in readme
    for link in re.findall(r"\]\((docs/[^)#]+)", readme):  # every page it links exists
        assert os.path.exists(os.path.join(ROOT, link)), link


def test_generated_tables_are_fresh():
    """README's and the site's family and preset tables are generated; edit the families or
    presets, then run `python apps/docs_tables.py --write`."""
    assert docs_tables.stale_documents() == []
    readme = _readme()
    for name in docs_tables.FAMILIES:  # every family is in README's table
        assert f"| `{name}` |" in readme, name


def test_generated_block_of_an_unknown_name_is_refused():
    with pytest.raises(ValueError, match="unknown generated block 'famlies'"):
        docs_tables.refreshed("<!-- generated: famlies -->\n<!-- end generated -->", listed={})


def test_the_site_builds_strictly(tmp_path):
    """A broken link, a page missing from the nav's files or a docstring that fails to render
    fails `mkdocs build --strict`."""
    env = dict(os.environ, NO_MKDOCS_2_WARNING="1")
    proc = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict",
                           "-d", str(tmp_path / "site")], cwd=ROOT, capture_output=True,
                          text=True, env=env, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    for page in ("index.html", "families/gans/index.html", "api/models/index.html"):
        assert os.path.exists(tmp_path / "site" / page), page
    api = (tmp_path / "site" / "api" / "models" / "index.html").read_text()
    assert "keras_gen.models.DCGAN" in api and "keras_gen.models.StyleGAN" in api


def test_every_results_figure_is_shown_by_a_page():
    """A figure under benchmarks/results/figures/ that no results page, docs page or README
    shows is left over from a superseded run."""
    pages = glob.glob(os.path.join(ROOT, "benchmarks", "results", "*.md"))
    pages += glob.glob(os.path.join(ROOT, "docs", "**", "*.md"), recursive=True)
    text = "".join(open(p).read() for p in [*pages, os.path.join(ROOT, "README.md")])
    figures = os.listdir(os.path.join(ROOT, "benchmarks", "results", "figures"))
    assert sorted(f for f in figures if f not in text) == []


def test_readme_quick_start_runs(tmp_path):
    """The README's Python blocks, run in order in a fresh process (with one epoch where they
    say ten, to keep the test short)."""
    blocks = re.findall(r"```python\n(.*?)```", _readme(), re.S)
    assert len(blocks) >= 3
    code = "\n".join(blocks).replace("epochs=10", "epochs=1")
    proc = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True,
                          text=True, timeout=600,
                          env=dict(os.environ, PYTHONPATH=ROOT, TF_CPP_MIN_LOG_LEVEL="3"))
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert os.path.exists(tmp_path / "vae.keras")
    assert os.path.isdir(tmp_path / "exported" / "vae" / "1")
