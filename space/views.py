"""The Space's views as plain functions: URL parameters in, what the page shows out.

Each view takes a snapshot of the results dataset (``space.data.Snapshot``, one published
version of its tables) and a dict of query parameters (``?view=result&model=...``) and
returns a dataclass of HTML/markdown strings, table rows and plotly figures. The Gradio
callbacks in ``space.app`` call these and nothing else; ``bench/space.py`` times them. Nothing
here writes, and what the page sends reaches ``space.queries`` only as plain values.
"""

from __future__ import annotations

import html
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import quote, urlencode

import numpy as np
import plotly.graph_objects as go

from space import queries as q
from space.data import Snapshot

Params = Mapping[str, str]
HUB_URL = "https://huggingface.co"
VIEWS_ORDER = (
    "models",
    "model",
    "result",
    "variants",
    "compare",
    "dataset",
    "scatter",
    "leaderboard",
    "find",
    "audit",
)
AXIS_LABELS = {
    **{m: m.replace("_", " ") for m in q.RESULT_METRICS},
    **{f"class:{m}": f"class {m}" for m in q.CLASS_METRICS},
    "instances_per_s": "examples per second",
    "per_instance_ms": "ms per example",
    "total_s": "runtime (s)",
    "num_parameters": "parameters",
    "size_mb": "weights (MB)",
    "ece": "expected calibration error",
}
NOTHING_YET = (
    "evalbot has not published any results yet: they appear here after its first evaluations."
)
DIMENSIONS = ("accuracy", "robustness", "calibration", "balance", "speed", "size")
DEFAULT_WEIGHTS = {
    "accuracy": 3.0,
    "robustness": 1.0,
    "calibration": 1.0,
    "balance": 1.0,
    "speed": 1.0,
    "size": 0.5,
}


def link(view: str, **params: object) -> str:
    """A relative URL of a view: the shareable address of what the page shows."""
    clean = {k: str(v) for k, v in params.items() if v not in (None, "", [], ())}
    return "?" + urlencode({"view": view, **clean})


def md_link(text: str, href: str) -> str:
    """A markdown link for a Dataframe cell (brackets and parentheses escaped)."""
    clean = "".join("\\" + ch if ch in "[]()\\" else ch for ch in text)
    return f"[{clean}]({href})"


def esc(value: object) -> str:
    return html.escape(str(value), quote=True)


def a(href: str, text: object, *, cls: str = "") -> str:
    klass = f' class="{cls}"' if cls else ""
    return f'<a href="{esc(href)}"{klass}>{esc(text)}</a>'


def fmt(value: float | None, digits: int = 3) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def table(headers: Sequence[str], rows: Sequence[Sequence[str]], *, elem_id: str = "") -> str:
    """An HTML table; cells are HTML already (escape text with :func:`esc`)."""
    ident = f' id="{esc(elem_id)}"' if elem_id else ""
    head = "".join(f"<th>{esc(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    return f'<table class="evalbot-table"{ident}><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def empty(sentence: str) -> str:
    return f'<p class="evalbot-empty">{esc(sentence)}</p>'


def _int(value: object, default: int, lo: int, hi: int) -> int:
    try:
        number = int(str(value))
    except ValueError:
        return default
    return max(lo, min(hi, number))


def _float(value: object, default: float) -> float:
    try:
        number = float(str(value))
    except ValueError:
        return default
    return number if math.isfinite(number) else default


def _choice(value: object, allowed: Sequence[str], default: str) -> str:
    return value if isinstance(value, str) and value in allowed else default


def _when(value: datetime | None) -> str:
    return f"{value:%Y-%m-%d %H:%M} UTC" if value else "an unknown time"


def pr_url(hub_url: str, repo_id: str, num: int) -> str:
    """The Hub page of a pull request (a discussion) of ``repo_id``."""
    return f"{hub_url}/{repo_id}/discussions/{num}"


# -- models ---------------------------------------------------------------------------------


@dataclass
class ModelsView:
    html: str
    info: str
    page: int
    pages: int
    facets: q.Facets


def models_filter(p: Params) -> q.ModelFilter:
    return q.ModelFilter(
        search=p.get("q", ""),
        origin=p.get("origin", ""),
        task=p.get("task", ""),
        trained_on=p.get("trained", ""),
        evaluated_on=p.get("evaluated", ""),
        metrics=_choice(p.get("metrics"), ("yes", "no"), ""),
        failure=p.get("failure", ""),
        pr=_choice(p.get("pr"), ("declined",), ""),
        sort=_choice(p.get("sort"), tuple(q.MODEL_SORTS), "name"),
        descending=p.get("order") == "desc",
        page=_int(p.get("page", "1"), 1, 1, 10**6),
        per_page=_int(p.get("per_page", "25"), 25, 1, q.MAX_PER_PAGE),
    )


def models_view(data: Snapshot, p: Params, *, hub_url: str = HUB_URL) -> ModelsView:
    """``?view=models``: browse, search, filter, sort and page the models.

    URL parameters: ``q`` (name contains), ``origin``, ``task``, ``trained`` (a training
    dataset), ``evaluated`` (a dataset with results), ``metrics=yes|no``, ``failure`` (a failure
    reason), ``pr=declined`` (only repos whose author closed evalbot's PR; their row says
    "declined"), ``sort=name|task|status|parameters|updated``, ``order=asc|desc``, ``page``,
    ``per_page``.
    """
    f = models_filter(p)
    page = q.list_models(data, f)
    facets = q.model_facets(data)
    if not page.rows and not q.has_results(data):
        body = empty(NOTHING_YET)
    elif not page.rows:
        body = empty("No model matches these filters. Clear a filter or search for another name.")
    else:
        rows = []
        for r in page.rows:
            actions = (
                a(link("model", model=r.repo_id), "View")
                + " · "
                + " · ".join(
                    a(link("result", model=r.repo_id, dataset=d), f"results on {d}")
                    for d in r.evaluated_on
                )
                if r.has_metrics
                else a(link("model", model=r.repo_id), "View")
            )
            rows.append(
                [
                    a(link("model", model=r.repo_id), r.repo_id, cls="model-link"),
                    esc(r.origin),
                    esc(r.task),
                    esc(", ".join(r.trained_on) or "—"),
                    esc(", ".join(r.evaluated_on) or "—"),
                    "yes" if r.has_metrics else "no",
                    fmt(r.accuracy),
                    esc(r.failure_reason or ""),
                    a(pr_url(hub_url, r.repo_id, r.declined), "declined", cls="evalbot-declined")
                    if r.declined is not None
                    else "",
                    actions,
                ]
            )
        body = table(
            [
                "model",
                "origin",
                "task",
                "trained on",
                "evaluated on",
                "metrics",
                "accuracy",
                "failure reason",
                "PRs",
                "",
            ],
            rows,
            elem_id="models-list",
        )
    info = f"Page {page.page} / {page.pages} · {page.total} models"
    return ModelsView(html=body, info=info, page=page.page, pages=page.pages, facets=facets)


# -- one model ------------------------------------------------------------------------------


def _size(n: float) -> str:
    for unit in ("B", "kB", "MB", "GB"):
        if n < 1000:
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} TB"


