"""The HTML report, opened in headless Chromium (Debian's `chromium`, driven by Playwright):
assertions on what a person sees, and screenshots kept in `test-artifacts/`.

Without Chromium these tests skip and say how to install it; with `CI` set, a missing browser
fails them (CI installs it, `.ci/run`)."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import threading
import urllib.error
import urllib.request
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
    page.locator("#fig-map .updatemenu-button", has_text="defence close up").click()
    page.wait_for_function("document.getElementById('fig-map').layout.xaxis.range[1] < -66.5")
    x0, x1 = page.evaluate("document.getElementById('fig-map').layout.xaxis.range")
    assert all(x0 < e.lon < x1 for e in (*sc.sensors, *sc.fire_units))
    assert x1 - x0 < 1.0  # close enough to read the labels
    page.close()


def test_rings_are_each_class_s_coverage_and_envelopes_at_its_altitude(built, browser):
    import math

    from iadsim.geometry import detection_range_km, radar_horizon_km
    from iadsim.reports.map import threat_classes

    model, path, _ = built
    sc = model.scenario
    classes = threat_classes(sc)
    page, _ = opened(browser, path, "report-rings")
    rings = page.evaluate("""() => document.getElementById('fig-map').data
        .filter(t => t.meta && t.meta.ring)
        .map(t => ({ring: t.meta.ring, site: t.meta.site, lon: t.x[0], lat: t.y[0],
                    name: t.name, shown: t.visible === true}))""")
    assert {r["name"] for r in rings if r["shown"]} == {
        r["name"] for r in rings if f"against {classes[0][0]} " in r["name"]}  # the first
    sites = {e.id: e for e in (*sc.sensors, *sc.fire_units)}

    def km(a, b):  # great-circle distance from a site to a ring's first point
        p1, p2 = math.radians(a.lat), math.radians(b["lat"])
        d = math.radians(b["lon"] - a.lon)
        return 6371.0088 * math.acos(min(1.0, math.sin(p1) * math.sin(p2) +
                                         math.cos(p1) * math.cos(p2) * math.cos(d)))

    def ground(slant_km, height_m):  # the model's ranges are slant: where a height meets one
        return math.sqrt(slant_km ** 2 - (height_m / 1000) ** 2)

    assert any(alt > 5000 for _, alt, _ in classes)  # where slant and ground ranges differ
    for cls, alt, rcs in classes:
        mine = [r for r in rings if f"against {cls} " in r["name"]]
        for s in sc.sensors:
            (r,) = [r for r in mine if r["site"] == s.id]
            slant = min(detection_range_km(s.range_km, rcs), radar_horizon_km(s.height_m, alt))
            assert km(s, r) == pytest.approx(ground(slant, alt - s.height_m), rel=1e-3)
        for u in sc.fire_units:
            outer = [r for r in mine if r["site"] == u.id]
            reached = abs(alt - u.height_m) < 1000 * u.max_range_km
            assert bool(outer) == (u.min_alt_m <= alt <= u.max_alt_m and reached), (cls, u.id)
            if outer:
                assert km(sites[u.id], outer[0]) == pytest.approx(
                    ground(u.max_range_km, alt - u.height_m), rel=1e-3)
    page.close()


def test_a_ring_is_the_ground_radius_where_an_altitude_meets_a_slant_range():
    from iadsim.reports.map import ground_km

    assert ground_km(5.0, 3000.0) == pytest.approx(4.0)  # 3-4-5
    assert ground_km(5.0, -3000.0) == pytest.approx(4.0)  # a target below the site
    assert ground_km(3.0, 3000.0) is None  # the altitude is beyond the range: no ring
    assert ground_km(0.0, 0.0) is None


def test_the_explanation_table_gives_shares_effects_alone_and_single_fixes(built, browser):
    from iadsim.api import explain

    model, path, _ = built
    e = explain(load("caracas-2026"), "full", "reported", runs=RUNS, seed=SEED).to_dict()
    page, _ = opened(browser, path, "report-explanation")
    rows = page.locator("#explanation table.fixes tbody tr").all()
    assert len(rows) == len(e["groups"])
    for row, g in zip(rows, e["groups"], strict=True):
        cells = row.locator("td").all_inner_texts()
        assert cells[0] == g["name"]
        assert cells[3].startswith(f"{g['fix']['mean']:+.3g} ")
        assert cells[2].startswith(f"{g['alone']['mean']:+.3g} ")
    page.close()


def test_the_evidence_section_lists_every_claim(tmp_path, browser):
    from iadsim.api import infer

    model = load("caracas-2026", "reported")
    path = report(model, tmp_path / "evidence.html", runs=100, seed=1, evidence=None,
                  hypotheses=model.scenario.source.file.replace(".yaml", ".hypotheses.yaml"))
    claims = infer(model, runs=100, seed=1).to_dict()["reports"]
    page, _ = opened(browser, path, "report-evidence")
    rows = page.locator("#inference table.claims tbody tr").all()
    assert len(rows) == len(claims)
    for row, claim in zip(rows, claims, strict=True):
        cells = row.locator("td").all_inner_texts()
        assert cells[0] == claim["id"] and cells[1] == claim["claim"]
        assert cells[2] and cells[3] == f"{claim['reliability']:.3g}"
    assert page.locator("#fig-posterior svg text").count() > 0
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


def test_the_timeline_shows_the_representative_replications_events(built, browser):
    from iadsim.engine import run, trace
    from iadsim.reports.report import representative

    model, path, _ = built
    expected = representative(run(model, RUNS, seed=SEED))
    page, _ = opened(browser, path, "report-timeline")
    assert page.locator("#timeline h2").inner_text() == f"Timeline of replication {expected}"
    events = json.loads(page.locator("#iadsim-trace").text_content() or "[]")
    assert events == json.loads(json.dumps(trace(model, expected, seed=SEED).events))
    drawn = {t["name"]: t["n"] for t in page.evaluate(
        "document.getElementById('fig-timeline').data.map("
        "t => ({name: t.name, n: (t.y || []).length}))")}
    kinds = [e["kind"] for e in events]
    assert drawn["engagements"] == kinds.count("engaged")
    assert drawn["flight until killed"] + drawn["flight until leaked"] == kinds.count("started")
    assert drawn["flight until killed"] == kinds.count("killed")
    assert page.locator("#fig-timeline .bars path").count() > 0
    page.close()


def test_a_reference_report_replays_a_replication_the_fast_engine_chose(tmp_path):
    """The timeline is the fast engine's replay, so its replication is the fast engine's median
    one: the reference engine's would replay (other random numbers) to another outcome."""
    from iadsim.engine import run
    from iadsim.reports.report import representative

    pytest.importorskip("plotly")
    model = load("caracas-2026", "reported")
    page = report(model, tmp_path / "r.html", runs=RUNS, seed=SEED,
                  engine="reference").read_text(encoding="utf-8")
    fast = run(model, RUNS, seed=SEED)
    chosen = int(fast.replication[representative(fast)])
    reference = run(model, RUNS, seed=SEED, engine="reference")
    assert chosen != int(reference.replication[representative(reference)])
    assert f"Timeline of replication {chosen}<" in page
    assert "chosen among the fast engine's run of the same replications" in page


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


