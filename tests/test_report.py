"""`tierlang report`: one offline HTML file, read from the audit store, checked as text and in a
real headless Chromium (no console error, no network request, charts that render)."""

from __future__ import annotations

import html
import io
import os
import re
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests import stp_store
from tierlang.cli import main

HOSTILE_LABEL = '<script>alert("x")</script><img src=x onerror=alert(1)>'
HOSTILE_NOTE = '</dd><script>document.title="owned"</script>'


def esc(text: str) -> str:
    """As Jinja2's autoescape writes it."""
    from markupsafe import escape

    return str(escape(text))


@pytest.fixture(scope="module")
def stp(tmp_path_factory):
    return stp_store.build(tmp_path_factory.mktemp("report"))


@pytest.fixture(scope="module")
def report_file(stp, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("html") / "report.html"
    result = CliRunner().invoke(
        main,
        [
            "report",
            str(stp.old_run),
            "--against",
            str(stp.new_run),
            "--sensitivity",
            str(stp.analysis),
            "--out",
            str(out),
            "--audit",
            stp.path,
            "--note",
            HOSTILE_NOTE,
        ],
    )
    assert result.exit_code == 0, result.output
    assert f"report of run {stp.old_run}, against run {stp.new_run}" in result.output
    return out


def _text(path: Path) -> str:
    return path.read_text(encoding="utf-8")


# ---------------------------------------------------------------- the file


def test_the_report_is_one_offline_file(report_file):
    text = _text(report_file)
    assert "<script" not in text.lower()  # the hostile note is escaped, and there is no script
    assert esc(HOSTILE_NOTE) in text
    csp = re.search(r'<meta http-equiv="Content-Security-Policy" content="([^"]+)">', text).group(1)
    csp = html.unescape(csp)
    assert csp.startswith("default-src 'none'") and "img-src data:" in csp
    sources = re.findall(r'\b(?:src|href)="([^"]*)"', text)
    assert sources and all(s.startswith(("data:image/svg+xml;base64,", "#")) for s in sources), (
        sources
    )
    assert "<link" not in text and "@import" not in text and "url(" not in text


def test_the_report_shows_what_the_store_recorded(stp, report_file):
    from audit import open_store
    from audit.explain import explain, format_number
    from audit.tables import ranked_table

    text = _text(report_file)
    store = open_store(stp.path, create=False)
    try:
        table = ranked_table(store, stp.old_run)
        dorset = explain(store, "Dorset", stp.old_run)
        comparison = [
            r
            for r in __import__("audit.compare", fromlist=["x"]).comparisons(store)
            if r["id"] == stp.comparison
        ][0]["outcome"]
        run = store.run(stp.old_run)
    finally:
        store.close()
    # header, docstring and every ASSUMPTION comment of the recorded source
    assert "STP progress dashboard, baseline view (documented reconstruction)" in text
    assert "THIS IS A RECONSTRUCTION, NOT NHS ENGLAND&#39;S METHODOLOGY." in text
    source = stp_store.STP_2017.read_text(encoding="utf-8")
    assert text.count("<li>ASSUMPTION") == len(re.findall(r"^# ASSUMPTION", source, re.M)) == 12
    # tier counts as recorded
    for label in ("outstanding", "advanced", "making_progress", "needs_most_improvement"):
        n = int((table["tier"] == label).sum())
        assert re.search(
            rf'<span class="tier tier-\d">{label}</span></td><td class="num">{n}</td>', text
        )
    # the ranked table: every entity, in rank order, with its recorded score
    rows = re.findall(r'<tr><td class="num">(\d+)</td><td><a href="#entity-\d+">([^<]+)</a>', text)
    assert [int(r) for r, _ in rows] == sorted(int(r) for r in table["rank"])
    assert {k for _, k in rows} == set(table.index)
    # an entity's section: its contributions and the sentence of the rule, as explain gives them
    overall = dorset.headline_node.children[0]
    for c in overall.components:
        assert f"{esc(c.title)} {format_number(c.contribution)}" in text
    assert esc(dorset.headline_node.details[2]) in text
    assert text.count('<section class="entity"') == 44
    assert text.count("<details><summary>Derivation") == 44
    # limits that acted and the distance to the next tier, from the recorded tier steps
    with open_store(stp.path, create=False) as store:
        steps = store.tier_steps(stp.old_run, "overall_rating")
    limited = [s for s in steps if s.limits_acted]
    assert limited  # the leadership cap acts on the example data
    assert text.count("<dt>limits that acted</dt><dd>limit 1: limited to at most") == len(limited)
    assert text.count("<dt>limits that acted</dt><dd>none</dd>") == 44 - len(limited)
    below = [s for s in steps if s.before_limits == "making_progress"]
    assert text.count("below the threshold for advanced (&gt;= 2.5)</dd>") == len(below)
    # against: the recorded transition matrix and every mover
    counts = comparison["transitions"]["counts"]
    cells = re.findall(
        r'<td class="(?:same|moved)(?: zero)?">(\d+)</td>',
        text.split('id="transitions"')[1].split("</table>")[0],
    )
    assert [int(c) for c in cells] == [n for row in counts for n in row]
    for mover in comparison["movers"]:
        assert esc(mover["label"]) in text
    # sensitivity and provenance
    assert 'id="chart-probabilities"' in text and 'id="chart-intervals"' in text
    assert run.chain_hash in text and run.content_hash in text and run.methodology_sha256 in text
    assert run.dataset_sha256 in text
    assert '<span class="ok">verified</span>' in text


def test_a_tampered_run_is_reported_as_not_verified(stp, tmp_path):
    import sqlite3

    copy = tmp_path / "tampered.db"
    shutil.copy(stp.path, copy)
    conn = sqlite3.connect(copy)
    conn.execute(
        "UPDATE tier_steps SET from_value = from_value + 1 WHERE run = ? AND entity = 0",
        (stp.old_run,),
    )
    conn.commit()
    conn.close()
    out = tmp_path / "r.html"
    result = CliRunner().invoke(
        main,
        ["report", str(stp.old_run), "--out", str(out), "--audit", str(copy), "--entities", "2"],
    )
    assert result.exit_code == 0, result.output
    text = _text(out)
    assert '<span class="bad">not verified</span>' in text and "content hash mismatch" in text
    assert text.count('<section class="entity"') == 2


def test_data_from_the_store_is_escaped(tmp_path):
    methodology = tmp_path / "m.tier"
    methodology.write_text(
        'methodology "Groups <b>bold</b>"\nentity country key iso3 label country\n'
        'input hdi: number "HDI" from "hdi" range 0..1\n'
        'tier g "Group" from hdi {\n  High: >= 0.7\n  Low: otherwise\n}\n',
        encoding="utf-8",
    )
    data = tmp_path / "d.csv"
    data.write_text(
        f'iso3,country,hdi\nAAA,"{HOSTILE_LABEL.replace(chr(34), chr(34) * 2)}",0.8\nBBB,Plain,0.5\n',
        encoding="utf-8",
    )
    db = str(tmp_path / "a.db")
    runner = CliRunner()
    assert (
        runner.invoke(main, ["run", str(methodology), "--data", str(data), "--audit", db]).exit_code
        == 0
    )
    out = tmp_path / "r.html"
    result = runner.invoke(main, ["report", "--out", str(out), "--audit", db])
    assert result.exit_code == 0, result.output
    text = _text(out)
    assert "<script" not in text and "<img src=x" not in text and "<b>bold</b>" not in text
    assert esc(HOSTILE_LABEL) in text and "Groups &lt;b&gt;bold&lt;/b&gt;" in text


@pytest.mark.parametrize(
    "args, message",
    [
        (["report", "9", "--out", "r.html"], "no run 9"),
        (["report", "1", "--against", "9", "--out", "r.html"], "no run 9"),
        (["report", "1", "--sensitivity", "9", "--out", "r.html"], "no analysis 9"),
        (["report", "1", "--out", "r.pdf"], "use a .html file name"),
        (["report", "one", "--out", "r.html"], "expected a run id or 'latest'"),
    ],
)
def test_bad_requests_get_a_message(stp, tmp_path, args, message):
    result = CliRunner().invoke(main, [*args, "--audit", stp.path])
    assert result.exit_code != 0
    assert message in result.output
    assert "Traceback" not in result.output


def test_an_account_of_one_organisation(stp, tmp_path):
    out = tmp_path / "dorset.html"
    runner = CliRunner()
    result = runner.invoke(
        main,
        ["report", str(stp.old_run), "--entity", "Dorset", "--out", str(out), "--audit", stp.path],
    )
    assert result.exit_code == 0, result.output
    text = _text(out)
    assert text.count('<section class="entity"') == 1 and "16. Dorset" in text
    assert "1 of 44, as asked." in text and text.count('<a href="#entity-1">41</a>') == 1
    result = runner.invoke(
        main,
        ["report", str(stp.old_run), "--entity", "F41-T1", "--out", str(out), "--audit", stp.path],
    )
    assert result.exit_code == 2
    assert (
        "--entity F41-T1: an entity of level organisation, not of the top level (STP)"
        in result.output
    )
    result = runner.invoke(
        main,
        ["report", "--entity", "Dorset", "--entities", "3", "--out", str(out), "--audit", stp.path],
    )
    assert result.exit_code == 2 and "not both" in result.output


def test_an_analysis_of_another_methodology_is_refused(stp, tmp_path):
    result = CliRunner().invoke(
        main,
        [
            "report",
            str(stp.new_run),
            "--sensitivity",
            str(stp.analysis),
            "--out",
            str(tmp_path / "r.html"),
            "--audit",
            stp.path,
        ],
    )
    assert result.exit_code == 2
    assert f"the analysis is of run {stp.analysis_run}" in result.output


def test_a_comparison_not_yet_recorded_is_made_and_recorded(stp, tmp_path):
    from audit import open_store
    from audit.compare import comparisons

    copy = tmp_path / "copy.db"
    shutil.copy(stp.path, copy)
    out = tmp_path / "r.html"
    result = CliRunner().invoke(
        main,
        [
            "report",
            str(stp.new_run),
            "--against",
            str(stp.old_run),
            "--entities",
            "0",
            "--out",
            str(out),
            "--audit",
            str(copy),
        ],
    )
    assert result.exit_code == 0, result.output
    with open_store(copy) as store:
        made = [
            r
            for r in comparisons(store)
            if (r["old_run"], r["new_run"]) == (stp.new_run, stp.old_run)
        ]
    assert len(made) == 1 and f"Comparison {made[0]['id']} as recorded" in _text(out)


# ---------------------------------------------------------------- in a real browser


def _chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("CI must have Chromium: .ci/run installs the Debian package `chromium`")
        pytest.skip("Chromium is not installed (apt-get install chromium); CI installs it")
    return found


@pytest.fixture(scope="module")
def browser():
    executable = _chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, args=["--no-sandbox"])
        yield browser
        browser.close()


