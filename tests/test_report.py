"""The HTML report, opened in headless Chromium (Debian's `chromium`, driven by Playwright):
assertions on what a person sees, and screenshots kept in `test-artifacts/`.

Without Chromium these tests skip and say how to install it; with `CI` set, a missing browser
fails them (CI installs it, `.ci/run`)."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from iadsim.api import load, report
from iadsim.cli import app
from iadsim.reports.report import LABEL

runner = CliRunner()
ARTIFACTS = Path(__file__).parent.parent / "test-artifacts"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]
RUNS, SEED = 300, 4


@pytest.fixture(scope="module")
def browser():
    """Headless Chromium, or a skip (a failure under CI) saying how to get it."""
    if CHROMIUM is None:
        message = ("no Chromium: install Debian's `chromium` (apt-get install chromium) to "
                   "run the browser tests")
        if os.environ.get("CI"):
            pytest.fail(message + "; CI must have it")
        pytest.skip(message)
    playwright = pytest.importorskip("playwright.sync_api")
    with playwright.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """The report of caracas-2026's `reported` profile, explained from `full`, and the run's
    JSON output for the same profile, runs and seed."""
    folder = tmp_path_factory.mktemp("report")
    model = load("caracas-2026", "reported")
    path = report(model, folder / "report.html", runs=RUNS, seed=SEED, explain_from="full")
    shown = runner.invoke(app, ["run", "caracas-2026", "--profile", "reported", "--runs",
                                str(RUNS), "--seed", str(SEED), "--json"])
    assert shown.exit_code == 0, shown.output
    return model, path, json.loads(shown.stdout)


def opened(browser, path: Path, name: str):
    """A page showing the report, with every request it made; a screenshot is kept."""
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.goto(path.as_uri())
    page.wait_for_selector("#fig-map .scatterlayer .trace")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
    return page, requests


def test_the_report_is_one_offline_file_under_8_mb(built, browser):
    _, path, _ = built
    assert path.stat().st_size < 8 << 20
    page, requests = opened(browser, path, "report")
    assert all(u.startswith(("file:", "data:", "about:")) for u in requests), requests
    text = page.inner_text("body")
    assert text.count(LABEL) >= 2  # at the top and at the end; fixed on every printed page
    page.close()


def test_the_map_has_a_marker_per_site_and_a_path_per_route(built, browser):
    model, path, _ = built
    sc = model.scenario
    page, _ = opened(browser, path, "report-map")
    traces = page.evaluate("""() => document.getElementById('fig-map').data.map(
        t => ({name: t.name, points: (t.x || []).filter(v => v !== null).length}))""")
    by_name = {t["name"]: t["points"] for t in traces}
    sites = sum(by_name.get(k, 0) for k in ("radars", "command posts", "radar-guided SAMs",
                                              "infrared SAMs"))
    located = [c for c in sc.command_posts if c.lat is not None]
    assert sites == len(sc.sensors) + len(located) + len(sc.fire_units)
    drawn = page.locator("#fig-map .scatterlayer .trace path.point").count()
    assert drawn >= sites  # every site's marker is on the page (route waypoints add more)
    routes = [n for n in by_name if n.startswith("route ")]
    assert sorted(routes) == sorted(f"route {f.id}" for f in (*sc.threats, *sc.streams))
    labels = page.locator("#fig-map .textpoint text").all_text_contents()
    assert {e.id for e in sc.fire_units} <= set(labels)
    assert "coastline" in by_name and by_name["coastline"] > 100
    page.close()


def test_figure_titles_give_the_numbers_of_the_json_output(built, browser):
    _, path, shown = built
    page, _ = opened(browser, path, "report-outcomes")
    titles = page.locator("#outcomes .gtitle").all_text_contents()
    for label, name in (("threats killed", "threats_killed"), ("leakers", "leakers")):
        e = shown["observables"][name]
        expected = f"{label}: mean {e['mean']:.3g} (95% CI {e['ci_low']:.3g}–{e['ci_high']:.3g})"
        assert expected in titles, (expected, titles)
    embedded = json.loads(page.locator("#iadsim-summary").text_content() or "{}")
    assert embedded["observables"] == shown["observables"]
    assert embedded["first_broken_link"] == shown["first_broken_link"]
    assert page.locator("#explanation svg text").count() > 0
    assert "leakers from full to reported" in page.inner_text("#explanation")
    page.close()


def test_bad_input_is_one_line_and_writes_nothing(tmp_path):
    target = tmp_path / "r.html"
    for args, message in (
            (["--profile", "nope"], "no profile 'nope'"),
            (["--evidence", str(tmp_path / "missing.yaml")], "no such file"),
            (["--from", "full"], "--from and --to go together")):
        result = runner.invoke(app, ["report", "caracas-2026", "-o", str(target), "--runs", "2",
                                     *args])
        assert result.exit_code == 1, result.output
        assert message in result.output and result.output.count("error:") == 1
    blocked = runner.invoke(app, ["report", "caracas-2026", "-o",
                                  str(tmp_path / "no" / "r.html")])
    assert blocked.exit_code == 1 and "no folder" in blocked.output
    assert list(tmp_path.iterdir()) == []
