"""``kdumpext batch --format html``: the page from the sample corpus, opened in headless Chromium with no network."""

from __future__ import annotations

import glob
import html.parser
import json
import os
import socketserver
import subprocess
import sys
import threading
import time
from typing import Any, Dict, Iterator, List, Optional, Tuple

import pytest

from conftest import need, need_program
from corpus import ARM64, BUILD, SAMPLES

from kdumpext.htmlreport import CSP, render_html

EXE = os.path.join(os.path.dirname(sys.executable), "kdumpext")
SEED_BUCKET = "null-deref:scst_update_lat_stats:scst_device.vdev_update_lat_stats"
KNOWN = """
[[issue]]
bucket = "null-deref:scst_update_lat_stats:scst_device.vdev_update_lat_stats"
title = "scst detach race"
link = "https://bugs.example.com/4711"
fixed_in = "6.1.60"
"""

#: Hosts Chromium itself calls (component updater, sign-in, network time) whatever page it shows,
#: and even with --disable-background-networking: sent to the test's proxy, never further.
_BROWSER_HOSTS = {"update.googleapis.com", "accounts.google.com", "clients2.google.com", "redirector.gvt1.com",
                  "clientservices.googleapis.com", "optimizationguide-pa.googleapis.com",
                  "content-autofill.googleapis.com", "safebrowsing.googleapis.com", "www.googleapis.com"}


