"""The pages that rank the models evaluated on one dataset: the Scatterplot, the Leaderboard
and Find a model. Their metrics are those of the dataset's task (``space.tasks``)."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlencode

import numpy as np
import plotly.graph_objects as go

from space import queries as q
from space import tasks
from space.data import Snapshot
from space.page import (
    Params,
    choice,
    dataset_spec,
    empty,
    esc,
    float_param,
    fmt,
    has_ece,
    link,
    md_link,
)
from store.catalogue import TaskSpec

#: scatter axes besides the task's metrics, with their labels
OTHER_AXIS_LABELS = {
    "instances_per_s": "examples per second",
    "per_instance_ms": "ms per example",
    "total_s": "runtime (s)",
    "num_parameters": "parameters",
    "size_mb": "weights (MB)",
    "ece": "expected calibration error",
}
DIMENSIONS = ("accuracy", "robustness", "calibration", "balance", "speed", "size")
DEFAULT_WEIGHTS = {
    "accuracy": 3.0,
    "robustness": 1.0,
    "calibration": 1.0,
    "balance": 1.0,
    "speed": 1.0,
    "size": 0.5,
}


# -- scatterplot ----------------------------------------------------------------------------


def axis_labels(spec: TaskSpec) -> dict[str, str]:
    """The scatter axes of a task's datasets, with their labels: its result metrics, its
    per-unit metrics (``class:<key>``), runtime and size (and ECE where the task keeps
    confidences)."""
    return {
        **{k: spec.metric(k).label for k in tasks.result_keys(spec)},
        **{f"class:{m.key}": f"{spec.unit} {m.label}" for m in spec.class_metrics()},
        **{k: label for k, label in OTHER_AXIS_LABELS.items() if k != "ece" or has_ece(spec)},
    }


def axis_choices(spec: TaskSpec) -> list[tuple[str, str]]:
    """The scatter axes of a task as a picker's ``(label, axis)`` choices."""
    return [(label, axis) for axis, label in axis_labels(spec).items()]


def axis_picker(
    data: Snapshot, dataset: str, x: object, y: object
) -> tuple[list[tuple[str, str]], str, str]:
    """The scatter axes of a dataset's task, and the ``x`` and ``y`` shown (the task's
    headline metric and examples per second where ``x``/``y`` are not among them)."""
    spec = dataset_spec(data, dataset)
    names = tuple(axis_labels(spec))
    return (
        axis_choices(spec),
        choice(x, names, spec.headline.key),
        choice(y, names, "instances_per_s"),
    )


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
    spec = q.dataset_task(data, dataset)
    names = axis_labels(spec)
    x = choice(p.get("x"), tuple(names), spec.headline.key)
    y = choice(p.get("y"), tuple(names), "instances_per_s")
    label = p.get("class", "").strip()
    if (x.startswith("class:") or y.startswith("class:")) and not label:
        return ScatterView(info=empty(f"Pick a {spec.unit} for the per-{spec.unit} axis."))
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
                f"No model evaluated on {dataset} ({variant}) has both {names[x]} and {names[y]}."
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
            + names[x]
            + " %{x:.4g}<br>"
            + names[y]
            + " %{y:.4g}<extra></extra>",
        )
    )
    for_class = (
        f", for {spec.unit} {label}"
        if label and (x.startswith("class:") or y.startswith("class:"))
        else ""
    )
    fig.update_layout(
        height=440,
        margin={"l": 50, "r": 10, "t": 40, "b": 50},
        title=f"{names[x]} vs {names[y]}{for_class}",
        xaxis={"title": names[x]},
        yaxis={"title": names[y]},
        hovermode="closest",
        dragmode="zoom",
    )
    order = sorted(range(len(pairs)), key=lambda i: -pairs[i][1])[:table_rows]
    rows = [
        [md_link(pairs[i][0].model_id, urls[i]), f"{pairs[i][1]:.4g}", f"{pairs[i][2]:.4g}"]
        for i in order
    ]
    more = (
        f" The table shows the first {table_rows} by {names[x]}." if len(pairs) > table_rows else ""
    )
    info = (
        f"<p>Plotting {len(pairs)} models on {esc(dataset)} ({esc(variant)}): {esc(names[x])} "
        f"versus {esc(names[y])}{esc(for_class)}. Scroll or drag to zoom; click a point to "
        f"open that model's result.{esc(more)}</p>"
    )
    return ScatterView(info=info, figure=fig, headers=["model", names[x], names[y]], rows=rows)


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
    rows = []
    for rank, (score, pt) in enumerate(scored[:top], 1):
        b = balance.get((pt.model_id, pt.model_sha))
        rows.append(
            [
                rank,
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
    headers = [
        "rank",
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
    spec = q.dataset_task(data, dataset)
    metric = choice(p.get("metric"), spec.class_columns, tasks.default_class_key(spec, "recall"))
    chosen = tasks.class_metric(spec, metric)
    min_speed = max(0.0, float_param(p.get("min_throughput", "0"), 0.0))
    points = q.model_points(data, dataset, variant=variant, class_label=label)
    if not points:
        return FindView(
            info=empty(f"No model has a result for {spec.unit} {label} on {dataset} ({variant}).")
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
            *(fmt(pt.class_metrics.get(m.key)) for m in spec.class_metrics()),
            fmt(pt.instances_per_s, 1),
            fmt(pt.metrics.get(spec.headline.key)),
        ]
        for rank, pt in enumerate(fast[:top], 1)
    ]
    info = (
        f"<p>{len(fast)} of {len(points)} models reach {min_speed:g} examples/s on {esc(dataset)} "
        f"({esc(variant)}); ranked by {esc(chosen.short)} of {esc(spec.unit)} {esc(label)}.</p>"
    )
    per_unit = [m.short for m in spec.class_metrics()]
    overall = spec.headline.short  # named apart from a per-unit metric of the same name
    headers = [
        "rank",
        "model",
        f"{chosen.short} ({label})",
        *per_unit,
        "examples/s",
        f"{overall} (overall)" if overall in per_unit else overall,
    ]
    return FindView(info=info, headers=headers, rows=rows)