# --- the what-if page -----------------------------------------------------------------------------

SERVE_RUNS, SERVE_SEED = 500, 2


@contextlib.contextmanager
def serving(server):
    """The server's address while it serves in a thread."""
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    host, port = server.server_address[:2]
    try:
        yield f"http://{host}:{port}"
    finally:
        server.shutdown()
        server.server_close()


def post(url: str, body: bytes, **headers: str) -> tuple[int, dict]:
    """A JSON POST: the status and the decoded answer."""
    request = urllib.request.Request(url, data=body, method="POST",
                                     headers={"Content-Type": "application/json", **headers})
    try:
        with urllib.request.urlopen(request, timeout=60) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


@pytest.fixture(scope="module")
def served():
    """`iadsim serve`'s server for caracas-2026 on a free loopback port, in a thread."""
    from iadsim.api import serve

    with serving(serve(load("caracas-2026"), port=0, runs=SERVE_RUNS,
                       seed=SERVE_SEED)) as url:
        yield url


def test_moving_a_control_updates_the_outcome_as_the_api_says(served, browser):
    from iadsim.api import what_if

    page = browser.new_page(viewport={"width": 1200, "height": 900})
    page.goto(served + "/")
    page.wait_for_selector("body[data-done='1']")
    before = page.locator("#out-0").get_attribute("data-mean")
    for group in ("connectivity", "orders"):
        done = int(page.locator("body").get_attribute("data-done"))
        page.check(f"input[name=fixed][value='{group}']")
        page.wait_for_selector(f"body[data-done='{done + 1}']")
    page.select_option("select[data-post='cp-air-defence']", "autonomous")
    page.wait_for_selector("body[data-done='4']")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "serve.png"), full_page=True)
    shown = {page.locator(f"#out-{i}").get_attribute("data-observable"):
             float(page.locator(f"#out-{i}").get_attribute("data-mean")) for i in range(4)}
    w = what_if(load("caracas-2026"), runs=SERVE_RUNS, seed=SERVE_SEED)
    expected = w.evaluate(w.choice({"fixed": ["connectivity", "orders"],
                                    "authority": {"cp-air-defence": "autonomous"}}))["outcomes"]
    assert shown == {k: v["mean"] for k, v in expected.items()}
    assert float(before) != shown["threats_killed"]
    assert page.locator("#fig-links .bars path").count() > 0
    assert LABEL in page.inner_text("body")
    page.close()


