"""Charts drawn on the server as accessible inline SVG: no JavaScript, no chart library.

Each chart is a ``<figure>`` holding an ``<svg role="img">`` named by its own ``<title>`` and
``<desc>`` (through ``aria-labelledby``, which screen readers announce reliably) and, after
it, the same numbers as a ``<table>`` with a ``<caption>``: the fallback for anyone who
cannot see the picture, and for copying the figures (in a scrollable region that takes
keyboard focus, so a wide table can be scrolled without a mouse). Colours are not written into the SVG:
its parts carry ``ss-chart__*`` classes that ``static/staff.css`` paints from the theme's CSS
variables, so charts follow the theme and dark mode (and the Content-Security-Policy, which
forbids inline styles, has nothing to object to).

Every text is escaped here (:func:`markupsafe.escape`): labels are customer queries.
"""

from __future__ import annotations

from collections.abc import Sequence

from markupsafe import Markup, escape

__all__ = ["bar_chart", "data_table", "format_cell", "line_chart"]

WIDTH, HEIGHT = 640, 240
PAD_LEFT, PAD_RIGHT, PAD_TOP, PAD_BOTTOM = 48, 12, 12, 40

Cell = str | int | float | None
NUM_CELL = '<td class="ss-num">'


def _number(value: Cell) -> float:
    return float(value) if isinstance(value, (int, float)) else 0.0


def format_cell(value: Cell) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:,.1f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def _nice_max(top: float) -> float:
    """A round axis maximum at or above ``top`` (1, 2 or 5 times a power of ten)."""
    if top <= 0:
        return 1.0
    power = 10 ** len(str(int(top))) / 10 if top >= 1 else 1.0
    for step in (1, 2, 5, 10):
        if top <= step * power:
            return float(step * power)
    return top  # pragma: no cover - the loop always finds one


def data_table(caption: str, headers: Sequence[str], rows: Sequence[Sequence[Cell]], *, cls: str = "ss-table") -> Markup:
    """A table with a caption and column headers (``scope="col"``), the first cell of each
    row a row header (``scope="row"``)."""
    head = "".join(f'<th scope="col">{escape(h)}</th>' for h in headers)
    body = []
    for row in rows:
        cells = [f'<th scope="row">{escape(format_cell(row[0]))}</th>'] if row else []
        cells += [(NUM_CELL if isinstance(v, (int, float)) else "<td>") + f"{escape(format_cell(v))}</td>" for v in row[1:]]
        body.append(f"<tr>{''.join(cells)}</tr>")
    return Markup(f'<table class="{escape(cls)}"><caption>{escape(caption)}</caption>'
                  f"<thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>")


def _frame(chart_id: str, title: str, desc: str, inner: list[str]) -> str:
    return (f'<svg class="ss-chart__svg" viewBox="0 0 {WIDTH} {HEIGHT}" width="100%" role="img" '
            f'aria-labelledby="{chart_id}-title {chart_id}-desc" focusable="false" xmlns="http://www.w3.org/2000/svg">'
            f'<title id="{chart_id}-title">{escape(title)}</title><desc id="{chart_id}-desc">{escape(desc)}</desc>'
            + "".join(inner) + "</svg>")


def _axis(top: float, unit: str) -> list[str]:
    """Horizontal grid lines at 0, ½ and the maximum, with their values."""
    parts = []
    plot_h = HEIGHT - PAD_TOP - PAD_BOTTOM
    for fraction in (0.0, 0.5, 1.0):
        y = PAD_TOP + plot_h * (1 - fraction)
        parts.append(f'<line class="ss-chart__grid" x1="{PAD_LEFT}" x2="{WIDTH - PAD_RIGHT}" y1="{y:.1f}" y2="{y:.1f}"/>')
        parts.append(f'<text class="ss-chart__tick" x="{PAD_LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">'
                     f"{escape(format_cell(round(top * fraction, 1)))}{escape(unit)}</text>")
    return parts


def _describe(labels: Sequence[str], values: Sequence[float], unit: str) -> str:
    if not values or max(values) == 0:
        return "All values are zero."
    hi = max(range(len(values)), key=lambda i: values[i])
    lo = min(range(len(values)), key=lambda i: values[i])
    return (f"{len(values)} values. Highest: {labels[hi]}, {format_cell(values[hi])}{unit}. "
            f"Lowest: {labels[lo]}, {format_cell(values[lo])}{unit}.")


