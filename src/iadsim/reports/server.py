"""`iadsim serve`: a local what-if page. Controls for the explanation groups, the command
posts' authority and electronic attack; moving one re-runs the scenario on the same
replications and updates the outcomes and the link breakdown. A thin HTTP layer (the
standard library's server) over `WhatIf`; it binds to the loopback address unless told
otherwise, takes JSON only, and never a file path."""

from __future__ import annotations

import functools
import html
import ipaddress
import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from iadsim.analysis.whatif import OUTCOMES, Choice, WhatIf, WhatIfError
from iadsim.reports.map import Coast, scenario_map
from iadsim.reports.report import LABEL

MAX_BODY = 10_000  # bytes of a request: a choice is a few hundred
KEPT_ANSWERS = 1024  # choices whose answers are kept (a few kB each)


def is_loopback(host: str) -> bool:
    """Whether a host name or address is this machine only."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client gone before its answer is not an error worth a traceback."""
        import sys

        if not isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            super().handle_error(request, client_address)


class _Server6(_Server):
    address_family = socket.AF_INET6


def make_server(whatif: WhatIf, scenario: Any, coast: Coast | None, host: str = "127.0.0.1",
                port: int = 0, allow_remote: bool = False) -> ThreadingHTTPServer:
    """The server of the what-if page (not yet serving: call serve_forever); port 0 picks a
    free one (server.server_address says which). A `host` other than the loopback address is
    refused (ValueError) unless `allow_remote`; then requests for any host name are served,
    else only those for a loopback name (no other web page can drive it through DNS)."""
    if not is_loopback(host) and not allow_remote:
        raise ValueError(f"{host}: not this machine's loopback address; the page runs the "
                         "scenario for anyone who reaches it: allow_remote=True to mean it")
    page = _page(whatif, scenario, coast).encode("utf-8")
    lock = threading.Lock()  # one evaluation at a time: the engine's plan is shared

    @functools.lru_cache(maxsize=KEPT_ANSWERS)
    def answer(choice: Choice) -> dict[str, Any]:
        """A choice's outcome, computed once: on the same replications it cannot change (going
        back to a setting is instant)."""
        return whatif.evaluate(choice)

    class Handler(BaseHTTPRequestHandler):
        timeout = 10  # seconds a client may take to send its request

        def log_message(self, format: str, *args: Any) -> None:  # quiet: the CLI says where
            pass

        def _send(self, code: int, body: bytes, kind: str) -> None:
            self.send_response(code)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(body)

        def _json(self, code: int, data: Any) -> None:
            self._send(code, json.dumps(data).encode("utf-8"), "application/json")

        def _allowed(self) -> bool:
            """Whether the request names this machine (or any host, with allow_remote)."""
            name = (self.headers.get("Host") or "").rsplit(":", 1)[0].strip("[]")
            if allow_remote or is_loopback(name):
                return True
            self._json(403, {"error": f"host {name!r}: this page answers requests for "
                                      "127.0.0.1 or localhost only"})
            return False

        def do_GET(self) -> None:  # noqa: N802 (the standard library's name)
            path = urlsplit(self.path).path
            if not self._allowed():
                return
            if path == "/":
                self._send(200, page, "text/html; charset=utf-8")
            elif path == "/api/controls":
                self._json(200, whatif.controls())
            else:
                self._json(404, {"error": f"no page {path!r}; pages: /, /api/controls, "
                                          "POST /api/run"})

        def do_POST(self) -> None:  # noqa: N802
            if not self._allowed():
                return
            if urlsplit(self.path).path != "/api/run":
                self._json(404, {"error": f"no endpoint {self.path!r}; POST /api/run"})
                return
            kind = (self.headers.get("Content-Type") or "").split(";")[0].strip()
            if kind != "application/json":
                self._json(415, {"error": "send the choice as application/json"})
                return
            try:
                size = int(self.headers.get("Content-Length", "0"))
            except ValueError:
                size = -1
            if not 0 < size <= MAX_BODY:
                self._json(400, {"error": f"expected a JSON body of at most {MAX_BODY} bytes"})
                return
            try:
                request = json.loads(self.rfile.read(size).decode("utf-8"))
                choice = whatif.choice(request)
            except (ValueError, RecursionError) as exc:  # not UTF-8, not JSON, too deep
                self._json(400, {"error": f"not a JSON choice: {str(exc)[:200]}"})
                return
            except WhatIfError as exc:
                self._json(400, {"error": "; ".join(exc.problems)})
                return
            with lock:
                result = answer(choice)
            self._json(200, result)

    server_class = _Server6 if ":" in host else _Server
    return server_class((host, port), Handler)