def _ci(s: q.ResultSummary, metric: str) -> str:
    value = fmt(s.metrics.get(metric))
    if metric in s.intervals:
        lo, hi = s.intervals[metric]
        value += f" [{lo:.3f}, {hi:.3f}]"
    return value


def model_view(data: Snapshot, p: Params, *, hub_url: str = HUB_URL) -> str:
    """``?view=model&model=ORG/NAME`` (or the PRs' ``?model=ORG/NAME``): one model, the results
    of its evaluated revision, and whether its author declined evalbot's PRs."""
    repo_id = p.get("model", "").strip()
    if not repo_id:
        return empty("Pick a model: search for it in the Models view, or type its name above.")
    detail = q.model_detail(data, repo_id)
    if detail is None:
        return empty(f"No model named {repo_id} has been seen by evalbot yet.")
    m = detail.model
    revision = f"revision <code>{esc(m.sha[:8])}</code>"
    if m.evaluated_sha != m.sha:
        revision += f" (same files as the evaluated <code>{esc(m.evaluated_sha[:8])}</code>)"
    parts = [
        f'<h2 id="model-name">{esc(m.repo_id)}</h2>',
        f"<p>{a(f'{hub_url}/{m.repo_id}', 'View on the Hub')} · {revision} · "
        f"task {a(link('models', task=m.pipeline_tag or ''), m.pipeline_tag or 'unknown')} · "
        f"origin {a(link('models', origin=m.origin), m.origin)} · status <b>{esc(m.status.value)}</b></p>",
    ]
    if detail.declined is not None:
        parts.append(_declined(detail.declined, m.repo_id, hub_url))
    if m.failure_reason:
        parts.append(
            f'<p class="evalbot-failure"><b>Not evaluated: {esc(m.failure_reason.value)}.</b> '
            f"{esc(m.failure_detail or '')}</p>"
        )
    if m.tags:
        parts.append("<p>Tags: " + " ".join(f"<code>{esc(t)}</code>" for t in m.tags) + "</p>")
    trained = ", ".join(a(link("models", trained=d), d) for d in m.datasets) or "not stated"
    parts.append(f"<p>Trained on: {trained}</p>")
    if m.num_parameters:
        parts.append(f"<p>Parameters: {m.num_parameters:,}</p>")
    if m.file_sizes:
        parts.append(
            "<h3>Files</h3>"
            + table(
                ["file", "size"],
                [[esc(k), _size(v)] for k, v in sorted(m.file_sizes.items())],
                elem_id="model-files",
            )
        )
    ref = detail.reference
    if ref:
        title = ref.title or ref.key
        url = ref.url or (f"https://arxiv.org/abs/{ref.arxiv}" if ref.arxiv else "")
        who = f"{ref.authors} ({ref.year}). " if ref.authors else ""
        parts.append(f"<p>Reference: {esc(who)}{a(url, title) if url else esc(title)}</p>")
    parts.append("<h3>Evaluation summary</h3>")
    if not detail.results:
        parts.append(empty("evalbot holds no results for this model's current revision."))
    else:
        rows = []
        for s in detail.results:
            rows.append(
                [
                    a(link("dataset", dataset=s.dataset_id), s.dataset_name),
                    esc(s.split),
                    esc(s.variant),
                    _ci(s, "accuracy"),
                    _ci(s, "macro_f1"),
                    fmt(s.ece),
                    f"{fmt(s.total_s, 2)} s · {fmt(s.instances_per_s, 1)} ex/s",
                    a(
                        link(
                            "result",
                            model=m.repo_id,
                            dataset=s.dataset_id,
                            split=s.split,
                            variant=s.variant,
                        ),
                        "results",
                    )
                    + " · "
                    + a(
                        link("variants", model=m.repo_id, dataset=s.dataset_id, split=s.split),
                        "variants",
                    )
                    + " · "
                    + a(link("compare", dataset=s.dataset_id, models=m.repo_id), "compare"),
                ]
            )
        parts.append(
            table(
                [
                    "dataset",
                    "split",
                    "variant",
                    "accuracy [95% CI]",
                    "macro F1 [95% CI]",
                    "ECE",
                    "runtime",
                    "",
                ],
                rows,
                elem_id="model-results",
            )
        )
    if m.hyperparameters:
        parts.append(
            "<h3>Hyperparameters (config.json)</h3>"
            + table(
                ["parameter", "value"],
                [[esc(k), f"<code>{esc(v)}</code>"] for k, v in sorted(m.hyperparameters.items())],
                elem_id="model-hyperparameters",
            )
        )
    parts.append("<h3>Self-reported vs measured</h3>")
    if not detail.claims:
        parts.append(empty("The model card reports no values for the datasets evalbot measured."))
    else:
        parts.append(
            table(
                ["dataset", "split", "metric", "claimed", "measured [95% CI]", "verdict"],
                [_claim_row(c) for c in detail.claims],
                elem_id="model-claims",
            )
        )
    return "\n".join(parts)