def test_the_server_validates_requests(served):
    assert post(served + "/api/run", b'{"fixed": ["orders"]}')[0] == 200
    for body, message in ((b'{"fixed": ["nope"]}', "no group 'nope'"),
                          (b'{"authority": {"cp-air-defence": "anyone"}}',
                           "expected one of central"),
                          (b'{"authority": {"cp-x": "central"}}', "no command post 'cp-x'"),
                          (b'{"fixed": ["\xff"]}', "not a JSON choice"),
                          (b"[" * 5000, "not a JSON choice"),
                          (b'{"file": "/etc/passwd"}', "unknown control 'file'"),
                          (b'{"electronic_attack": "yes"}', "expected true or false"),
                          (b"not json", "not a JSON choice")):
        code, data = post(served + "/api/run", body)
        assert code == 400 and message in data["error"], (body, data)
    assert post(served + "/etc/passwd", b"{}")[0] == 404
    assert post(served + "/api/run", b"{}", Host="evil.example")[0] == 403  # another page's
    assert post(served + "/api/run", b"{}", **{"Content-Type": "text/plain"})[0] == 415
    with urllib.request.urlopen(served + "/api/controls?x=1", timeout=30) as r:
        assert json.loads(r.read())["authority"] == {"cp-air-defence": "central",
                                                     "cp-manpads": "delegated"}
    with pytest.raises(urllib.error.HTTPError) as missing:
        urllib.request.urlopen(served + "/../../etc/passwd", timeout=30)
    assert missing.value.code == 404


def test_a_choice_is_computed_once_and_answered_again_at_once():
    from iadsim.api import what_if
    from iadsim.reports.server import make_server

    model = load("caracas-2026")
    w = what_if(model, runs=200, seed=SERVE_SEED)
    computed = []
    evaluate = w.evaluate
    w.evaluate = lambda choice: computed.append(choice) or evaluate(choice)
    with serving(make_server(w, model.scenario, None, port=0)) as url:
        first = post(url + "/api/run", b'{"fixed": ["orders"]}')
        assert post(url + "/api/run", b'{"fixed": ["orders"], "authority": {}}') == first
        assert len(computed) == 1
        assert post(url + "/api/run", b'{"fixed": ["connectivity"]}') != first
        assert len(computed) == 2


def test_serve_listens_on_loopback_unless_told():
    from iadsim.api import serve

    refused = runner.invoke(app, ["serve", "caracas-2026", "--host", "0.0.0.0"])
    assert refused.exit_code == 1 and "--allow-remote" in refused.output
    with pytest.raises(ValueError, match="allow_remote"):
        serve(load("caracas-2026"), host="0.0.0.0", port=0, runs=2)
