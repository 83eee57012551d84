"""Make docs/report.png, the README's picture of `tierlang report`: the STP example's 2017 run
against the 2018 draft with a sensitivity analysis, rendered by headless Chromium (the system
package), a few regions of the page stacked.

    .venv/bin/python docs/screenshot.py
"""

from __future__ import annotations

import io
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TIERLANG = str(Path(sys.executable).parent / "tierlang")
DATA = ["--data", "examples/stp_2017/stp_2017.csv", "--data", "organisation=examples/stp_2017/organisations.csv"]
REGIONS = ["header", ".counts", "#entity-5", "#transitions", "#chart-probabilities"]


def main() -> None:
    from PIL import Image
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp:
        db, out = str(Path(tmp) / "a.db"), Path(tmp) / "report.html"

        def tierlang(*args: str) -> None:
            subprocess.run([TIERLANG, *args, "--audit", db], cwd=ROOT, check=True, stdout=subprocess.DEVNULL)

        tierlang("diff", "methodologies/stp_dashboard_2017.tier", "methodologies/stp_dashboard_2018_draft.tier",
                 *DATA)
        tierlang("sensitivity", "methodologies/stp_dashboard_2017.tier", *DATA, "--samples", "1000", "--seed", "1",
                 "--weights", "dirichlet(100)", "-q")
        tierlang("report", "1", "--against", "2", "--sensitivity", "1", "--out", str(out),
                 "--note", "STP dashboard 2017 against the 2018 draft B")
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=shutil.which("chromium"), args=["--no-sandbox"])
            page = browser.new_page(viewport={"width": 1150, "height": 900})
            page.goto(out.as_uri())
            shots = [Image.open(io.BytesIO(page.locator(selector).first.screenshot())) for selector in REGIONS]
            browser.close()
    gap = 24
    width = max(s.width for s in shots)
    picture = Image.new("RGB", (width, sum(s.height for s in shots) + gap * (len(shots) - 1)), "white")
    y = 0
    for shot in shots:
        picture.paste(shot, (0, y))
        y += shot.height + gap
    picture.save(ROOT / "docs" / "report.png", optimize=True)


if __name__ == "__main__":
    main()