def _load(browser, path: Path):
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    events = {"console": [], "errors": [], "requests": [], "failed": []}
    page.on("console", lambda m: events["console"].append(f"{m.type}: {m.text}"))
    page.on("pageerror", lambda e: events["errors"].append(str(e)))
    page.on("request", lambda r: events["requests"].append(r.url))
    page.on("requestfailed", lambda r: events["failed"].append((r.url, r.failure)))
    page.goto(path.as_uri(), wait_until="load")
    return page, events


def test_the_report_loads_in_chromium_with_no_error_and_no_request(browser, report_file):
    page, events = _load(browser, report_file)
    assert events["console"] == [] and events["errors"] == [] and events["failed"] == []
    assert events["requests"] == [report_file.as_uri()]  # the file itself, nothing else
    images = page.evaluate("Array.from(document.images).map(i => [i.complete, i.naturalWidth])")
    assert len(images) == 3 + 44 and all(complete and width > 0 for complete, width in images)
    assert page.title().startswith("STP progress dashboard")  # the hostile note did not run
    assert page.locator("section.entity details").count() == 44
    page.close()


def test_the_content_security_policy_blocks_any_request(browser, report_file, tmp_path):
    """A page that tried to load anything would be refused by the report's own policy."""
    attempt = tmp_path / "attempt.html"
    attempt.write_text(
        _text(report_file).replace(
            "</body>",
            '<img src="http://127.0.0.1:9/x.png"><link rel="stylesheet" href="http://127.0.0.1:9/s.css">'
            "</body>",
        ),
        encoding="utf-8",
    )
    page, events = _load(browser, attempt)
    tried = [url for url in events["requests"] if url.startswith("http")]
    assert len(tried) == 2 and sorted(events["failed"]) == sorted((url, "csp") for url in tried)
    assert (
        sum("violates the following Content Security Policy" in line for line in events["console"])
        == 2
    )
    page.close()


