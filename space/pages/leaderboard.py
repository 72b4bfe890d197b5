"""The Leaderboard page (``?view=leaderboard&dataset=ID&training=&w_<dimension>=``): the models
evaluated on one dataset ranked by a reweightable score over accuracy (the task's headline
metric), robustness, calibration, class balance, speed and size."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import gradio as gr

from space import queries as q
from space import tasks
from space.data import Snapshot
from space.page import Params, empty, esc, float_param, fmt, has_ece, link, md_link
from space.pages.base import Page, PageParts, Site, dropdown, frame, link_md, url_params
from store.significance import separable_groups

#: the headline metrics the leaderboard groups by, and the paired test each one is tested with
GROUPED_METRICS = {"accuracy": "McNemar's exact test", "macro_f1": "a paired bootstrap"}
ALPHA = 0.05

DIMENSIONS = ("accuracy", "robustness", "calibration", "balance", "speed", "size")
DEFAULT_WEIGHTS = {
    "accuracy": 3.0,
    "robustness": 1.0,
    "calibration": 1.0,
    "balance": 1.0,
    "speed": 1.0,
    "size": 0.5,
}


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
        d: max(0.0, min(10.0, float_param(p.get(f"w_{d}", ""), DEFAULT_WEIGHTS[d])))
        for d in DIMENSIONS
    }


def leaderboard_view(data: Snapshot, p: Params, *, top: int = 100) -> LeaderboardView:
    dataset = p.get("dataset", "").strip()
    if not dataset:
        return LeaderboardView(info=empty("Pick a dataset to rank the models evaluated on it."))
    weights = leaderboard_weights(p)
    training = p.get("training", "").strip()
    points = q.model_points(data, dataset, with_parameters=True, training=training)
    if not points:
        if training in TRAINING_FILTERS:
            return LeaderboardView(
                info=empty(
                    f"No model {TRAINING_FILTERS[training]} has been evaluated on {dataset}."
                )
            )
        return LeaderboardView(info=empty(f"No model has been evaluated on {dataset} yet."))
    spec = q.dataset_task(data, dataset)
    headline, ece = spec.headline, has_ece(spec)
    balanced = tasks.class_metric(spec, tasks.balance_key(spec))
    balance = _cached(data, "balance", dataset, lambda: q.class_balance(data, dataset))
    drops = _cached(data, "robustness", dataset, lambda: q.robustness(data, dataset))
    raw: dict[str, dict[str, float]] = {d: {} for d in DIMENSIONS}
    for pt in points:  # the "accuracy" dimension is the task's headline metric
        if (acc := pt.metrics.get(headline.key)) is not None:
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
        "accuracy": _normalise(raw["accuracy"], lower_is_better=not headline.higher_is_better),
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
    groups = ranked_groups(data, dataset, [pt.model_id for _, pt in scored[:top]], headline.key)
    grouped = spec.name in q.PAIRED_TASKS and any(groups.values())
    rows = []
    for rank, (score, pt) in enumerate(scored[:top], 1):
        b = balance.get((pt.model_id, pt.model_sha))
        rows.append(
            [
                rank,
                *([groups.get(pt.model_id) or "n/a"] if grouped else []),
                md_link(pt.model_id, link("result", model=pt.model_id, dataset=dataset)),
                f"{score:.3f}",
                fmt(pt.metrics.get(headline.key)),
                fmt(drops.get(pt.model_id)),
                *([fmt(pt.ece)] if ece else []),
                fmt(b.worst_f1 if b else None),
                fmt(b.spread if b else None),
                fmt(pt.instances_per_s, 1),
                f"{pt.num_parameters:,}" if pt.num_parameters else "n/a",
                training_text(pt),
            ]
        )
    weights_text = ", ".join(f"{d} {w:g}" for d, w in weights.items())
    first = "accuracy" if headline.key == "accuracy" else f"accuracy = {headline.label}"
    worst = f"worst-{spec.unit} {balanced.short}"
    info = (
        f"<p>{len(points)} models on {esc(dataset)}, ranked by a weighted score ({esc(weights_text)}); "
        f"each dimension is scaled to 0–1 over these models: {esc(first)}; robustness = mean "
        f"relative {esc(headline.label)} drop over the variants (lower is better); "
        + ("calibration = ECE (lower is better); " if ece else "")
        + f"{esc(spec.unit)} balance = {esc(worst)} (spread = best − worst); speed = examples/s "
        f"and size = parameters, both on a log scale. Top {min(top, len(points))} shown.</p>"
    )
    if grouped:
        info += (
            f'<p id="leaderboard-groups-note">Group: models in one group are not separable from '
            f"the one above them at p &lt; {ALPHA:g} on this data ({esc(headline.label)}, "
            f"{esc(GROUPED_METRICS[headline.key])} on the examples both were evaluated on, "
            "neighbours in this order only); a new group starts where the step is significant. "
            "n/a: no per-example outcomes to test.</p>"
        )
    headers = [
        "rank",
        *(["group"] if grouped else []),
        "model",
        "score",
        headline.short,
        "mean drop",
        *(["ECE"] if ece else []),
        worst,
        f"{balanced.short} spread",
        "examples/s",
        "parameters",
        "training data",
    ]
    shown = TRAINING_FILTERS.get(training)
    if shown:
        info += f"<p>Only the models {esc(shown)}.</p>"
    return LeaderboardView(info=info, headers=headers, rows=rows)


def ranked_groups(data: Snapshot, dataset: str, ordered: list[str], metric: str) -> dict[str, int]:
    """Group numbers (1, 1, 2, ...) down the ranking ``ordered``: a model joins the group of the
    model above it (the nearest with per-example outcomes) unless the paired test of ``metric``
    separates them at p < :data:`ALPHA` (``store.significance.separable_groups``). Only
    neighbours are tested, each pair once per snapshot. Empty for a metric without a paired
    test or a task without outcomes; models without outcomes get no group."""
    spec = q.dataset_task(data, dataset)
    if metric not in GROUPED_METRICS or spec.name not in q.PAIRED_TASKS or not ordered:
        return {}

    def compute() -> dict[str, int]:
        results = q.latest_results(data, dataset, ordered)
        tested = q.with_outcomes(data, dataset, list(results.values()))
        chain = [
            results[m] for m in ordered if m in results and results[m].summary.result_id in tested
        ]

        def p_value(above: q.ComparedModel, below: q.ComparedModel) -> float:
            p = q.paired_p(data, above, below, dataset, metric)
            return 0.0 if p is None else p  # untestable (other examples): a step, not a tie

        numbers = separable_groups(chain, p_value, alpha=ALPHA)
        return {m.model_id: n for m, n in zip(chain, numbers, strict=True)}

    found: dict[str, int] = data.memo(
        ("leaderboard-groups", dataset, tuple(ordered), metric), compute
    )
    return found


# The leaderboard's training-data filter: value -> which models it keeps.
TRAINING_FILTERS = {
    "declared": "whose card names this dataset as training data",
    "inferred": "whose training data evalbot inferred (their card names no dataset)",
}


def training_text(pt: q.ModelPoint) -> str:
    """The leaderboard's "training data" cell: ``declared``, or ``inferred (rule): evidence``."""
    if pt.training_data == "declared":
        return "declared"
    evidence = f": {pt.training_evidence}" if pt.training_evidence else ""
    return f"inferred ({pt.training_data}){evidence}"


