"""The report page of a batch: one self-contained HTML file (timeline chart, bucket table, each crash's report).

Everything the page shows is in the file: plotly.js (MIT; plotly's Python package ships it)
is embedded whole, the style is inline, and a Content-Security-Policy forbids the page any
request (``default-src 'none'``), so it opens the same from a mail attachment, an archive or
an air-gapped machine.  Links inside it are fragments (``#bucket-3``, ``#crash-17``); the
only others are the known issues' own links, followed when clicked.
"""

from __future__ import annotations

import datetime
import html
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

from . import __version__

__all__ = ["CSP", "render_html", "bucket_label"]

#: The page's Content-Security-Policy: inline script and style only, no request of any kind (images
#: only as ``data:``/``blob:`` URLs, which plotly's "download as PNG" makes in the page).
CSP = ("default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
       "img-src data: blob:; font-src data:; connect-src 'none'; base-uri 'none'; form-action 'none'")

_LABEL_MAX = 64  # characters of a bucket's name on the chart's axis (the whole name is in the hover text)
_LANE_PX = 24

_STYLE = """
:root { color-scheme: light; --fg: #1b1f24; --muted: #57606a; --line: #d0d7de; --bg2: #f6f8fa;
        --new: #1f6feb; --known: #8c959f; --recurs: #cf222e; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--fg); background: #fff;
       margin: 0 2em 3em; }
h1 { font-size: 1.6em; margin: 0.8em 0 0.2em; }
h2 { font-size: 1.3em; border-bottom: 1px solid var(--line); padding-bottom: 0.2em; margin-top: 1.6em; }
h3 { font-size: 1.1em; margin: 1.4em 0 0.4em; font-family: ui-monospace, monospace; word-break: break-all; }
h4 { font-size: 1em; margin: 1.2em 0 0.3em; font-family: ui-monospace, monospace; word-break: break-all; }
nav a { margin-right: 1.2em; }
.muted { color: var(--muted); }
table { border-collapse: collapse; margin: 0.5em 0; }
th, td { border-bottom: 1px solid var(--line); padding: 0.25em 0.7em 0.25em 0; text-align: left; vertical-align: top; }
th { font-weight: 600; white-space: nowrap; }
td.num { text-align: right; }
td.mono, .mono { font-family: ui-monospace, monospace; font-size: 0.93em; }
td.time { white-space: nowrap; }
pre { background: var(--bg2); border: 1px solid var(--line); padding: 0.7em; overflow-x: auto; font-size: 12px;
      line-height: 1.35; }
dl { display: grid; grid-template-columns: max-content auto; gap: 0.1em 1em; margin: 0.3em 0; }
dt { color: var(--muted); }
dd { margin: 0; }
.known { color: var(--known); }
.new { color: var(--new); }
.recurs { color: var(--recurs); font-weight: 600; }
.callout { border-left: 4px solid var(--recurs); padding: 0.3em 0.8em; background: var(--bg2); }
article { margin-left: 1.5em; }
#timeline-plot { width: 100%; }
"""


def _when(t: Optional[float]) -> str:
    if t is None:
        return "?"
    return datetime.datetime.fromtimestamp(t, datetime.timezone.utc).strftime("%Y-%m-%d %H:%M")


