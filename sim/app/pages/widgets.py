"""Small display pieces shared by the pages.

Why not ``solara.Markdown``: it loads KaTeX (for formulas) from the CDN on every page
that shows Markdown, and KaTeX is not among the local assets, so offline it fails
(a 404 in the log). Headings and tables are written as HTML here instead, with every
value escaped: scenario names and descriptions come from files a person uploaded.
"""

from __future__ import annotations

import html

import solara


def Heading(text: str, level: int = 3, classes: list[str] | None = None):
    return solara.HTML(tag=f"h{level}", unsafe_innerHTML=html.escape(str(text)), classes=classes or [],
                       style={"margin": "4px 0"})


def Note(text: str, classes: list[str] | None = None):
    return solara.Text(str(text), style={"font-size": "0.85em", "color": "#555"}, classes=classes or [])


def Table(header: list[str], rows: list[list], right: set[int] = frozenset(), classes: list[str] | None = None):
    """An HTML table; columns in ``right`` are right-aligned (numbers)."""
    def cell(tag, i, v):
        align = ' style="text-align:right;padding:2px 8px"' if i in right else ' style="padding:2px 8px"'
        return f"<{tag}{align}>{html.escape(str(v))}</{tag}>"

    head = "<tr>" + "".join(cell("th", i, h) for i, h in enumerate(header)) + "</tr>"
    body = "".join("<tr>" + "".join(cell("td", i, v) for i, v in enumerate(r)) + "</tr>" for r in rows)
    return solara.HTML(tag="table", unsafe_innerHTML=f"<thead>{head}</thead><tbody>{body}</tbody>",
                       classes=classes or [], style={"border-collapse": "collapse", "font-size": "0.9em"})


def LineChart(series: dict[str, tuple[list[float], str]], x0: int = 0, width: int = 900, height: int = 170,
              xlabel: str = "", ylabel: str = "", classes: list[str] | None = None):
    """Lines as an inline SVG: {name: (values, colour)}, x = x0, x0 + 1, ...

    Why not matplotlib: the Watch page redraws this every simulated day, and a
    matplotlib figure takes a few tenths of a second here; the SVG takes a millisecond."""
    left, right, top, bottom = 60, 150, 10, 28
    n = max((len(v) for v, _ in series.values()), default=0)
    top_value = max((max(v) for v, _ in series.values() if v), default=0) or 1
    w, h = width - left - right, height - top - bottom

    def x(i):
        return left + w * (i / max(n - 1, 1))

    def y(v):
        return top + h * (1 - v / top_value)

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             'style="font: 11px sans-serif">',
             f'<rect x="{left}" y="{top}" width="{w}" height="{h}" fill="none" stroke="#bbb"/>']
    for frac in (0, 0.5, 1):
        v = top_value * frac
        parts.append(f'<text x="{left - 4}" y="{y(v) + 4:.1f}" text-anchor="end">{v:,.0f}</text>')
    parts.append(f'<text x="{left}" y="{height - 8}">{x0}</text>'
                 f'<text x="{left + w}" y="{height - 8}" text-anchor="end">{x0 + max(n - 1, 0)}</text>'
                 f'<text x="{left + w / 2}" y="{height - 8}" text-anchor="middle">{html.escape(xlabel)}</text>')
    if ylabel:
        parts.append(f'<text x="12" y="{top + h / 2}" transform="rotate(-90 12 {top + h / 2})" '
                     f'text-anchor="middle">{html.escape(ylabel)}</text>')
    for k, (name, (values, color)) in enumerate(series.items()):
        if len(values) > 1:
            step = max(1, len(values) // 400)
            pts = " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in enumerate(values) if i % step == 0 or i == len(values) - 1)
            parts.append(f'<polyline fill="none" stroke="{html.escape(color)}" stroke-width="1.5" points="{pts}"/>')
        ly = top + 14 + 16 * k
        parts.append(f'<line x1="{left + w + 10}" y1="{ly - 4}" x2="{left + w + 28}" y2="{ly - 4}" '
                     f'stroke="{html.escape(color)}" stroke-width="2"/>'
                     f'<text x="{left + w + 32}" y="{ly}">{html.escape(name)}</text>')
    parts.append("</svg>")
    return solara.HTML(tag="div", unsafe_innerHTML="".join(parts), classes=classes or [])


def shown_while_open(value, active: bool):
    """``value`` while the page is open; while it is hidden, the value it had when it was
    left. A hidden page still re-renders when shared state changes (the draft being
    edited): with its inputs held, its components see the same arguments and Solara
    skips them, so no model is rebuilt and no scenario re-checked behind the page in
    use. Opening the page again brings it up to date."""
    held = solara.use_ref(value)
    if active:
        held.current = value
    return held.current