class _Elements(html.parser.HTMLParser):
    """Every element of a page: (tag, attributes), and the text of the whole page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: List[Tuple[str, Dict[str, str]]] = []
        self.text: List[str] = []

    def handle_starttag(self, tag: str, attrs: List[Tuple[str, Optional[str]]]) -> None:
        self.elements.append((tag, {k: v or "" for k, v in attrs}))

    def handle_data(self, data: str) -> None:
        self.text.append(data)

    def ids(self) -> set:
        return {a["id"] for _t, a in self.elements if a.get("id")}

    def having(self, cls: str) -> List[Tuple[str, Dict[str, str]]]:
        return [(t, a) for t, a in self.elements if cls in a.get("class", "").split()]


def _parse(text: str) -> _Elements:
    p = _Elements()
    p.feed(text)
    return p


@pytest.fixture(scope="module")
def page(tmp_path_factory) -> Dict[str, Any]:
    """The sample corpus through batch: JSON first (analysed, recorded), then the page (from the
    cache: the second run over the same tree records nothing new)."""
    need(os.path.isfile(os.path.join(BUILD, "vmlinux.xz")) and glob.glob(os.path.join(SAMPLES, "*", "*", "dump.*")),
         "sample-dumps/ has no dumps (run sample-dumps/generate)")
    tmp = tmp_path_factory.mktemp("page")
    known = tmp / "known.toml"
    known.write_text(KNOWN)
    env = dict(os.environ, KDUMPEXT_CACHE_DIR=str(tmp / "xdg"))
    env.pop("KDUMPEXT_KNOWN_ISSUES", None)
    common = [SAMPLES, "--debug-dir", BUILD, "--cache-dir", str(tmp / "cache"), "--db", str(tmp / "h.sqlite"),
              "--known", str(known)]
    p = subprocess.run([EXE, "batch", *common, "--format", "json"], capture_output=True, text=True, env=env,
                       timeout=900)
    assert p.returncode == 0, p.stderr
    doc = json.loads(p.stdout)
    out = str(tmp / "r.html")
    t0 = time.monotonic()
    p = subprocess.run([EXE, "batch", *common, "--format", "html", "-o", out], capture_output=True, text=True,
                       env=env, timeout=900)
    took = time.monotonic() - t0
    assert p.returncode == 0, p.stderr
    with open(out, encoding="utf-8") as f:
        text = f.read()
    return {"doc": doc, "path": out, "text": text, "tmp": tmp, "seconds": took}


def test_page_from_the_corpus(page) -> None:
    doc, text = page["doc"], page["text"]
    rows = doc["rows"]
    assert len(rows) == len(glob.glob(os.path.join(SAMPLES, "*", "*", "dump.*"))) + \
        len(glob.glob(os.path.join(ARM64, "*", "*", "dump.*")))
    assert doc["history"]["new"] == len(rows)
    # the page came from the cache; nothing new was recorded
    assert f"history: 0 new, {len(rows)} in all" in text
    assert page["seconds"] < 15, page["seconds"]
    dom = _parse(text)
    ids = dom.ids()
    # each bucket in the table, linked to its section; each crash in a section of its own
    table = [a["href"] for t, a in dom.elements if t == "a" and a.get("href", "").startswith("#bucket-")]
    assert len(set(table)) == len(doc["buckets"])
    body = "".join(dom.text)
    for b in doc["buckets"]:
        assert b["bucket"] in body, b["bucket"]
    assert {f"crash-{i}" for i in range(len(rows))} <= ids
    for t, a in dom.elements:  # every link inside the page has its target
        if a.get("href", "").startswith("#"):
            assert a["href"][1:] in ids, a["href"]
    # nothing is loaded from anywhere: no src or href outside the page but the known issue's own link
    links = [a.get("src") or a.get("href") or "" for t, a in dom.elements if a.get("src") or a.get("href")]
    outside = {u for u in links if not u.startswith("#")}
    assert outside == {"https://bugs.example.com/4711"}, outside
    assert f'<meta http-equiv="Content-Security-Policy" content="{CSP}">' in text
    assert "default-src 'none'" in CSP and "connect-src 'none'" in CSP
    # the seed's bucket is known, and recurs on 6.1.192 (fixed in 6.1.60)
    seed = next(b for b in doc["buckets"] if b["bucket"] == SEED_BUCKET)
    assert seed["known"]["recurs"] is True
    assert "Known-fixed bugs recur:" in text and "RECURS on 6.1.192" in text
    # each crash's full report: verdict, chain, backtrace
    for label in ("BACKTRACE", "VERDICT", "BUCKET", "CHAIN", "[exception RIP: scst_update_lat_stats+0x11]"):
        assert label in body, label


class _Proxy(socketserver.ThreadingTCPServer):
    """An HTTP proxy on the loopback that answers every request 403 and remembers its first line."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self) -> None:
        self.requests: List[str] = []
        proxy = self

        class Handler(socketserver.StreamRequestHandler):
            def handle(self) -> None:
                line = self.rfile.readline(65536).decode("latin-1").strip()
                if line:
                    proxy.requests.append(line)
                self.wfile.write(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")

        super().__init__(("127.0.0.1", 0), Handler)

    def page_requests(self) -> List[str]:
        """What was asked for, less Chromium's own calls (:data:`_BROWSER_HOSTS`)."""
        out = []
        for line in self.requests:
            target = line.split()[1] if len(line.split()) > 1 else line
            host = target.split("://", 1)[-1].split("/", 1)[0].rsplit(":", 1)[0]
            if host not in _BROWSER_HOSTS:
                out.append(line)
        return out


@pytest.fixture
def proxy() -> Iterator[_Proxy]:
    server = _Proxy()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def _chromium(url: str, proxy: _Proxy, profile: str, *extra: str) -> str:
    """``url`` in headless Chromium, every request sent to ``proxy`` and no name resolved; the DOM after load."""
    exe = need_program("chromium")
    port = proxy.server_address[1]
    cmd = [exe, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--no-default-browser-check",
           "--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-extensions",
           "--disable-default-apps", "--disable-client-side-phishing-detection", "--disable-domain-reliability",
           "--no-pings", "--metrics-recording-only", "--disable-breakpad", f"--user-data-dir={profile}",
           f"--proxy-server=http://127.0.0.1:{port}", "--proxy-bypass-list=<-loopback>",
           "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1", "--virtual-time-budget=15000",
           *extra, url]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=180, stdin=subprocess.DEVNULL)
    assert p.returncode == 0, p.stderr[-3000:]
    return p.stdout


def test_the_proxy_sees_a_page_that_asks(tmp_path, proxy) -> None:
    """The check below can fail: a page that loads an image and fetches is seen asking."""
    control = tmp_path / "control.html"
    control.write_text('<!DOCTYPE html><html><body><img src="http://example.invalid/x.png">'
                       '<script>fetch("https://example.invalid/y").catch(function () {});</script></body></html>')
    _chromium(control.as_uri(), proxy, str(tmp_path / "profile"), "--dump-dom")
    assert any("example.invalid" in r for r in proxy.page_requests()), proxy.requests