def _page(whatif: WhatIf, scenario: Any, coast: Coast | None) -> str:
    import plotly.offline

    controls = whatif.controls()
    groups = "".join(
        f'<label><input type="checkbox" name="fixed" value="{html.escape(g)}"> '
        f"{html.escape(g)}</label>" for g in controls["groups"])
    options = "".join(f'<option value="{a}">{a}</option>' for a in controls["authorities"])
    authority = "".join(
        f'<label>{html.escape(cp)} <select name="authority" data-post="{html.escape(cp)}">'
        f'<option value="">as in the profile ({html.escape(now)})</option>{options}</select>'
        "</label>" for cp, now in controls["authority"].items())
    rows = "".join(f'<tr><td>{html.escape(k)}</td><td id="out-{i}" data-observable='
                   f'"{html.escape(k)}"></td></tr>' for i, k in enumerate(OUTCOMES))
    figure = scenario_map(scenario, coast).to_html(
        full_html=False, include_plotlyjs=False, div_id="fig-map",
        config={"displaylogo": False, "responsive": True})
    return _PAGE.format(
        title=html.escape(f"{scenario.name}: what if"), label=LABEL,
        plotly=plotly.offline.get_plotlyjs(), profile=html.escape(controls["profile"]),
        fixed=html.escape(controls["fixed"]), groups=groups, authority=authority,
        attack="" if controls["electronic_attack"] else "disabled", rows=rows, map=figure,
        runs=controls["runs"], seed=controls["seed"],
        outcomes=json.dumps(list(OUTCOMES)))


_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 0 auto; max-width: 1200px; padding: 0 1em; }}
.label {{ background: #fff3cd; border: 1px solid #e0c060; padding: 0.3em 0.8em;
         font-weight: 600; margin: 0.5em 0; }}
.cols {{ display: grid; grid-template-columns: 400px 1fr; gap: 1em; }}
fieldset {{ margin-bottom: 0.8em; }} label {{ display: block; }}
table {{ border-collapse: collapse; }} td {{ padding: 0.2em 0.6em;
        border-bottom: 1px solid #ddd; }}
#status {{ color: #555; font-size: 0.9em; min-height: 1.2em; }}
.error {{ color: #b00; }}
</style>
<script>{plotly}</script></head><body>
<div class="label">{label}</div>
<h1>{title}</h1>
<p>Start: profile <b>{profile}</b>. Tick an explanation to fix it (its values as in
<b>{fixed}</b>). Every setting runs the same {runs} replications (seed {seed}), so a change
in the outcome is the change of that setting alone.</p>
<div class="cols"><div>
<form id="controls">
<fieldset><legend>Fix an explanation</legend>{groups}</fieldset>
<fieldset><legend>Authority of each command post</legend>{authority}</fieldset>
<fieldset><legend>Electronic attack</legend>
<select name="electronic_attack" id="electronic_attack" {attack}>
<option value="">as in the profile</option><option value="on">on</option>
<option value="off">off</option></select></fieldset>
</form>
<div id="status"></div>
<table id="outcomes"><tbody>{rows}</tbody></table>
</div><div><div id="fig-links"></div></div></div>
{map}
<div class="label">{label}</div>
<script>
const OUTCOMES = {outcomes};
const form = document.getElementById('controls');
let asked = 0;
function choice() {{
  const fixed = [...form.querySelectorAll('input[name=fixed]:checked')].map(e => e.value);
  const out = {{fixed}};
  out.authority = {{}};
  form.querySelectorAll('select[name=authority]').forEach(e => {{
    if (e.value) out.authority[e.dataset.post] = e.value; }});
  const e = document.getElementById('electronic_attack').value;
  if (e) out.electronic_attack = e === 'on';
  return out;
}}
function fmt(e) {{
  return e.mean.toFixed(3) + (e.ci_low === null ? '' :
    ' (95% CI ' + e.ci_low.toFixed(3) + '–' + e.ci_high.toFixed(3) + ')');
}}
async function update() {{
  const mine = ++asked;
  const status = document.getElementById('status');
  status.textContent = 'running…'; status.className = '';
  let response, data;
  try {{
    response = await fetch('/api/run', {{method: 'POST',
      headers: {{'Content-Type': 'application/json'}}, body: JSON.stringify(choice())}});
    data = await response.json();
  }} catch (e) {{
    if (mine === asked) {{ status.textContent = 'no answer: ' + e; status.className = 'error'; }}
    return;
  }}
  if (mine !== asked) return;  // a newer request is on its way
  if (!response.ok) {{ status.textContent = data.error; status.className = 'error'; return; }}
  OUTCOMES.forEach((k, i) => {{
    const cell = document.getElementById('out-' + i);
    cell.textContent = fmt(data.outcomes[k]); cell.dataset.mean = data.outcomes[k].mean; }});
  const types = Object.keys(data.links);
  const links = Object.keys(data.links[types[0]] || {{}});
  Plotly.react('fig-links', links.map(l => ({{type: 'bar', name: l, x: types,
    y: types.map(t => data.links[t][l])}})),
    {{barmode: 'stack', title: {{text: 'Failed passages per run by first broken link'}},
      height: 380, margin: {{l: 50, r: 10, t: 40, b: 40}}}}, {{displaylogo: false}});
  status.textContent = 'done: ' + JSON.stringify(data.choice);
  document.body.dataset.done = String(mine);
}}
form.addEventListener('change', update);
update();
</script></body></html>
"""
