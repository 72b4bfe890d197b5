"""The Coverage page (``?view=coverage&by=task``): how many models discovery found, queued and
evaluated, and why the rest were not, per source, task, training dataset, library or week of
first sighting (the thesis's chapter 5); the models evaluated on each variant and compatible
dataset; and the share of self-reported values that disagree with evalbot's measurement."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import gradio as gr
import plotly.graph_objects as go

from space import queries as q
from space.data import Snapshot
from space.page import Params, choice, empty, esc, table
from space.pages.base import Page, PageParts, Site, link_md

#: the chart's bars: what became of the models found, stacked
STACK = ("evaluated", "failed", "pending", "not queued")
#: keys shown in the chart at most (the most found first)
CHART_KEYS = 40


@dataclass
class CoverageView:
    html: str
    figure: go.Figure | None = None


def pct(part: int, whole: int) -> str:
    """``part`` as a percentage of ``whole``, e.g. ``12.5%`` (``n/a`` of nothing)."""
    return f"{100 * part / whole:.1f}%" if whole else "n/a"


def share(part: int, whole: int) -> str:
    """``part`` and its share of ``whole``, e.g. ``3 (12.5%)``."""
    return f"{part} ({pct(part, whole)})"


def _reasons(rows: list[q.CoverageRow], prefix: str) -> list[str]:
    return sorted({m for r in rows for m in r.counts if m.startswith(prefix)})


def _counts_table(view: str, rows: list[q.CoverageRow]) -> str:
    return table(
        [view, "found", "queued", "evaluated", "failed", "pending", "not queued", "self-report"],
        [
            [
                esc(r.key),
                *(str(r.count(m)) for m in q.COVERAGE_MEASURES[:5]),
                str(r.count("found") - r.count("queued")),
                share(r.count("self-reports results"), r.count("found")),
            ]
            for r in rows
        ],
        elem_id="coverage-table",
    )


def _reasons_table(view: str, rows: list[q.CoverageRow]) -> str:
    not_queued, failed = _reasons(rows, "not queued: "), _reasons(rows, "failed: ")
    if not not_queued and not failed:
        return empty("Every model found was queued, and none failed.")
    return table(
        [view, *not_queued, *failed],
        [[esc(r.key), *(str(r.count(m)) for m in (*not_queued, *failed))] for r in rows],
        elem_id="coverage-reasons",
    )


def _variants_table(shares: list[q.CoverageShare]) -> str:
    covered = [s for s in shares if s.view in ("variant", "compatible")]
    if not covered:
        return empty("No model has been evaluated on a variant or a compatible dataset yet.")
    return table(
        ["on", "variant or dataset", "models evaluated", "of the evaluated models"],
        [
            [
                "variant" if s.view == "variant" else "compatible dataset",
                esc(s.key),
                str(s.count),
                share(s.count, s.total),
            ]
            for s in covered
        ],
        elem_id="coverage-variants",
    )


def _claims_table(shares: list[q.CoverageShare]) -> str:
    claims = [s for s in shares if s.view == "claims"]
    if not claims:
        return empty("No model card self-reports a value evalbot measured.")
    return table(
        ["dataset", "self-reported values", "disagreeing", "share disagreeing"],
        [
            [
                "all datasets" if s.key == "all" else esc(s.key),
                str(s.total),
                str(s.count),
                pct(s.count, s.total),
            ]
            for s in claims
        ],
        elem_id="coverage-claims",
    )


def _chart(view: str, rows: list[q.CoverageRow]) -> go.Figure:
    shown = sorted(rows, key=lambda r: -r.count("found"))[:CHART_KEYS]
    if view == "week":
        shown.sort(key=lambda r: r.key)
    values = {
        "evaluated": [r.count("evaluated") for r in shown],
        "failed": [r.count("failed") for r in shown],
        "pending": [r.count("pending") for r in shown],
        "not queued": [r.count("found") - r.count("queued") for r in shown],
    }
    fig = go.Figure()
    for name in STACK:
        fig.add_bar(name=name, x=[r.key for r in shown], y=values[name])
    fig.update_layout(
        barmode="stack",
        height=360,
        margin={"l": 40, "r": 10, "t": 30, "b": 80},
        title=f"Models found per {view}" if view != "overall" else "Models found",
        yaxis={"title": "models"},
    )
    return fig


def coverage_view(data: Snapshot, p: Params) -> CoverageView:
    """``?view=coverage&by=overall|source|task|dataset|library|week``: the census counted by
    the view's keys (found, queued, evaluated, failed, pending, not queued, the share of cards
    that self-report results), why models were not queued or failed, the models evaluated on
    each variant and compatible dataset, and the self-reported values that disagree."""
    view = choice(p.get("by"), q.COVERAGE_VIEWS, "overall")
    rows = q.coverage_rows(data, view)
    shares = q.coverage_shares(data)
    if not rows and not shares:
        return CoverageView(
            empty("The coverage of discovery has not been published yet: it appears after a cycle.")
        )
    title = "all models" if view == "overall" else f"models by {view}"
    parts = [f"<h2>Coverage: {esc(title)}</h2>"]
    if not rows:
        parts.append(empty(f"No model has been counted by {view} yet."))
    else:
        overall = q.coverage_rows(data, "overall")
        if overall:
            o = overall[0]
            parts.append(
                f"<p>Discovery found {o.count('found')} models: {o.count('queued')} queued, "
                f"{o.count('evaluated')} evaluated, {o.count('failed')} failed; "
                f"{share(o.count('self-reports results'), o.count('found'))} of their cards "
                "self-report results.</p>"
            )
        parts.append(_counts_table(view, rows))
        parts.append("<h3>Not queued and failed, by reason</h3>")
        parts.append(_reasons_table(view, rows))
    parts.append("<h3>Models evaluated per variant and compatible dataset</h3>")
    parts.append(_variants_table(shares))
    parts.append("<h3>Self-reported values that disagree with evalbot's measurement</h3>")
    parts.append(_claims_table(shares))
    return CoverageView("\n".join(parts), _chart(view, rows) if rows else None)


def r_coverage(data: Snapshot, p: dict[str, str]) -> list[Any]:
    view = coverage_view(data, p)
    by = choice(p.get("by"), q.COVERAGE_VIEWS, "overall")
    return [view.html, view.figure, link_md("coverage", by=by)]


def layout(site: Site) -> PageParts:
    c_by = gr.Radio(
        list(q.COVERAGE_VIEWS), value="overall", label="Count by", elem_id="coverage-by"
    )
    c_plot = gr.Plot(elem_id="coverage-plot", show_label=False)
    c_html = gr.HTML(elem_id="coverage-html")
    c_link = gr.Markdown(elem_id="coverage-link")
    return PageParts(
        inputs=[c_by],
        keys=["by"],
        outputs=[c_html, c_plot, c_link],
        callback=r_coverage,
        renders=[c_by.input],
    )


PAGE = Page("coverage", "Coverage", layout, coverage_view)