def _ink(png: bytes) -> tuple[float, int]:
    """(share of pixels that are not near-white, distinct colours) of a screenshot."""
    import numpy as np
    from PIL import Image

    pixels = np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).reshape(-1, 3)
    inked = int((pixels.min(axis=1) < 235).sum())
    return inked / len(pixels), len(np.unique(pixels, axis=0))


def test_the_charts_render(browser, report_file):
    page, _ = _load(browser, report_file)
    for selector in (
        "#chart-distribution",
        "#chart-probabilities",
        "#chart-intervals",
        "img.contribution",
    ):
        chart = page.locator(selector).first
        chart.scroll_into_view_if_needed()
        box = chart.bounding_box()
        assert box["width"] > 200 and box["height"] > 100, selector
        ink, colours = _ink(chart.screenshot())
        assert ink > 0.03 and colours > 8, (selector, ink, colours)
    blank = page.locator("h1").screenshot()
    assert _ink(blank)[0] < 0.5  # the measure tells a chart from a blank region
    page.close()


def test_printing_opens_every_derivation(browser, report_file):
    """On screen a derivation is collapsed; printed (to paper or PDF) it is shown."""
    page, _ = _load(browser, report_file)
    tree = page.locator("section.entity details ul.tree").first
    assert not tree.is_visible()
    page.emulate_media(media="print")
    assert tree.is_visible()
    assert page.locator("nav").first.is_hidden()
    page.close()


def test_assumption_and_gap_paragraphs_are_found_in_the_source():
    from tierlang.html_report import _assumptions

    source = (
        "# ---------------------------------------------------------------- weights (GAP)\n"
        "# ASSUMPTION: equal weights,\n#   as nothing says otherwise.\n"
        "# GAP: the cut-off is unknown.\n"
        "param w: number = 0.5  # not a paragraph of its own\n"
        "# An ordinary comment.\n#\n"
        "# The page stops here. GAP: the other tables\n# were not retrieved.\n"
        '"""A docstring ASSUMPTION is shown with the docstring, not here."""\n'
    )
    assert _assumptions([("m.tier", source)]) == [
        ("m.tier", 2, "ASSUMPTION: equal weights, as nothing says otherwise."),
        ("m.tier", 4, "GAP: the cut-off is unknown."),
        ("m.tier", 8, "The page stops here. GAP: the other tables were not retrieved."),
    ]
