"""A neutral `Chart` as an accessible inline SVG with its data table beside it (WCAG 2.1 AA).

The picture is `role="img"` named by its title and described by its description; each series has its
own colour *and* its own pattern (solid, hatched, dotted, crossed), named in a legend, so colour is never
the only cue; the table (a caption, header cells with scope) holds every number. No script, no style
attributes (the pages' Content-Security-Policy allows neither): presentation attributes only.
"""

from __future__ import annotations

import itertools
from html import escape

from markupsafe import Markup

from bot.messages import Chart

WIDTH, HEIGHT = 760, 300
LEFT, RIGHT, TOP, BOTTOM = 56, 16, 16, 72
# Dark enough for 3:1 against white (graphical objects), distinct in hue and in lightness.
COLOURS = ("#0b4f8a", "#a4161a", "#1b6e3a", "#6a3d9a", "#8a5a00", "#00607a", "#5c5c5c")
PATTERNS = ("solid", "hatch", "dots", "cross", "hatch-back", "grid", "solid")
_ids = itertools.count(1)


def _pattern(pid: str, kind: str, colour: str) -> str:
    if kind == "solid":
        return ""
    marks = {
        "hatch": f'<path d="M0,8 L8,0" stroke="{colour}" stroke-width="2"/>',
        "hatch-back": f'<path d="M0,0 L8,8" stroke="{colour}" stroke-width="2"/>',
        "dots": f'<circle cx="4" cy="4" r="2" fill="{colour}"/>',
        "cross": f'<path d="M0,8 L8,0 M0,0 L8,8" stroke="{colour}" stroke-width="1.5"/>',
        "grid": f'<path d="M4,0 L4,8 M0,4 L8,4" stroke="{colour}" stroke-width="1.5"/>',
    }[kind]
    return (
        f'<pattern id="{pid}" width="8" height="8" patternUnits="userSpaceOnUse">'
        f'<rect width="8" height="8" fill="#ffffff"/>{marks}</pattern>'
    )


def _nice_max(value: float) -> float:
    if value <= 0:
        return 1.0
    step = 10 ** (len(str(int(value))) - 1)
    return float(((int(value) // step) + 1) * step) if value >= 10 else float(int(value) + 1)


def render_chart(chart: Chart) -> Markup:
    n = next(_ids)
    cid = f"chart{n}"
    table = _table(chart, cid)
    if not chart.labels:
        return Markup(
            f'<figure class="chart"><figcaption>{escape(chart.title)}</figcaption>'
            f"<p>Nothing in this period.</p></figure>"
        )
    fills, defs = [], []
    for i, _ in enumerate(chart.series):
        colour, kind = COLOURS[i % len(COLOURS)], PATTERNS[i % len(PATTERNS)]
        pid = f"{cid}p{i}"
        defs.append(_pattern(pid, kind, colour))
        fills.append((colour, f"url(#{pid})" if kind != "solid" else colour))
    stacked = chart.kind == "stacked"
    totals = [
        sum(s.values[i] for s in chart.series)
        if stacked
        else max((s.values[i] for s in chart.series), default=0)
        for i in range(len(chart.labels))
    ]
    top = _nice_max(max(totals, default=0))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    slot = plot_w / len(chart.labels)

    def y(v: float) -> float:
        return TOP + plot_h - (v / top) * plot_h

    parts: list[str] = []
    for k in range(5):  # grid lines and their values
        v = top * k / 4
        parts.append(
            f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y(v):.1f}" y2="{y(v):.1f}" stroke="#c8c8c8"/>'
        )
        label = str(int(v)) if float(v).is_integer() else f"{v:.1f}"
        parts.append(
            f'<text x="{LEFT - 6}" y="{y(v) + 4:.1f}" text-anchor="end" font-size="12" fill="#1b1b1b">{label}</text>'
        )
    if chart.kind == "line":
        for si, s in enumerate(chart.series):
            colour = fills[si][0]
            points = " ".join(f"{LEFT + slot * (i + 0.5):.1f},{y(v):.1f}" for i, v in enumerate(s.values))
            parts.append(f'<polyline points="{points}" fill="none" stroke="{colour}" stroke-width="2.5"/>')
            for i, v in enumerate(s.values):
                parts.append(
                    f'<circle cx="{LEFT + slot * (i + 0.5):.1f}" cy="{y(v):.1f}" r="4" fill="{colour}"/>'
                )
    else:
        for i in range(len(chart.labels)):
            base = 0.0
            width = slot * 0.7 / (1 if stacked else len(chart.series))
            for si, s in enumerate(chart.series):
                v = s.values[i] if i < len(s.values) else 0.0
                x = LEFT + slot * i + slot * 0.15 + (0 if stacked else si * width)
                y0, y1 = (y(base + v), y(base)) if stacked else (y(v), y(0))
                colour, fill = fills[si]
                if v:
                    parts.append(
                        f'<rect x="{x:.1f}" y="{y0:.1f}" width="{width:.1f}" height="{max(y1 - y0, 0):.1f}" '
                        f'fill="{fill}" stroke="{colour}" stroke-width="1.5"/>'
                    )
                if stacked:
                    base += v
    for i, name in enumerate(chart.labels):  # x labels, slanted when many
        x = LEFT + slot * (i + 0.5)
        short = name if len(name) <= 18 else name[:17] + "…"
        parts.append(
            f'<text x="{x:.1f}" y="{HEIGHT - BOTTOM + 16}" font-size="12" fill="#1b1b1b" text-anchor="end" '
            f'transform="rotate(-35 {x:.1f} {HEIGHT - BOTTOM + 16})">{escape(short)}</text>'
        )
    parts.append(f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y(0):.1f}" y2="{y(0):.1f}" stroke="#1b1b1b"/>')
    legend = "".join(
        f'<li><svg width="18" height="14" aria-hidden="true" focusable="false"><defs>{defs[i]}</defs>'
        f'<rect x="1" y="1" width="16" height="12" fill="{fills[i][1]}" stroke="{fills[i][0]}" stroke-width="1.5"/></svg> '
        f"{escape(s.name)}</li>"
        for i, s in enumerate(chart.series)
    )
    svg = (
        f'<svg viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" height="{HEIGHT}" role="img" '
        f'aria-labelledby="{cid}t {cid}d" focusable="false">'
        f'<title id="{cid}t">{escape(chart.title)}</title><desc id="{cid}d">{escape(chart.description)}</desc>'
        f"<defs>{''.join(defs)}</defs>{''.join(parts)}</svg>"
    )
    return Markup(
        f'<figure class="chart" aria-labelledby="{cid}c"><figcaption id="{cid}c">{escape(chart.title)}</figcaption>'
        f'{svg}<ul class="legend">{legend}</ul><p class="help">{escape(chart.description)}</p>{table}</figure>'
    )


def _table(chart: Chart, cid: str) -> str:
    rows = chart.rows()
    head = "".join(f'<th scope="col">{escape(c) or "&nbsp;"}</th>' for c in rows[0])
    body = "".join(
        "<tr>"
        + f'<th scope="row">{escape(r[0])}</th>'
        + "".join(f"<td>{escape(c)}</td>" for c in r[1:])
        + "</tr>"
        for r in rows[1:]
    )
    unit = f" ({escape(chart.unit)})" if chart.unit else ""
    return (
        f'<table id="{cid}table"><caption>{escape(chart.title)}: the figures{unit}</caption>'
        f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
    )