def _declined(d: q.Declined, repo_id: str, hub_url: str) -> str:
    closed = (
        "closed" + (f" by {esc(d.by)}" if d.by else "") + (f" on {d.at:%Y-%m-%d}" if d.at else "")
    )
    return (
        '<p class="evalbot-declined" id="model-declined">The author declined evalbot\'s pull '
        f"requests ({a(pr_url(hub_url, repo_id, d.num), f'PR #{d.num}')} {closed}): "
        "results are shown here, no further PRs are opened.</p>"
    )


def _claim_row(c: Any) -> list[str]:
    ci = f" [{c.low:.3f}, {c.high:.3f}]" if c.low is not None and c.high is not None else ""
    cls = "agrees" if c.agrees else "differs"
    return [
        esc(c.dataset_id),
        esc(c.split),
        esc(c.metric),
        f"{c.claimed:.3f}",
        f"{c.measured:.3f}{ci}",
        f'<span class="claim-{cls}">{esc(c.verdict)}</span>',
    ]


# -- one evaluation result ------------------------------------------------------------------


@dataclass
class ResultView:
    header: str
    classes: list[str] = field(default_factory=list)
    chart: go.Figure | None = None
    rows: list[list[Any]] = field(default_factory=list)
    confusion_classes: list[str] = field(default_factory=list)  # the picker's initial choice
    confusion: go.Figure | None = None
    pairs: list[str] = field(default_factory=list)  # "true → predicted" choices
    gallery: list[tuple[Any, str]] = field(default_factory=list)
    errors: str = ""
    calibration: go.Figure | None = None
    found: bool = False


CLASS_COLUMNS = ["id", "class", "precision", "recall", "F1", "support", "TP", "FP", "FN"]


def class_rows(
    detail: q.ResultDetail, *, search: str = "", sort: str = "id", descending: bool = False
) -> list[list[Any]]:
    needle = search.strip().casefold()
    classes = [c for c in detail.classes if needle in c.label.casefold()]
    if sort in q.CLASS_METRICS or sort == "support":  # "n/a" classes last either way
        known = [c for c in classes if getattr(c, sort) is not None]
        known.sort(key=lambda c: getattr(c, sort), reverse=descending)
        classes = known + [c for c in classes if getattr(c, sort) is None]
    elif descending:
        classes.reverse()
    return [
        [
            c.class_id,
            c.label,
            fmt(c.precision),
            fmt(c.recall),
            fmt(c.f1),
            c.support,
            c.tp,
            c.fp,
            c.fn,
        ]
        for c in classes
    ]


def class_chart(
    detail: q.ResultDetail,
    metrics: Sequence[str],
    *,
    search: str = "",
    sort: str = "id",
    descending: bool = False,
) -> go.Figure:
    rows = class_rows(detail, search=search, sort=sort, descending=descending)
    labels = [f"{r[1]} ({r[0]})" for r in rows]
    by_id = {c.class_id: c for c in detail.classes}
    fig = go.Figure()
    for metric in [m for m in q.CLASS_METRICS if m in metrics]:
        fig.add_bar(
            name=metric,
            x=labels,
            y=[getattr(by_id[r[0]], metric) for r in rows],
            hovertemplate="%{x}<br>" + metric + " %{y:.3f}<extra></extra>",
        )
    fig.update_layout(
        barmode="group",
        height=360,
        margin={"l": 40, "r": 10, "t": 30, "b": 80},
        yaxis={"range": [0, 1.05], "title": "value"},
        title="Per-class metrics",
    )
    return fig


def confusion_figure(detail: q.ResultDetail, classes: Sequence[str]) -> go.Figure:
    index = {label: i for i, label in enumerate(detail.labels)}
    ids = [index[c] for c in classes if c in index] or list(range(min(len(detail.labels), 10)))
    names = [detail.labels[i] for i in ids]
    matrix = [[detail.confusion[t][p] if detail.confusion else 0 for p in ids] for t in ids]
    fig = go.Figure(
        go.Heatmap(
            z=matrix,
            x=names,
            y=names,
            colorscale="Reds",
            text=[[str(v) for v in row] for row in matrix],
            texttemplate="%{text}",
            hovertemplate="true %{y} → predicted %{x}: %{z}<extra></extra>",
        )
    )
    fig.update_layout(
        height=380,
        margin={"l": 60, "r": 10, "t": 30, "b": 60},
        xaxis={"title": "predicted", "type": "category"},
        yaxis={"title": "true", "type": "category", "autorange": "reversed"},
        title="Confusion matrix",
    )
    return fig


def initial_confusion_classes(detail: q.ResultDetail) -> list[str]:
    """The classes of the three most common confusions (thesis figure 6.17)."""
    chosen: list[str] = []
    for t, p, _ in q.most_confused(detail.confusion, 3):
        for i in (t, p):
            if i < len(detail.labels) and detail.labels[i] not in chosen:
                chosen.append(detail.labels[i])
    return chosen or detail.labels[:5]


def _png(data: bytes) -> Any:
    import io

    from PIL import Image

    return Image.open(io.BytesIO(data)).convert("RGB")