def _iso(t: float) -> str:
    return datetime.datetime.fromtimestamp(t, datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S")


def _e(text: Any) -> str:
    return html.escape(str(text if text is not None else ""), quote=True)


def bucket_label(b: Mapping[str, Any]) -> str:
    """``bucket ← origin_site`` as the batch table names a bucket."""
    return b["bucket"] + (f" \u2190 {b['origin_site']}" if b.get("origin_site") else "")


def _key(row: Mapping[str, Any]) -> Tuple[str, str]:
    return (row.get("bucket") or "", row.get("origin_site") or "")


def _safe_link(url: str) -> str:
    """``url`` when it is a web or mail link (anything else, ``javascript:`` first, is shown as text only)."""
    return url if url.lower().startswith(("https://", "http://", "mailto:")) else ""


def _known_html(known: Optional[Mapping[str, Any]]) -> str:
    """A known issue's cell: its title (linked), when it was fixed, whether it recurs."""
    if not known:
        return ""
    link = _safe_link(known.get("link") or "")
    title = _e(known["title"])
    out = (f'<a href="{_e(link)}" rel="noreferrer noopener" target="_blank">{title}</a>' if link else title)
    if known.get("fixed_in"):
        out += f" <span class=\"muted\">(fixed in {_e(', '.join(known['fixed_in']))})</span>"
    if known.get("recurs"):
        out += f' <span class="recurs">RECURS on {_e(known.get("release") or "?")}</span>'
    return out


def _status(known: Optional[Mapping[str, Any]], with_known: bool) -> str:
    if not with_known:
        return "crash"
    if not known:
        return "not known"
    return "known, fixed: recurs" if known.get("recurs") else "known issue"


_NEW = '<span class="new">not known</span>'
_COLOURS = {"crash": "#1f6feb", "not known": "#1f6feb", "known issue": "#8c959f", "known, fixed: recurs": "#cf222e"}


def _figure(rows: Sequence[Mapping[str, Any]], buckets: Sequence[Mapping[str, Any]], names: Mapping[int, str],
            with_known: bool) -> Dict[str, Any]:
    """The timeline: crashes per time bin on top; below, one lane per bucket, a dot per crash."""
    labels: Dict[Tuple[str, str], str] = {}
    for n, b in enumerate(buckets, 1):
        text = bucket_label(b)
        short = text if len(text) <= _LABEL_MAX else text[:_LABEL_MAX - 1] + "\u2026"
        labels[_key(b)] = f"#{n} {short}"
    series: Dict[str, Dict[str, List[Any]]] = {}
    times: List[str] = []
    for i, r in enumerate(rows):
        key = _key(r)
        when = r.get("when")
        if key not in labels or when is None:
            continue
        status = _status(r.get("known"), with_known)
        s = series.setdefault(status, {"x": [], "y": [], "customdata": []})
        s["x"].append(_iso(when))
        s["y"].append(labels[key])
        # hover text is shown as markup by plotly: the values are escaped
        s["customdata"].append([f"crash-{i}", _e(names[i]), _e(r.get("host") or "?"), _e(r.get("release") or "?"),
                                _e(r.get("verdict") or ""), _e(bucket_label({"bucket": key[0], "origin_site": key[1]}))])
        times.append(_iso(when))
    lanes = [labels[_key(b)] for b in buckets]
    data: List[Dict[str, Any]] = [{
        "type": "histogram", "x": times, "name": "crashes", "yaxis": "y2", "showlegend": False,
        "marker": {"color": "#57606a"}, "hovertemplate": "%{x}: %{y} crashes<extra></extra>",
    }]
    for status in ("crash", "not known", "known issue", "known, fixed: recurs"):
        dots = series.get(status)
        if not dots:
            continue
        data.append({
            "type": "scatter", "mode": "markers", "name": status, "x": dots["x"], "y": dots["y"],
            "customdata": dots["customdata"], "showlegend": with_known,
            "marker": {"size": 9, "color": _COLOURS[status], "opacity": 0.85, "line": {"width": 0}},
            "hovertemplate": ("<b>%{customdata[1]}</b><br>%{x} UTC<br>host %{customdata[2]}, %{customdata[3]}"
                              "<br>%{customdata[4]}<br>%{customdata[5]}<extra></extra>"),
        })
    lanes_px = max(1, len(lanes)) * _LANE_PX
    top_px = 150
    height = lanes_px + top_px + 110
    split = lanes_px / (lanes_px + top_px)
    layout = {
        "height": height, "margin": {"l": 10, "r": 20, "t": 30, "b": 40},
        "hovermode": "closest", "bargap": 0.1,
        "legend": {"orientation": "h", "y": 1.0, "yanchor": "bottom", "x": 0},
        "xaxis": {"type": "date", "title": {"text": "crash time (UTC)"}, "showgrid": True},
        "yaxis": {"domain": [0, split * 0.97], "type": "category", "categoryorder": "array",
                  "categoryarray": lanes[::-1], "range": [-0.5, len(lanes) - 0.5], "automargin": True,
                  "tickfont": {"family": "ui-monospace, monospace", "size": 11}, "fixedrange": True},
        "yaxis2": {"domain": [split * 0.97 + 0.03, 1], "title": {"text": "crashes"}, "automargin": True,
                   "rangemode": "tozero", "fixedrange": True},
        "plot_bgcolor": "rgba(0,0,0,0)", "paper_bgcolor": "rgba(0,0,0,0)",
        "font": {"family": "system-ui, sans-serif", "size": 12},
    }
    return {"data": data, "layout": layout}


#: Clicking a crash's dot goes to its report.
_CLICK = """
var gd = document.getElementById('{plot_id}');
gd.on('plotly_click', function (ev) {
  var p = ev && ev.points && ev.points[0];
  if (p && p.customdata) { window.location.hash = p.customdata[0]; }
});
document.body.setAttribute('data-chart', 'ready');
"""


def _chart(fig: Dict[str, Any]) -> str:
    import plotly.io

    return str(plotly.io.to_html(fig, include_plotlyjs=True, full_html=False, div_id="timeline-plot",
                                 validate=False, post_script=_CLICK, default_height=f"{fig['layout']['height']}px",
                                 config={"displaylogo": False, "responsive": True,
                                         "modeBarButtonsToRemove": ["select2d", "lasso2d"]}))


def _list(items: Sequence[str], limit: int = 6) -> str:
    shown = ", ".join(_e(x) for x in items[:limit])
    return shown + (f" <span class=\"muted\">+{len(items) - limit} more</span>" if len(items) > limit else "")


def render_html(rows: Sequence[Mapping[str, Any]], buckets: Sequence[Mapping[str, Any]],
                names: Mapping[int, str], skipped: Sequence[Tuple[str, str]] = (), footer: str = "",
                with_known: bool = False, where: str = "", generated: Optional[float] = None) -> str:
    """The page for a batch's ``rows`` (``kdumpext.batch`` rows, each with its report's text under
    ``text``) and their ``buckets`` (``summarise()``'s, with ``hosts``, ``releases`` and ``known``).

    ``names``: each row's dump as the page names it (by index); ``skipped``: (path, reason) of
    files that are not dumps; ``footer``: the batch's summary line; ``with_known``: a
    known-issues file was used (its column and colours are shown); ``where``: the directory
    the names are relative to.
    """
    generated = generated if generated is not None else datetime.datetime.now(datetime.timezone.utc).timestamp()
    anchors = {_key(b): n for n, b in enumerate(buckets, 1)}
    by_bucket: Dict[Tuple[str, str], List[int]] = {}
    for i, r in enumerate(rows):
        if r.get("bucket"):
            by_bucket.setdefault(_key(r), []).append(i)
    errors = [i for i, r in enumerate(rows) if not r.get("bucket")]
    whens = [r["when"] for r in rows if r.get("when") is not None]
    undated = sum(1 for r in rows if r.get("bucket") and r.get("when") is None)
    recurring = [b for b in buckets if (b.get("known") or {}).get("recurs")]

    out: List[str] = []
    add = out.append
    add("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n")
    add(f'<meta http-equiv="Content-Security-Policy" content="{CSP}">\n')  # no quote or & in it
    add('<meta name="viewport" content="width=device-width, initial-scale=1">\n')
    add('<meta name="referrer" content="no-referrer">\n')
    add(f"<title>kdumpext: {len(rows)} crashes, {len(buckets)} buckets</title>\n<style>{_STYLE}</style>\n</head>\n<body>\n")
    add(f"<header>\n<h1>{len(rows)} crashes in {len(buckets)} buckets</h1>\n<p class=\"muted\">")
    if whens:
        add(f"from {_when(min(whens))} to {_when(max(whens))} UTC; ")
    if where:
        add(f"dumps under <span class=\"mono\">{_e(where)}</span>; ")
    add(f"made {_when(generated)} UTC by kdumpext {_e(__version__)}</p>\n")
    add('<nav><a href="#timeline">Timeline</a><a href="#buckets">Buckets</a><a href="#crashes">Crashes</a>')
    if errors:
        add('<a href="#errors">Errors</a>')
    if skipped:
        add('<a href="#not-dumps">Not dumps</a>')
    add("</nav>\n</header>\n")
    if recurring:
        add('<p class="callout"><span class="recurs">Known-fixed bugs recur:</span> ')
        add("; ".join(f'<a href="#bucket-{anchors[_key(b)]}">{_e(bucket_label(b))}</a> '
                      f"({_e(b['known']['title'])}, fixed in {_e(', '.join(b['known']['fixed_in']))})"
                      for b in recurring))
        add("</p>\n")

    add('<section id="timeline">\n<h2>Crashes over time</h2>\n')
    if whens:
        add(_chart(_figure(rows, buckets, names, with_known)))
        add("\n<p class=\"muted\">One lane per bucket (numbered as in the table below), a dot per crash; "
            "click a dot for its report.")
        if undated:
            add(f" {undated} crash{'es' if undated != 1 else ''} with no known time "
                f"{'are' if undated != 1 else 'is'} not plotted.")
        add("</p>\n")
    else:
        add("<p>No crash with a known time.</p>\n")
    add("</section>\n")

    add('<section id="buckets">\n<h2>Buckets</h2>\n<table>\n<thead><tr><th>#</th><th>bucket</th><th>count</th>'
        "<th>first seen</th><th>last seen</th><th>hosts</th><th>releases</th>")
    if with_known:
        add("<th>known issue</th>")
    add("</tr></thead>\n<tbody>\n")
    for n, b in enumerate(buckets, 1):
        add(f'<tr><td class="num">{n}</td><td class="mono"><a href="#bucket-{n}">{_e(bucket_label(b))}</a></td>'
            f'<td class="num">{b["count"]}</td><td class="time">{_when(b.get("first_seen"))}</td>'
            f'<td class="time">{_when(b.get("last_seen"))}</td><td>{_list(b.get("hosts") or [])}</td>'
            f'<td>{_list(b.get("releases") or [])}</td>')
        if with_known:
            k = b.get("known")
            add(f"<td>{_known_html(k) if k else _NEW}</td>")
        add("</tr>\n")
    add("</tbody>\n</table>\n</section>\n")

    add('<section id="crashes">\n<h2>Crashes by bucket</h2>\n')
    for n, b in enumerate(buckets, 1):
        members = by_bucket.get(_key(b), [])
        add(f'<section class="bucket" id="bucket-{n}">\n<h3>#{n} {_e(bucket_label(b))}</h3>\n')
        facts = [f"{b['count']} crash{'es' if b['count'] != 1 else ''}",
                 f"first seen {_when(b.get('first_seen'))}", f"last seen {_when(b.get('last_seen'))} UTC"]
        add(f"<p>{', '.join(facts)}")
        if b.get("known"):
            add(f"<br>{_known_html(b['known'])}")
            if b["known"].get("note"):
                add(f"<br><span class=\"muted\">{_e(b['known']['note'])}</span>")
        add("</p>\n<table>\n<thead><tr><th>crash time</th><th>host</th><th>release</th><th>dump</th><th>verdict</th>"
            "</tr></thead>\n<tbody>\n")
        for i in members:
            r = rows[i]
            add(f'<tr><td class="time">{_when(r.get("when"))}</td><td>{_e(r.get("host") or "?")}</td>'
                f'<td>{_e(r.get("release") or "?")}</td><td class="mono"><a href="#crash-{i}">{_e(names[i])}</a>'
                f'</td><td>{_e(r.get("verdict"))}</td></tr>\n')
        add("</tbody>\n</table>\n")
        for i in members:
            _crash(add, rows[i], i, names[i], f"bucket-{n}")
        add("</section>\n")
    add("</section>\n")

    if errors:
        add('<section id="errors">\n<h2>Errors</h2>\n<p>Crashes that could not be explained, from their dump or '
            "their kernel log.</p>\n")
        for i in errors:
            _crash(add, rows[i], i, names[i], "errors")
        add("</section>\n")
    if skipped:
        add('<section id="not-dumps">\n<h2>Not dumps</h2>\n<ul>\n')
        for _path, reason in skipped:
            add(f"<li class=\"mono\">{_e(reason)}</li>\n")
        add("</ul>\n</section>\n")
    add(f'<footer>\n<p class="muted">{_e(footer)}</p>\n</footer>\n</body>\n</html>\n')
    return "".join(out)


def _crash(add: Any, r: Mapping[str, Any], i: int, name: str, back: str) -> None:
    """One crash's section: what it is, then its full triage report (or why there is none)."""
    add(f'<article id="crash-{i}">\n<h4>{_e(name)}{" (oops text)" if r.get("status") == "text" else ""}</h4>\n<dl>')
    when_from = f" ({_e(r['when_from'])})" if r.get("when_from") else ""
    facts = [("crash time", f"{_when(r.get('when'))} UTC{when_from}"), ("host", _e(r.get("host") or "?")),
             ("release", _e(r.get("release") or "?"))]
    if r.get("bucket"):
        facts.append(("bucket", f'<a class="mono" href="#{back}">{_e(bucket_label(r))}</a>'))
    if r.get("known"):
        facts.append(("known", _known_html(r["known"])))
    facts.append(("dump", f'<span class="mono">{_e(r.get("dump") or r.get("dmesg"))}</span>'))
    add("".join(f"<dt>{k}</dt><dd>{v}</dd>" for k, v in facts))
    add("</dl>\n")
    if r.get("status") == "error":
        add(f"<pre>{_e(r.get('error'))}</pre>\n")
    elif r.get("text"):
        add(f"<pre>{_e(r['text'])}</pre>\n")
    else:
        add(f"<pre>{_e(r.get('verdict'))}</pre>\n")
    add(f'<p class="muted"><a href="#{back}">back to the bucket</a> \u00b7 <a href="#buckets">all buckets</a></p>\n'
        if back != "errors" else "")
    add("</article>\n")