def bar_chart(chart_id: str, title: str, caption: str, headers: Sequence[str], rows: Sequence[Sequence[Cell]], *,
              value: int = 1, unit: str = "", desc: str = "") -> Markup:
    """Vertical bars, one per row: the label is column 0, the height column ``value``.
    Also the histogram of a score distribution (one bar per score)."""
    labels = [format_cell(r[0]) for r in rows]
    values = [_number(r[value]) for r in rows]
    top = _nice_max(max(values, default=0.0))
    plot_w, plot_h = WIDTH - PAD_LEFT - PAD_RIGHT, HEIGHT - PAD_TOP - PAD_BOTTOM
    inner = _axis(top, unit)
    slot = plot_w / max(len(rows), 1)
    for i, (label, v) in enumerate(zip(labels, values, strict=True)):
        h = plot_h * v / top
        x = PAD_LEFT + i * slot + slot * 0.15
        inner.append(f'<rect class="ss-chart__bar" x="{x:.1f}" y="{PAD_TOP + plot_h - h:.1f}" width="{slot * 0.7:.1f}" '
                     f'height="{h:.1f}"><title>{escape(label)}: {escape(format_cell(v))}{escape(unit)}</title></rect>')
        if len(rows) <= 16:
            inner.append(f'<text class="ss-chart__label" x="{x + slot * 0.35:.1f}" y="{HEIGHT - PAD_BOTTOM + 16}" '
                         f'text-anchor="middle">{escape(label[:12])}</text>')
    inner.append(f'<line class="ss-chart__axis" x1="{PAD_LEFT}" x2="{WIDTH - PAD_RIGHT}" y1="{PAD_TOP + plot_h}" '
                 f'y2="{PAD_TOP + plot_h}"/>')
    description = " ".join(filter(None, [desc, _describe(labels, values, unit)]))
    return _figure(chart_id, title, description, inner, caption, headers, rows)


def line_chart(chart_id: str, title: str, caption: str, headers: Sequence[str], rows: Sequence[Sequence[Cell]], *,
               value: int = 1, unit: str = "", desc: str = "") -> Markup:
    """A line over time (one point per row, oldest first), with the area under it shaded."""
    labels = [format_cell(r[0]) for r in rows]
    values = [_number(r[value]) for r in rows]
    top = _nice_max(max(values, default=0.0))
    plot_w, plot_h = WIDTH - PAD_LEFT - PAD_RIGHT, HEIGHT - PAD_TOP - PAD_BOTTOM
    step = plot_w / max(len(rows) - 1, 1)
    points = [(PAD_LEFT + i * step, PAD_TOP + plot_h * (1 - v / top)) for i, v in enumerate(values)]
    inner = _axis(top, unit)
    if points:
        line = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
        base = PAD_TOP + plot_h
        inner.append(f'<polygon class="ss-chart__area" points="{points[0][0]:.1f},{base} {line} {points[-1][0]:.1f},{base}"/>')
        inner.append(f'<polyline class="ss-chart__line" points="{line}"/>')
        for anchor, (x, _), label in (("start", points[0], labels[0]), ("end", points[-1], labels[-1])):
            inner.append(f'<text class="ss-chart__label" x="{x:.1f}" y="{HEIGHT - PAD_BOTTOM + 16}" '
                         f'text-anchor="{anchor}">{escape(label)}</text>')
    description = " ".join(filter(None, [desc, _describe(labels, values, unit)]))
    return _figure(chart_id, title, description, inner, caption, headers, rows)


def _figure(chart_id: str, title: str, desc: str, inner: list[str], caption: str, headers: Sequence[str],
            rows: Sequence[Sequence[Cell]]) -> Markup:
    svg = _frame(escape(chart_id), title, desc, inner)
    return Markup(f'<figure class="ss-chart" id="{escape(chart_id)}">{svg}'
                  f'<div class="ss-chart__table" tabindex="0" role="region" aria-label="{escape(caption)}">'
                  f'{data_table(caption, headers, rows)}</div></figure>')