def errors_view(
    detail: q.ResultDetail, *, pair: str = "", min_conf: float = 0.0, max_conf: float = 1.0
) -> tuple[list[tuple[Any, str]], str]:
    """Misclassifications, most confident first, filtered by pair and confidence."""
    items = [
        e
        for e in detail.misclassifications
        if (not pair or f"{e.item.true_label} → {e.item.predicted_label}" == pair)
        and min_conf <= e.item.confidence <= max_conf
    ]
    gallery = [
        (
            _png(e.thumbnail_png),
            f"#{e.item.example_id}: {e.item.true_label} → {e.item.predicted_label} ({e.item.confidence:.2f})",
        )
        for e in items[:60]
        if e.thumbnail_png
    ]
    if not items:
        return gallery, empty("No misclassification matches this pair and confidence range.")
    rows = [
        [
            str(e.item.example_id),
            esc(e.item.true_label),
            esc(e.item.predicted_label),
            f"{e.item.confidence:.3f}",
            esc(e.text) if e.text else ("(image above)" if e.thumbnail_png else "(not stored)"),
        ]
        for e in items[:200]
    ]
    note = f"<p>{len(items)} errors, most confident first.</p>"
    return gallery, note + table(
        ["example", "true", "predicted", "confidence", "input"], rows, elem_id="errors-table"
    )


def calibration_figure(detail: q.ResultDetail) -> go.Figure | None:
    cal = detail.calibration
    if cal is None:
        return None
    bins = [b for b in cal.bins if b.count]
    fig = go.Figure()
    fig.add_bar(
        x=[(b.lower + b.upper) / 2 for b in bins],
        y=[b.accuracy for b in bins],
        width=[b.upper - b.lower for b in bins],
        name="accuracy",
        customdata=[b.count for b in bins],
        hovertemplate="confidence %{x:.2f}: accuracy %{y:.3f} (%{customdata} examples)<extra></extra>",
    )
    fig.add_scatter(
        x=[0, 1], y=[0, 1], mode="lines", name="perfect calibration", line={"dash": "dash"}
    )
    fig.update_layout(
        height=340,
        margin={"l": 40, "r": 10, "t": 30, "b": 40},
        title=f"Reliability diagram · ECE {cal.ece:.3f} · MCE {cal.mce:.3f}",
        xaxis={"title": "confidence", "range": [0, 1]},
        yaxis={"title": "accuracy", "range": [0, 1]},
    )
    return fig


def load_result(data: Snapshot, p: Params) -> q.ResultDetail | None:
    model, dataset = p.get("model", "").strip(), p.get("dataset", "").strip()
    if not model or not dataset:
        return None
    return q.result_detail(
        data, model, dataset, split=p.get("split", ""), variant=p.get("variant", "") or q.ORIGINAL
    )


def result_view(data: Snapshot, p: Params) -> ResultView:
    model, dataset = p.get("model", "").strip(), p.get("dataset", "").strip()
    if not model or not dataset:
        return ResultView(header=empty("Pick a model and a dataset to see an evaluation result."))
    detail = load_result(data, p)
    if detail is None:
        variant = p.get("variant", "") or q.ORIGINAL
        return ResultView(
            header=empty(f"evalbot holds no result of {model} on {dataset} ({variant} variant).")
        )
    s = detail.summary
    variants_rows = []
    base = detail.variants[0].metrics.get("accuracy") if detail.variants else None
    for v in detail.variants:
        acc = v.metrics.get("accuracy")
        delta = (
            "" if base is None or acc is None or v.variant == q.ORIGINAL else f"{acc - base:+.3f}"
        )
        variants_rows.append(
            [
                a(
                    link(
                        "result",
                        model=detail.model_id,
                        dataset=v.dataset_id,
                        split=v.split,
                        variant=v.variant,
                    ),
                    v.variant,
                ),
                fmt(acc),
                delta,
                fmt(v.metrics.get("macro_f1")),
            ]
        )
    header = "\n".join(
        [
            f'<h2 id="result-title">{esc(detail.model_id)} on {esc(s.dataset_name)} · {esc(s.split)} · {esc(s.variant)}</h2>',
            f"<p>{a(link('model', model=detail.model_id), 'Model')} · "
            f"{a(link('dataset', dataset=s.dataset_id), 'Dataset')} · "
            f"{a(link('variants', model=detail.model_id, dataset=s.dataset_id, split=s.split), 'Compare variants')} · "
            f"{a(link('compare', dataset=s.dataset_id, models=detail.model_id, variant=s.variant), 'Compare with other models')} · "
            f"{a(link('scatter', dataset=s.dataset_id), 'Scatterplot')}</p>",
            "<h3>Runtime</h3>",
            table(
                [
                    "examples",
                    "total time (s)",
                    "time per example (ms)",
                    "examples per second",
                    "device",
                    "batch size",
                ],
                [
                    [
                        str(s.num_examples),
                        fmt(s.total_s, 2),
                        fmt(s.per_instance_ms, 2),
                        fmt(s.instances_per_s, 1),
                        esc(s.device),
                        esc(s.batch_size),
                    ]
                ],
                elem_id="result-runtime",
            ),
            f"<p>Accuracy {_ci(s, 'accuracy')} · macro F1 {_ci(s, 'macro_f1')} · ECE {fmt(s.ece)}</p>",
            "<h3>Variants</h3>",
            table(
                ["variant", "accuracy", "vs original", "macro F1"],
                variants_rows,
                elem_id="result-variants",
            ),
        ]
    )
    chosen = initial_confusion_classes(detail)
    pairs = [
        f"{detail.labels[t]} → {detail.labels[pr]}"
        for t, pr, _ in q.most_confused(detail.confusion, 50)
        if t < len(detail.labels) and pr < len(detail.labels)
    ]
    gallery, errors = errors_view(detail)
    return ResultView(
        header=header,
        classes=detail.labels,
        chart=class_chart(detail, q.CLASS_METRICS),
        rows=class_rows(detail),
        confusion_classes=chosen,
        confusion=confusion_figure(detail, chosen),
        pairs=pairs,
        gallery=gallery,
        errors=errors,
        calibration=calibration_figure(detail),
        found=True,
    )


# -- variant comparison ---------------------------------------------------------------------