def test_page_in_chromium(page, proxy, tmp_path) -> None:
    """What a person sees: the chart drawn (a dot per dated crash), every bucket in the table,
    links to the crash sections that resolve, and no request leaving the file."""
    doc = page["doc"]
    dom_text = _chromium("file://" + page["path"], proxy, str(tmp_path / "profile"), "--dump-dom")
    dom = _parse(dom_text)
    assert proxy.page_requests() == [], proxy.requests
    body = [a for t, a in dom.elements if t == "body"][0]
    assert body.get("data-chart") == "ready"  # plotly's newPlot() finished
    plot = dom.having("js-plotly-plot")
    assert len(plot) == 1 and plot[0][1]["id"] == "timeline-plot"
    assert dom.having("main-svg"), "no chart SVG after load"
    dated = sum(1 for r in doc["rows"] if r["bucket"] and r["when"] is not None)
    assert dated == len(doc["rows"])
    assert len([t for t, _a in dom.having("point") if t == "path"]) == dated  # a dot per crash (bars are <g>s)
    lanes = [a for t, a in dom.elements if t == "g" and "ytick" in a.get("class", "").split()]
    assert len(lanes) >= len(doc["buckets"])  # a lane per bucket (plus the histogram's ticks)
    rows = [a for t, a in dom.elements if t == "a" and a.get("href", "").startswith("#bucket-")]
    assert len({a["href"] for a in rows}) == len(doc["buckets"])
    ids = dom.ids()
    targets = {a["href"][1:] for t, a in dom.elements if t == "a" and a.get("href", "").startswith("#")}
    assert targets and targets <= ids, targets - ids
    text = "".join(dom.text)
    for b in doc["buckets"]:
        assert b["bucket"] in text, b["bucket"]


def test_page_with_a_screenshot(page, proxy, tmp_path) -> None:
    """Chromium draws the page (a screenshot of its top, the chart in it) without any request."""
    shot = tmp_path / "shot.png"
    _chromium("file://" + page["path"], proxy, str(tmp_path / "profile"), f"--screenshot={shot}",
              "--window-size=1400,1600", "--hide-scrollbars")
    assert proxy.page_requests() == [], proxy.requests
    data = shot.read_bytes()
    assert data.startswith(b"\x89PNG") and len(data) > 50_000  # a drawn page, not a blank one


# --- the page's own rules, on hand-made rows ---------------------------------------------------------


def _rows(n: int, text: str) -> List[Dict[str, Any]]:
    """Synthetic batch rows (for escaping and timing only, never for verdicts)."""
    out = []
    for i in range(n):
        out.append({"dump": f"/var/crash/host{i % 17}/{i}/dump.{i}", "dmesg": None, "status": "ok",
                    "when": 1.79e9 + i * 600, "when_from": "crash time", "release": ("6.1.60", "6.1.192")[i % 2],
                    "host": f"host{i % 17}", "verdict": f"p{i} NULL \u2192 ->m +0x{i:x}", "bucket": f"null-deref:f{i % 97}:s.m",
                    "origin_site": "", "error": None, "text": text, "known": None})
    return out


def _buckets(rows: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
    from kdumpext.batch import summarise

    return summarise(rows)


def test_page_escapes_what_it_shows() -> None:
    evil = '</script><img src="http://example.invalid/x" onerror="alert(1)">'
    rows = _rows(3, "VERDICT  " + evil)
    rows[0]["verdict"] = evil
    rows[1]["dump"] = "/var/crash/" + evil + "/dump.1"
    rows[2].update(status="error", bucket="", error=evil, text="")
    buckets = _buckets(rows)
    buckets[0]["known"] = {"title": evil, "link": "javascript:alert(1)", "fixed_in": [], "recurs": False}
    text = render_html(rows, buckets, {i: r["dump"] for i, r in enumerate(rows)})
    dom = _parse(text)
    assert not [t for t, _a in dom.elements if t == "img"]
    assert not [a for _t, a in dom.elements if any(k.startswith("on") for k in a)]
    assert not [a for _t, a in dom.elements if a.get("href", "").startswith("javascript")]
    assert "&lt;img src=&quot;http://example.invalid/x&quot;" in text
    assert {"crash-0", "crash-1", "crash-2", "errors"} <= dom.ids()


def test_thousand_rows_under_two_seconds() -> None:
    """The page for 1,000 crashes in 97 buckets (synthetic rows: timing only) is made in under 2 s."""
    report = "\n".join(f"line {n} of a triage report " + "x" * 60 for n in range(80))  # ~7 KB, as a real one
    rows = _rows(1000, report)
    t0 = time.monotonic()
    text = render_html(rows, _buckets(rows), {i: r["dump"] for i, r in enumerate(rows)}, footer="1000 crashes")
    took = time.monotonic() - t0
    assert took < 2, took
    dom = _parse(text)
    assert {f"crash-{i}" for i in range(1000)} <= dom.ids() and len(dom.having("bucket")) == 97

