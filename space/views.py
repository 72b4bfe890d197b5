"""The Space's views as plain functions: URL parameters in, what the page shows out.

Each view takes a snapshot of the results dataset (``space.data.Snapshot``, one published
version of its tables) and a dict of query parameters (``?view=result&model=...``) and
returns a dataclass of HTML/markdown strings, table rows and plotly figures. The Gradio
callbacks in ``space.app`` call these and nothing else; ``bench/space.py`` times them. Nothing
here writes, and what the page sends reaches ``space.queries`` only as plain values.

The pages of one model and of one dataset live here; the Result page in
``space.result_page``, the pages ranking a dataset's models (Scatterplot, Leaderboard, Find a
model) in ``space.ranking``, and what every page shares in ``space.page``. This module
composes them (:data:`VIEWS`) and is what the app imports.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import plotly.graph_objects as go

from space import queries as q
from space import tasks
from space.data import Snapshot
from space.page import (
    HUB_URL,
    Params,
    a,
    choice,
    ci,
    ci_header,
    dataset_spec,
    empty,
    esc,
    fmt,
    has_ece,
    int_param,
    link,
    md_link,
    metric_choices,
    metric_picker,
    pr_url,
    table,
    text_param,
    when,
)
from space.ranking import (
    DEFAULT_WEIGHTS,
    DIMENSIONS,
    FindView,
    LeaderboardView,
    ScatterView,
    axis_choices,
    axis_labels,
    axis_picker,
    find_view,
    leaderboard_view,
    leaderboard_weights,
    scatter_view,
)
from space.result_page import (
    ResultView,
    calibration_figure,
    class_chart,
    class_rows,
    confusion_figure,
    errors_view,
    initial_confusion_classes,
    load_result,
    result_view,
    sort_choices,
    unit_columns,
)

__all__ = [
    "DEFAULT_WEIGHTS",
    "DIMENSIONS",
    "HUB_URL",
    "VIEWS",
    "VIEWS_ORDER",
    "CompareView",
    "FindView",
    "LeaderboardView",
    "ModelsView",
    "Params",
    "ResultView",
    "ScatterView",
    "VariantsView",
    "a",
    "audit_view",
    "axis_choices",
    "axis_labels",
    "axis_picker",
    "calibration_figure",
    "class_chart",
    "class_rows",
    "compare_view",
    "confusion_figure",
    "dataset_spec",
    "dataset_view",
    "empty",
    "errors_view",
    "esc",
    "find_view",
    "fmt",
    "initial_confusion_classes",
    "leaderboard_view",
    "leaderboard_weights",
    "link",
    "load_result",
    "md_link",
    "metric_choices",
    "metric_picker",
    "model_view",
    "models_filter",
    "models_view",
    "pr_url",
    "result_view",
    "scatter_view",
    "sort_choices",
    "table",
    "timed",
    "unit_columns",
    "variants_view",
]

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
NOTHING_YET = (
    "evalbot has not published any results yet: they appear here after its first evaluations."
)


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
        metrics=choice(p.get("metrics"), ("yes", "no"), ""),
        failure=p.get("failure", ""),
        pr=choice(p.get("pr"), ("declined",), ""),
        sort=choice(p.get("sort"), tuple(q.MODEL_SORTS), "name"),
        descending=p.get("order") == "desc",
        page=int_param(p.get("page", "1"), 1, 1, 10**6),
        per_page=int_param(p.get("per_page", "25"), 25, 1, q.MAX_PER_PAGE),
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
        by_accuracy = all(r.score_metric == "accuracy" for r in page.rows if r.has_metrics)
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
                    fmt(r.score) if by_accuracy else _score(r),
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
                "accuracy" if by_accuracy else "headline metric",
                "failure reason",
                "PRs",
                "",
            ],
            rows,
            elem_id="models-list",
        )
    info = f"Page {page.page} / {page.pages} · {page.total} models"
    return ModelsView(html=body, info=info, page=page.page, pages=page.pages, facets=facets)


def _score(r: q.ModelRow) -> str:
    """A models list's headline value, named (the list mixes tasks)."""
    if r.score is None:
        return fmt(None)
    return f"{fmt(r.score)} {esc(r.score_label)}"


# -- one model ------------------------------------------------------------------------------


def _size(n: float) -> str:
    for unit in ("B", "kB", "MB", "GB"):
        if n < 1000:
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} TB"


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
        by_task: dict[str, list[q.ResultSummary]] = {}
        for s in detail.results:
            by_task.setdefault(s.spec.name, []).append(s)
        for n, results in enumerate(by_task.values()):
            if len(by_task) > 1:
                parts.append(f"<h4>{esc(results[0].spec.name)}</h4>")
            suffix = f"-{n + 1}" if n else ""
            parts.append(_model_results(m.repo_id, results, elem_id=f"model-results{suffix}"))
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