@dataclass
class VariantsView:
    info: str
    figure: go.Figure | None = None
    headers: list[str] = field(default_factory=list)
    rows: list[list[Any]] = field(default_factory=list)


def variants_view(data: Snapshot, p: Params) -> VariantsView:
    model, dataset = p.get("model", "").strip(), p.get("dataset", "").strip()
    if not model or not dataset:
        return VariantsView(info=empty("Pick a model and a dataset to compare its variants."))
    metric = _choice(p.get("metric"), q.CLASS_METRICS, "f1")
    relative = p.get("mode") == "relative"
    cmp = q.variant_comparison(data, model, dataset, metric=metric, split=p.get("split", ""))
    if cmp is None:
        return VariantsView(info=empty(f"evalbot holds no result of {model} on {dataset}."))
    if len(cmp.variants) < 2:
        return VariantsView(
            info=empty(
                f"{model} was evaluated on the original {dataset} only; there is no variant to compare."
            )
        )
    needle = p.get("filter", "").strip().casefold()
    ids = [i for i, label in enumerate(cmp.labels) if needle in label.casefold()]
    base = cmp.values[q.ORIGINAL] if q.ORIGINAL in cmp.values else [None] * len(cmp.labels)

    def value(v: str, i: int) -> float | None:
        x, b = cmp.values[v][i], base[i]
        if not relative or v == q.ORIGINAL:
            return x
        return None if x is None or b is None else x - b

    def overall(v: str) -> float | None:
        x, b = cmp.overall[v], cmp.overall.get(q.ORIGINAL)
        if not relative or v == q.ORIGINAL:
            return x
        return None if x is None or b is None else x - b

    shown = [v for v in cmp.variants if not (relative and v == q.ORIGINAL)]
    fig = go.Figure()
    for v in shown:
        fig.add_bar(name=v, x=[cmp.labels[i] for i in ids], y=[value(v, i) for i in ids])
    fig.update_layout(
        barmode="group",
        height=380,
        margin={"l": 40, "r": 10, "t": 30, "b": 80},
        title=f"{metric} per class" + (" relative to the original" if relative else ""),
        yaxis={"title": f"{metric} − original" if relative else metric},
    )
    headers = ["class", *shown]
    rows = [[cmp.labels[i], *[fmt(value(v, i)) for v in shown]] for i in ids]
    rows.append(
        [
            "(whole dataset)",
            *[fmt(overall(v)) for v in shown],
        ]
    )
    info = (
        f"<p>{esc(model)} on {esc(dataset)} ({esc(cmp.split)}): {esc(metric)} per class for "
        f"{len(cmp.variants)} variants, {'relative to the original' if relative else 'absolute values'}.</p>"
    )
    return VariantsView(info=info, figure=fig, headers=headers, rows=rows)


# -- model comparison -----------------------------------------------------------------------


@dataclass
class CompareView:
    info: str
    speed: str = ""
    figure: go.Figure | None = None
    headers: list[str] = field(default_factory=list)
    rows: list[list[Any]] = field(default_factory=list)
    choices: list[str] = field(default_factory=list)


def compare_view(data: Snapshot, p: Params) -> CompareView:
    dataset = p.get("dataset", "").strip()
    if not dataset:
        return CompareView(info=empty("Pick a dataset, then two or more models evaluated on it."))
    variant = p.get("variant", "") or q.ORIGINAL
    choices = q.models_evaluated_on(data, dataset, variant=variant)
    models = [m for m in p.get("models", "").split(",") if m.strip()]
    metric = _choice(p.get("metric"), q.CLASS_METRICS, "f1")
    if len(models) < 2:
        return CompareView(
            info=empty(
                f"Pick two or more models evaluated on {dataset} to compare them ({len(choices)} available)."
            ),
            choices=choices,
        )
    cmp = q.compare_models(data, dataset, models, metric=metric, variant=variant)
    missing = (
        f"<p>Not evaluated on {esc(dataset)} ({esc(variant)}): {esc(', '.join(cmp.missing))}.</p>"
        if cmp.missing
        else ""
    )
    if len(cmp.models) < 2:
        return CompareView(
            info=missing + empty("Fewer than two of these models have results here."),
            choices=choices,
        )
    speed = table(
        ["model", "accuracy", "macro F1", "examples per second", "ms per example", "total (s)"],
        [
            [
                a(link("result", model=m.model_id, dataset=dataset, variant=variant), m.model_id),
                _ci(m.summary, "accuracy"),
                _ci(m.summary, "macro_f1"),
                fmt(m.summary.instances_per_s, 1),
                fmt(m.summary.per_instance_ms, 2),
                fmt(m.summary.total_s, 2),
            ]
            for m in cmp.models
        ],
        elem_id="compare-speed",
    )
    fig = go.Figure()
    for m in cmp.models:
        fig.add_bar(name=m.model_id, x=cmp.labels, y=m.per_class)
    fig.update_layout(
        barmode="group",
        height=380,
        margin={"l": 40, "r": 10, "t": 30, "b": 80},
        title=f"{metric} per class",
        yaxis={"range": [0, 1.05]},
    )
    headers = ["class", *[m.model_id for m in cmp.models]]
    rows = [
        [label, *[fmt(m.per_class[i]) for m in cmp.models]] for i, label in enumerate(cmp.labels)
    ]
    info = (
        f"<p>{len(cmp.models)} models on {esc(dataset)} ({esc(variant)}), {esc(metric)} per class.</p>"
        + missing
    )
    return CompareView(
        info=info, speed=speed, figure=fig, headers=headers, rows=rows, choices=choices
    )


# -- dataset --------------------------------------------------------------------------------


def _data_uri(png: bytes) -> str:
    import base64

    return "data:image/png;base64," + base64.b64encode(png).decode()