def r_leaderboard(data: Snapshot, p: dict[str, str]) -> list[Any]:
    view = leaderboard_view(data, p)
    return [view.info, frame(view.headers, view.rows), link_md("leaderboard", **url_params(p))]


def layout(site: Site) -> PageParts:
    with gr.Row():
        l_dataset = dropdown("Dataset", "leaderboard-dataset", value="")
        l_training = gr.Radio(
            [
                ("all models", ""),
                ("declared training data", "declared"),
                ("inferred training data", "inferred"),
            ],
            value="",
            label="Training data",
            elem_id="leaderboard-training",
        )
        l_show = gr.Button("Rank", elem_id="leaderboard-show")
    with gr.Row():
        l_weights = [
            gr.Slider(
                0,
                10,
                value=DEFAULT_WEIGHTS[d],
                step=0.5,
                label=f"weight: {d}",
                elem_id=f"leaderboard-w-{d}",
            )
            for d in DIMENSIONS
        ]
    l_info = gr.HTML(elem_id="leaderboard-info")
    l_table = gr.Dataframe(interactive=False, elem_id="leaderboard-table")
    l_link = gr.Markdown(elem_id="leaderboard-link")
    return PageParts(
        inputs=[l_dataset, l_training, *l_weights],
        keys=["dataset", "training", *[f"w_{d}" for d in DIMENSIONS]],
        outputs=[l_info, l_table, l_link],
        callback=r_leaderboard,
        renders=[l_show.click, *[slider.release for slider in l_weights]],
        dataset_picker=l_dataset,
    )


PAGE = Page("leaderboard", "Leaderboard", layout, leaderboard_view)