def _model_results(repo_id: str, results: Sequence[q.ResultSummary], *, elem_id: str) -> str:
    """One task's results of a model: its headline and second metric, ECE where the task keeps
    confidences, runtime and links."""
    spec = results[0].spec
    ece = has_ece(spec)
    rows = []
    for s in results:
        rows.append(
            [
                a(link("dataset", dataset=s.dataset_id), s.dataset_name),
                esc(s.split),
                esc(s.variant),
                ci(s, spec.headline.key),
                ci(s, spec.second.key),
                *([fmt(s.ece)] if ece else []),
                f"{fmt(s.total_s, 2)} s · {fmt(s.instances_per_s, 1)} ex/s",
                a(
                    link(
                        "result",
                        model=repo_id,
                        dataset=s.dataset_id,
                        split=s.split,
                        variant=s.variant,
                    ),
                    "results",
                )
                + " · "
                + a(
                    link("variants", model=repo_id, dataset=s.dataset_id, split=s.split),
                    "variants",
                )
                + " · "
                + a(link("compare", dataset=s.dataset_id, models=repo_id), "compare"),
            ]
        )
    headers = [
        "dataset",
        "split",
        "variant",
        ci_header(spec, spec.headline.key),
        ci_header(spec, spec.second.key),
        *(["ECE"] if ece else []),
        "runtime",
        "",
    ]
    return table(headers, rows, elem_id=elem_id)


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
    relative = p.get("mode") == "relative"
    cmp = q.variant_comparison(
        data, model, dataset, metric=text_param(p.get("metric")), split=p.get("split", "")
    )
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

    spec = cmp.spec
    metric = tasks.class_metric(spec, cmp.metric).short
    shown = [v for v in cmp.variants if not (relative and v == q.ORIGINAL)]
    fig = go.Figure()
    for v in shown:
        fig.add_bar(name=v, x=[cmp.labels[i] for i in ids], y=[value(v, i) for i in ids])
    fig.update_layout(
        barmode="group",
        height=380,
        margin={"l": 40, "r": 10, "t": 30, "b": 80},
        title=f"{metric} per {spec.unit}" + (" relative to the original" if relative else ""),
        yaxis={"title": f"{metric} − original" if relative else metric},
    )
    headers = [spec.unit, *shown]
    rows = [[cmp.labels[i], *[fmt(value(v, i)) for v in shown]] for i in ids]
    rows.append(
        [
            "(whole dataset)",
            *[fmt(overall(v)) for v in shown],
        ]
    )
    info = (
        f"<p>{esc(model)} on {esc(dataset)} ({esc(cmp.split)}): {esc(metric)} per {esc(spec.unit)} for "
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
    if len(models) < 2:
        return CompareView(
            info=empty(
                f"Pick two or more models evaluated on {dataset} to compare them ({len(choices)} available)."
            ),
            choices=choices,
        )
    cmp = q.compare_models(
        data, dataset, models, metric=text_param(p.get("metric")), variant=variant
    )
    spec = cmp.spec
    metric = tasks.class_metric(spec, cmp.metric).short
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
        [
            "model",
            spec.headline.short,
            spec.second.short,
            "examples per second",
            "ms per example",
            "total (s)",
        ],
        [
            [
                a(link("result", model=m.model_id, dataset=dataset, variant=variant), m.model_id),
                ci(m.summary, spec.headline.key),
                ci(m.summary, spec.second.key),
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
        title=f"{metric} per {spec.unit}",
        yaxis={"range": [0, 1.05]},
    )
    headers = [spec.unit, *[m.model_id for m in cmp.models]]
    rows = [
        [label, *[fmt(m.per_class[i]) for m in cmp.models]] for i, label in enumerate(cmp.labels)
    ]
    info = (
        f"<p>{len(cmp.models)} models on {esc(dataset)} ({esc(variant)}), {esc(metric)} per {esc(spec.unit)}.</p>"
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
    spec = d.spec
    units = dict(d.units)
    parts.append("<h3>Splits</h3>")
    if d.splits:
        parts.append(
            table(
                ["split", "revision", "examples", f"largest {tasks.plural(spec)}"],
                [
                    [
                        esc(s.split),
                        f"<code>{esc(s.revision[:8])}</code>",
                        str(s.num_examples),
                        esc(
                            ", ".join(
                                f"{units.get(i, i)}: {n}"
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
    if spec.unit != "class" and d.labels:  # e.g. the IOB2 tags behind the entity types
        parts.append("<p>Labels: " + " ".join(f"<code>{esc(x)}</code>" for x in d.labels) + "</p>")
    parts.append(f"<h3>{esc(tasks.title(tasks.plural(spec)))} ({len(d.units)})</h3>")
    rows = []
    for cid, label in d.units[:100]:
        shown = []
        for e in d.examples.get(cid, []):
            if e.thumbnail_png:
                shown.append(
                    f'<img class="example-thumb" alt="{esc(label)}" src="{_data_uri(e.thumbnail_png)}">'
                )
            elif e.text:
                shown.append(f'<span class="example-text">“{esc(e.text[:160])}”</span>')
        rows.append([str(cid), esc(label), " ".join(shown) or "—"])
    parts.append(table(["id", spec.unit, "examples"], rows, elem_id="dataset-classes"))
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
        f"{when(problem.since)}): {esc(problem.error.rstrip('.'))}.{waiting} "
        "Stored results below stay valid.</p>"
    )


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