def dataset_view(data: Snapshot, p: Params) -> str:
    """``?view=dataset&dataset=HUB_ID`` (no ``dataset``: the list of datasets): description,
    reference, variants and model counts, splits, classes with examples, and whether the
    dataset can currently be used for new evaluations."""
    dataset = p.get("dataset", "").strip()
    if not dataset:
        known = q.list_datasets(data)
        if not known:
            return empty("evalbot has not evaluated any dataset yet.")
        return "<h2>Datasets</h2>" + table(
            ["dataset", "name", "modality", "task"],
            [
                [
                    a(link("dataset", dataset=d.dataset_id), d.dataset_id),
                    esc(d.name),
                    esc(d.modality),
                    esc(d.task),
                ]
                for d in known
            ],
            elem_id="datasets-list",
        )
    d = q.dataset_detail(data, dataset)
    if d is None:
        return empty(f"evalbot knows no dataset named {dataset}.")
    parts = [
        f'<h2 id="dataset-name">{esc(d.name)} <small>({esc(d.dataset_id)})</small></h2>',
        f"<p>{esc(d.description or 'No description.')}</p>",
        "<p>"
        + " · ".join(
            x
            for x in (
                a(d.homepage, "Homepage") if d.homepage else "",
                a(link("models", trained=d.dataset_id), "Models trained on it"),
                a(link("scatter", dataset=d.dataset_id), "Scatterplot"),
                a(link("leaderboard", dataset=d.dataset_id), "Leaderboard"),
                a(link("find", dataset=d.dataset_id), "Find a model"),
            )
            if x
        )
        + "</p>",
    ]
    if d.problem is not None:
        parts.append(_problem(d.problem))
    if d.reference:
        r = d.reference
        url = r.url or (f"https://arxiv.org/abs/{r.arxiv}" if r.arxiv else "")
        who = f"{r.authors} ({r.year}). " if r.authors else ""
        parts.append(
            f"<p>Reference: {esc(who)}{a(url, r.title or r.key) if url else esc(r.title or r.key)}</p>"
        )
    compatible = ", ".join(a(link("dataset", dataset=c), c) for c in d.compatible) or "none"
    parts.append(f"<p>Compatible datasets: {compatible}</p>")
    parts.append(
        "<p>Supported variants: " + " ".join(f"<code>{esc(v)}</code>" for v in d.variants) + "</p>"
    )
    parts.append("<h3>Evaluated models per variant</h3>")
    parts.append(
        table(
            ["variant", "description", "models evaluated", "of which trained on this dataset"],
            [
                [
                    a(link("models", evaluated=d.dataset_id), v.variant)
                    if v.variant == q.ORIGINAL
                    else esc(v.variant),
                    esc(v.description),
                    str(v.models),
                    str(v.trained_on),
                ]
                for v in d.evaluated
            ],
            elem_id="dataset-variants",
        )
    )
    parts.append("<h3>Splits</h3>")
    if d.splits:
        parts.append(
            table(
                ["split", "revision", "examples", "largest classes"],
                [
                    [
                        esc(s.split),
                        f"<code>{esc(s.revision[:8])}</code>",
                        str(s.num_examples),
                        esc(
                            ", ".join(
                                f"{d.labels[i] if i < len(d.labels) else i}: {n}"
                                for i, n in sorted(enumerate(s.class_counts), key=lambda x: -x[1])[
                                    :5
                                ]
                            )
                        ),
                    ]
                    for s in d.splits
                ],
                elem_id="dataset-splits",
            )
        )
    else:
        parts.append(empty("No split statistics are stored for this dataset."))
    parts.append(f"<h3>Classes ({len(d.labels)})</h3>")
    rows = []
    for cid, label in enumerate(d.labels[:100]):
        shown = []
        for e in d.examples.get(cid, []):
            if e.thumbnail_png:
                shown.append(
                    f'<img class="example-thumb" alt="{esc(label)}" src="{_data_uri(e.thumbnail_png)}">'
                )
            elif e.text:
                shown.append(f'<span class="example-text">“{esc(e.text[:160])}”</span>')
        rows.append([str(cid), esc(label), " ".join(shown) or "—"])
    parts.append(table(["id", "class", "examples"], rows, elem_id="dataset-classes"))
    return "\n".join(parts)


def _problem(problem: q.ModuleProblem) -> str:
    waiting = (
        f" {problem.waiting} evaluation{'s' if problem.waiting != 1 else ''} wait for a fix."
        if problem.waiting
        else ""
    )
    return (
        '<p class="evalbot-failure" id="dataset-problem">This dataset cannot currently be used '
        f"for new evaluations (module <code>{esc(problem.module_id)}</code>, since "
        f"{_when(problem.since)}): {esc(problem.error.rstrip('.'))}.{waiting} "
        "Stored results below stay valid.</p>"
    )


# -- scatterplot ----------------------------------------------------------------------------

AXES = (*q.RESULT_METRICS, *(f"class:{m}" for m in q.CLASS_METRICS), *q.OTHER_AXES)


@dataclass
class ScatterView:
    info: str
    figure: go.Figure | None = None
    headers: list[str] = field(default_factory=list)
    rows: list[list[Any]] = field(default_factory=list)


