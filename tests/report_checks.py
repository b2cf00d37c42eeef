"""Open a `snakemake --report` HTML file in headless Chromium and read back what it shows.

The report is a single-page React app: the menu lists the categories, a category its
subcategories and results, a result its caption ("Description"), and the result's view button
puts the file in the content pane (an ``<img>``, or an ``<iframe>`` on a data URI for HTML and
PDF). A small driver script, appended to a copy of the report, walks every result through the
app's own handlers (the ones its menu and view buttons call) and records each view's navigation
text and content pane; Chromium's ``--dump-dom`` returns the page with that record once the
driver is done (``--virtual-time-budget`` lets the timers run without waiting for them).
"""

from __future__ import annotations

import base64
import html
import json
import re
import shutil
import subprocess
import tempfile
import urllib.parse
from pathlib import Path

CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]

# Runs in the report's page after its app has rendered; leaves JSON in <pre id="probe">.
DRIVER = """
<script>
window.addEventListener("load", () => {
  const wait = () => new Promise(resolve => setTimeout(resolve, 250));  // React renders in between
  const nav = () => document.querySelector("#app nav").innerText;
  const pane = () => document.querySelector("#app > div").lastElementChild.outerHTML;
  (async () => {
    await wait();
    const record = {menu: nav(), categories: {}, results: {}};
    const placement = {};
    for (const [category, subcategories] of Object.entries(categories)) {
      app.showCategory(category); await wait();
      record.categories[category] = nav();  // its subcategories, or its results when it has one
      for (const [subcategory, paths] of Object.entries(subcategories)) {
        for (const path of paths) placement[path] = [category, subcategory];
      }
    }
    for (const path of Object.keys(results)) {
      app.showResultInfo(path); await wait();
      const info = nav();
      const button = new ButtonViewManager(app).handleSelectedResult(path);
      if (button.props.onClick) { button.props.onClick(); await wait(); }
      const [category, subcategory] = placement[path] || [null, null];
      record.results[path] = {info: info, pane: pane(), category: category, subcategory: subcategory};
    }
    const probe = document.createElement("pre");
    probe.id = "probe";
    probe.textContent = JSON.stringify(record);
    document.body.appendChild(probe);
  })();
});
</script>
"""


def chromium() -> str:
    """The Chromium binary; an AssertionError with the remedy when it is absent (never a skip)."""
    binary = shutil.which("chromium") or shutil.which("chromium-browser")
    assert binary, ("chromium is not installed: `make chromium` (run by `make test`) installs Debian's package; "
                    "the report test opens `snakemake --report` in it")
    return binary


def open_report(report_html: Path, timeout: int = 120) -> dict:
    """What the report shows: ``{"menu", "categories": {cat: nav text}, "results": {path:
    {"info" (its navigation text, the caption included), "pane" (the content pane's HTML),
    "category", "subcategory"}}}``."""
    with tempfile.TemporaryDirectory() as tmp:
        page = Path(tmp) / "report.html"
        text = report_html.read_text(encoding="utf-8")
        head, body_end, tail = text.rpartition("</body>")
        page.write_text(head + DRIVER + body_end + tail if body_end else text + DRIVER, encoding="utf-8")
        profile = Path(tmp) / "profile"
        result = subprocess.run([chromium(), *CHROMIUM_FLAGS, f"--user-data-dir={profile}",
                                 "--virtual-time-budget=60000", "--dump-dom", page.as_uri()],
                                capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, f"chromium failed: {result.stderr[-2000:]}"
    probe = re.search(r'<pre id="probe">(.*?)</pre>', result.stdout, re.S)
    assert probe, f"the report's app never finished rendering; chromium said: {result.stderr[-2000:]}"
    return json.loads(html.unescape(probe.group(1)))


def pane_document(pane: str) -> str:
    """The document an iframe in the content pane shows (its data URI decoded)."""
    match = re.search(r'<iframe[^>]*src="(data:[^"]*)"', pane)
    assert match, f"no iframe in the content pane: {pane[:300]}"
    header, _, data = match.group(1).partition(",")
    header, data = html.unescape(header), html.unescape(data)
    return base64.b64decode(data).decode("utf-8") if ";base64" in header else urllib.parse.unquote(data)
