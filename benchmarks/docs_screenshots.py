"""Screenshots of the documentation site in headless Chromium: its home page, one family page
and the API reference, to look at what `mkdocs build` made.

    python benchmarks/docs_screenshots.py      # builds the site into a temporary folder first

Writes results/figures/docs_{home,family_page,api_models}.png and results/docs_site.md.
Needs Debian's Chromium (`apt-get install chromium`) and Playwright.
"""

from __future__ import annotations

import functools
import http.server
import os
import subprocess
import sys
import tempfile
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from reporting import write_results  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PAGES = {"docs_home.png": "/", "docs_family_page.png": "/families/attention-gans/",
         "docs_api_models.png": "/api/models/"}


def main(out=os.path.join(ROOT, "benchmarks", "results")):
    from playwright.sync_api import sync_playwright

    site = tempfile.mkdtemp(prefix="keras_gen_site_")
    subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-d", site], cwd=ROOT,
                   check=True, env=dict(os.environ, NO_MKDOCS_2_WARNING="1"))
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=site)
    handler.log_message = lambda *args: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium",
                                             args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        for name, path in PAGES.items():
            page.goto(base + path)
            page.wait_for_timeout(800)
            page.screenshot(path=os.path.join(out, "figures", name))
        browser.close()
    server.shutdown()
    write_results(out, "docs_site", {"pages": PAGES},
                  [(f"`{path}`", f"figures/{name}") for name, path in PAGES.items()],
                  "python benchmarks/docs_screenshots.py", figures=list(PAGES))
    return 0


if __name__ == "__main__":
    sys.exit(main())