def scatter_view(data: Snapshot, p: Params, *, table_rows: int = 500) -> ScatterView:
    dataset = p.get("dataset", "").strip()
    if not dataset:
        return ScatterView(info=empty("Pick a dataset to plot the models evaluated on it."))
    x = _choice(p.get("x"), AXES, "accuracy")
    y = _choice(p.get("y"), AXES, "instances_per_s")
    label = p.get("class", "").strip()
    if (x.startswith("class:") or y.startswith("class:")) and not label:
        return ScatterView(info=empty("Pick a class for the per-class axis."))
    variant = p.get("variant", "") or q.ORIGINAL
    points = q.model_points(
        data,
        dataset,
        variant=variant,
        class_label=label if (x.startswith("class:") or y.startswith("class:")) else "",
        with_parameters="num_parameters" in (x, y),
        with_weights="size_mb" in (x, y),
    )
    raw = [(pt, q.axis_value(pt, x), q.axis_value(pt, y)) for pt in points]
    pairs = [(pt, vx, vy) for pt, vx, vy in raw if vx is not None and vy is not None]
    if not pairs:
        return ScatterView(
            info=empty(
                f"No model evaluated on {dataset} ({variant}) has both {AXIS_LABELS[x]} and {AXIS_LABELS[y]}."
            )
        )
    tail = "&" + urlencode({"dataset": dataset, "variant": variant})
    urls = [  # one per point: built by hand, urlencode is slow over 10,000 points
        f"?view=result&model={quote(pt.model_id, safe='')}&split={quote(pt.split, safe='')}{tail}"
        for pt, _, _ in pairs
    ]
    trace = go.Scatter if len(pairs) <= 2000 else go.Scattergl  # SVG points where it is cheap
    fig = go.Figure(
        trace(  # numpy arrays: plotly validates lists element by element
            x=np.fromiter((vx for _, vx, _ in pairs), float, len(pairs)),
            y=np.fromiter((vy for _, _, vy in pairs), float, len(pairs)),
            mode="markers",
            text=np.array([pt.model_id for pt, _, _ in pairs], dtype=object),
            customdata=np.array(urls, dtype=object),
            marker={"size": 11 if len(pairs) < 200 else 6, "opacity": 0.8},
            hovertemplate="%{text}<br>"
            + AXIS_LABELS[x]
            + " %{x:.4g}<br>"
            + AXIS_LABELS[y]
            + " %{y:.4g}<extra></extra>",
        )
    )
    for_class = (
        f", for class {label}"
        if label and (x.startswith("class:") or y.startswith("class:"))
        else ""
    )
    fig.update_layout(
        height=440,
        margin={"l": 50, "r": 10, "t": 40, "b": 50},
        title=f"{AXIS_LABELS[x]} vs {AXIS_LABELS[y]}{for_class}",
        xaxis={"title": AXIS_LABELS[x]},
        yaxis={"title": AXIS_LABELS[y]},
        hovermode="closest",
        dragmode="zoom",
    )
    order = sorted(range(len(pairs)), key=lambda i: -pairs[i][1])[:table_rows]
    rows = [
        [md_link(pairs[i][0].model_id, urls[i]), f"{pairs[i][1]:.4g}", f"{pairs[i][2]:.4g}"]
        for i in order
    ]
    more = (
        f" The table shows the first {table_rows} by {AXIS_LABELS[x]}."
        if len(pairs) > table_rows
        else ""
    )
    info = (
        f"<p>Plotting {len(pairs)} models on {esc(dataset)} ({esc(variant)}): {esc(AXIS_LABELS[x])} "
        f"versus {esc(AXIS_LABELS[y])}{esc(for_class)}. Scroll or drag to zoom; click a point to "
        f"open that model's result.{esc(more)}</p>"
    )
    return ScatterView(
        info=info, figure=fig, headers=["model", AXIS_LABELS[x], AXIS_LABELS[y]], rows=rows
    )


# -- leaderboard ----------------------------------------------------------------------------


@dataclass
class LeaderboardView:
    info: str
    headers: list[str] = field(default_factory=list)
    rows: list[list[Any]] = field(default_factory=list)


def _cached(data: Snapshot, kind: str, dataset: str, compute: Callable[[], Any]) -> Any:
    """Per-dataset aggregates over every class row, computed once per version of the data."""
    return data.memo((kind, dataset), compute)


def _normalise(
    values: dict[str, float], *, log: bool = False, lower_is_better: bool = False
) -> dict[str, float]:
    if not values:
        return {}
    vals = {k: math.log10(v) if log else v for k, v in values.items() if not log or v > 0}
    lo, hi = min(vals.values()), max(vals.values())
    out = {k: 1.0 if hi == lo else (v - lo) / (hi - lo) for k, v in vals.items()}
    return {k: 1 - v for k, v in out.items()} if lower_is_better else out


def leaderboard_weights(p: Params) -> dict[str, float]:
    return {
        d: max(0.0, min(10.0, _float(p.get(f"w_{d}", ""), DEFAULT_WEIGHTS[d]))) for d in DIMENSIONS
    }


