"""Server-side SVG charts (no script, no inline style: colours come from thirdparty.css)."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from markupsafe import Markup, escape


def _fmt(value: Decimal | int) -> str:
    if isinstance(value, Decimal):
        return f"{value:,.2f} €".replace(",", "\u202f").replace(".", ",")
    return str(value)


def bar_chart(
    bars: Sequence[tuple[str, Decimal | int]],
    *,
    title: str,
    css_classes: Sequence[str] | None = None,
    width: int = 640,
    height: int = 220,
    label_every: int = 1,
) -> Markup:
    """Vertical bars with a label under every ``label_every``-th bar and values on top."""
    top, bottom, left, right = 24, 36, 8, 8
    plot_w, plot_h = width - left - right, height - top - bottom
    peak = max((float(v) for _, v in bars), default=0.0) or 1.0
    step = plot_w / max(1, len(bars))
    bar_w = max(2.0, step * 0.7)
    parts = [
        f'<svg class="tp-chart" viewBox="0 0 {width} {height}" role="img" '
        f'aria-labelledby="{escape(_slug(title))}" xmlns="http://www.w3.org/2000/svg">',
        f'<title id="{escape(_slug(title))}">{escape(title)}</title>',
        f'<line class="tp-axis" x1="{left}" y1="{top + plot_h}" x2="{left + plot_w}" y2="{top + plot_h}"/>',
    ]
    for i, (label, value) in enumerate(bars):
        h = plot_h * float(value) / peak
        x = left + i * step + (step - bar_w) / 2
        y = top + plot_h - h
        cls = css_classes[i % len(css_classes)] if css_classes else "tp-bar"
        parts.append(
            f'<rect class="{cls}" x="{x:.1f}" y="{y:.1f}" width="{bar_w:.1f}" height="{max(h, 0):.1f}">'
            f"<title>{escape(label)} : {escape(_fmt(value))}</title></rect>"
        )
        if label_every == 1 and value:
            parts.append(f'<text class="tp-value" x="{x + bar_w / 2:.1f}" y="{y - 4:.1f}">{escape(_fmt(value))}</text>')
        if i % label_every == 0:
            parts.append(f'<text class="tp-label" x="{x + bar_w / 2:.1f}" y="{top + plot_h + 16}">{escape(label)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def _slug(text: str) -> str:
    return "chart-" + "".join(c if c.isalnum() else "-" for c in text.lower())[:40]
