"""The Scatterplot page (``?view=scatter&dataset=ID&x=&y=&class=&variant=``): the models
evaluated on one dataset, any two of its task's metrics, a per-unit metric, runtime and size
against each other; a click on a point opens that model's result."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlencode

import gradio as gr
import numpy as np
import plotly.graph_objects as go

from space import queries as q
from space import tasks
from space.data import Snapshot
from space.page import Params, choice, dataset_spec, empty, esc, has_ece, md_link
from space.pages.base import (
    Page,
    PageParts,
    Site,
    classes_and_variants,
    dropdown,
    frame,
    link_md,
    on_current,
    url_params,
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


def r_scatter(data: Snapshot, p: dict[str, str]) -> list[Any]:
    view = scatter_view(data, p)
    axes, x, y = axis_picker(data, p.get("dataset", ""), p.get("x"), p.get("y"))
    return [
        view.info,
        view.figure,
        frame(view.headers, view.rows),
        gr.update(choices=axes, value=x),
        gr.update(choices=axes, value=y),
        link_md("scatter", **url_params(p)),
    ]


def scatter_dataset(data: Snapshot, dataset: str, x: str, y: str) -> tuple[Any, ...]:
    """A new dataset in the scatterplot: its units, variants and its task's axes."""
    choices, x, y = axis_picker(data, dataset or "", x, y)
    return (
        *classes_and_variants(data, dataset),
        gr.update(choices=choices, value=x),
        gr.update(choices=choices, value=y),
    )


def layout(site: Site) -> PageParts:
    with gr.Row():
        s_dataset = dropdown("Dataset", "scatter-dataset", value="")
        s_x = dropdown(
            "x axis",
            "scatter-x",
            choices=axis_choices(tasks.FALLBACK),
            value=tasks.FALLBACK.headline.key,
        )
        s_y = dropdown(
            "y axis", "scatter-y", choices=axis_choices(tasks.FALLBACK), value="instances_per_s"
        )
        s_class = dropdown("Class (for per-class axes)", "scatter-class", value="")
        s_variant = dropdown("Variant", "scatter-variant", value="original")
        s_show = gr.Button("Plot", elem_id="scatter-show")
    s_info = gr.HTML(elem_id="scatter-info")
    s_plot = gr.Plot(elem_id="scatter-plot", show_label=False)
    s_table = gr.Dataframe(interactive=False, elem_id="scatter-table", max_height=400)
    s_link = gr.Markdown(elem_id="scatter-link")
    s_dataset.input(
        on_current(site, scatter_dataset),
        inputs=[s_dataset, s_x, s_y],
        outputs=[s_class, s_variant, s_x, s_y],
    )
    return PageParts(
        inputs=[s_dataset, s_x, s_y, s_class, s_variant],
        keys=["dataset", "x", "y", "class", "variant"],
        outputs=[s_info, s_plot, s_table, s_x, s_y, s_link],
        callback=r_scatter,
        renders=[s_show.click, s_x.input, s_y.input, s_class.input, s_variant.input],
        dataset_picker=s_dataset,
        class_picker=s_class,
        variant_picker=s_variant,
    )


PAGE = Page("scatter", "Scatterplot", layout, scatter_view)