def leaderboard_view(data: Snapshot, p: Params, *, top: int = 100) -> LeaderboardView:
    dataset = p.get("dataset", "").strip()
    if not dataset:
        return LeaderboardView(info=empty("Pick a dataset to rank the models evaluated on it."))
    weights = leaderboard_weights(p)
    points = q.model_points(data, dataset, with_parameters=True)
    if not points:
        return LeaderboardView(info=empty(f"No model has been evaluated on {dataset} yet."))
    balance = _cached(data, "balance", dataset, lambda: q.class_balance(data, dataset))
    drops = _cached(data, "robustness", dataset, lambda: q.robustness(data, dataset))
    raw: dict[str, dict[str, float]] = {d: {} for d in DIMENSIONS}
    for pt in points:
        if (acc := pt.metrics.get("accuracy")) is not None:
            raw["accuracy"][pt.model_id] = acc
        if pt.model_id in drops:
            raw["robustness"][pt.model_id] = -drops[pt.model_id]
        if pt.ece is not None:
            raw["calibration"][pt.model_id] = pt.ece
        b = balance.get((pt.model_id, pt.model_sha))
        if b is not None and b.worst_f1 is not None:
            raw["balance"][pt.model_id] = b.worst_f1
        if pt.instances_per_s:
            raw["speed"][pt.model_id] = pt.instances_per_s
        if pt.num_parameters:
            raw["size"][pt.model_id] = float(pt.num_parameters)
    norm = {
        "accuracy": _normalise(raw["accuracy"]),
        "robustness": _normalise(raw["robustness"]),
        "calibration": _normalise(raw["calibration"], lower_is_better=True),
        "balance": _normalise(raw["balance"]),
        "speed": _normalise(raw["speed"], log=True),
        "size": _normalise(raw["size"], log=True, lower_is_better=True),
    }
    total = sum(weights.values()) or 1.0
    scored = []
    for pt in points:
        score = sum(weights[d] * norm[d].get(pt.model_id, 0.0) for d in DIMENSIONS) / total
        scored.append((score, pt))
    scored.sort(key=lambda t: (-t[0], t[1].model_id))
    rows = []
    for rank, (score, pt) in enumerate(scored[:top], 1):
        b = balance.get((pt.model_id, pt.model_sha))
        rows.append(
            [
                rank,
                md_link(pt.model_id, link("result", model=pt.model_id, dataset=dataset)),
                f"{score:.3f}",
                fmt(pt.metrics.get("accuracy")),
                fmt(drops.get(pt.model_id)),
                fmt(pt.ece),
                fmt(b.worst_f1 if b else None),
                fmt(b.spread if b else None),
                fmt(pt.instances_per_s, 1),
                f"{pt.num_parameters:,}" if pt.num_parameters else "n/a",
            ]
        )
    weights_text = ", ".join(f"{d} {w:g}" for d, w in weights.items())
    info = (
        f"<p>{len(points)} models on {esc(dataset)}, ranked by a weighted score ({esc(weights_text)}); "
        "each dimension is scaled to 0–1 over these models: accuracy; robustness = mean relative "
        "accuracy drop over the variants (lower is better); calibration = ECE (lower is better); "
        "class balance = worst-class F1 (spread = best − worst); speed = examples/s and size = "
        f"parameters, both on a log scale. Top {min(top, len(points))} shown.</p>"
    )
    headers = [
        "rank",
        "model",
        "score",
        "accuracy",
        "mean drop",
        "ECE",
        "worst-class F1",
        "F1 spread",
        "examples/s",
        "parameters",
    ]
    return LeaderboardView(info=info, headers=headers, rows=rows)


# -- the query form -------------------------------------------------------------------------


@dataclass
class FindView:
    info: str
    headers: list[str] = field(default_factory=list)
    rows: list[list[Any]] = field(default_factory=list)


def find_view(data: Snapshot, p: Params, *, top: int = 50) -> FindView:
    dataset, label = p.get("dataset", "").strip(), p.get("class", "").strip()
    if not dataset or not label:
        return FindView(
            info=empty(
                "Pick a dataset and a class, e.g. the class bear under the greyscale variant."
            )
        )
    variant = p.get("variant", "") or q.ORIGINAL
    metric = _choice(p.get("metric"), q.CLASS_METRICS, "recall")
    min_speed = max(0.0, _float(p.get("min_throughput", "0"), 0.0))
    points = q.model_points(data, dataset, variant=variant, class_label=label)
    if not points:
        return FindView(
            info=empty(f"No model has a result for class {label} on {dataset} ({variant}).")
        )
    fast = [pt for pt in points if (pt.instances_per_s or 0.0) >= min_speed]
    if not fast:
        return FindView(
            info=empty(
                f"None of the {len(points)} models evaluated there reaches {min_speed:g} examples per second."
            )
        )
    fast.sort(
        key=lambda pt: (
            pt.class_metrics.get(metric) is None,
            -(pt.class_metrics.get(metric) or 0.0),
            pt.model_id,
        )
    )
    rows = [
        [
            rank,
            md_link(
                pt.model_id, link("result", model=pt.model_id, dataset=dataset, variant=variant)
            ),
            fmt(pt.class_metrics.get(metric)),
            fmt(pt.class_metrics.get("precision")),
            fmt(pt.class_metrics.get("recall")),
            fmt(pt.instances_per_s, 1),
            fmt(pt.metrics.get("accuracy")),
        ]
        for rank, pt in enumerate(fast[:top], 1)
    ]
    info = (
        f"<p>{len(fast)} of {len(points)} models reach {min_speed:g} examples/s on {esc(dataset)} "
        f"({esc(variant)}); ranked by {esc(metric)} of class {esc(label)}.</p>"
    )
    headers = [
        "rank",
        "model",
        f"{metric} ({label})",
        "precision",
        "recall",
        "examples/s",
        "accuracy",
    ]
    return FindView(info=info, headers=headers, rows=rows)


# -- audit ----------------------------------------------------------------------------------


def audit_view(data: Snapshot, p: Params) -> str:
    au = q.audit(data)
    parts = ["<h2>Claims audit</h2>"]
    if not au.discrepancies:
        parts.append(empty("No self-reported value differs from what evalbot measured."))
    else:
        parts.append(
            f"<p>{len(au.discrepancies)} self-reported values differ from evalbot's measurement.</p>"
        )
        parts.append(
            table(
                ["model", "dataset", "split", "metric", "claimed", "measured [95% CI]", "verdict"],
                [
                    [a(link("model", model=c.model_id), c.model_id), *_claim_row(c)]
                    for c in au.discrepancies
                ],
                elem_id="audit-discrepancies",
            )
        )
    parts.append("<h2>Signing key</h2>")
    if au.identity is None:
        parts.append(empty("The bot has not published its signing key yet."))
    else:
        parts.append(
            f'<p>Key id <code id="key-id">{esc(au.identity.key_id)}</code>. Check the '
            "<code>verifyToken</code> of evalbot's results with "
            "<code>evalbot verify ORG/MODEL --public-key key.pem</code>.</p>"
            f'<pre id="public-key">{esc(au.identity.public_key_pem)}</pre>'
        )
    return "\n".join(parts)


VIEWS: dict[str, Callable[[Snapshot, Params], Any]] = {
    "models": models_view,
    "model": model_view,
    "result": result_view,
    "variants": variants_view,
    "compare": compare_view,
    "dataset": dataset_view,
    "scatter": scatter_view,
    "leaderboard": leaderboard_view,
    "find": find_view,
    "audit": audit_view,
}


def timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    start = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - start
