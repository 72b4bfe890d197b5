"""The Find a model page (``?view=find&dataset=ID&class=&variant=&metric=&min_throughput=``):
which model has the best per-class metric on one class under a variant, fast enough?"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import gradio as gr

from space import queries as q
from space import tasks
from space.data import Snapshot
from space.page import (
    Params,
    choice,
    empty,
    esc,
    float_param,
    fmt,
    link,
    md_link,
    metric_choices,
    metric_picker,
)
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


def r_find(data: Snapshot, p: dict[str, str]) -> list[Any]:
    view = find_view(data, p)
    choices, metric = metric_picker(data, p.get("dataset", ""), p.get("metric"), preferred="recall")
    return [
        view.info,
        frame(view.headers, view.rows),
        gr.update(choices=choices, value=metric),
        link_md("find", **url_params(p)),
    ]


def find_dataset(data: Snapshot, dataset: str, metric: str) -> tuple[Any, ...]:
    """A new dataset in the query form: its units, variants and its task's metrics."""
    choices, metric = metric_picker(data, dataset or "", metric, preferred="recall")
    return (*classes_and_variants(data, dataset), gr.update(choices=choices, value=metric))


def layout(site: Site) -> PageParts:
    gr.Markdown(
        "Which model has the best recall on class *bear* under the *greyscale* "
        "variant, fast enough for 10,000 pictures within an hour (≥ 2.8 examples/s)?"
    )
    with gr.Row():
        f_dataset = dropdown("Dataset", "find-dataset", value="")
        f_class = dropdown("Class", "find-class", value="")
        f_variant = dropdown("Variant", "find-variant", value="original")
        f_metric = gr.Radio(
            metric_choices(tasks.FALLBACK),
            value=tasks.default_class_key(tasks.FALLBACK, "recall"),
            label="Metric",
            elem_id="find-metric",
        )
        f_min = gr.Number(value=0, label="Minimum examples per second", elem_id="find-min")
        f_show = gr.Button("Find", elem_id="find-show", variant="primary")
    f_info = gr.HTML(elem_id="find-info")
    f_table = gr.Dataframe(interactive=False, elem_id="find-table")
    f_link = gr.Markdown(elem_id="find-link")
    f_dataset.input(
        on_current(site, find_dataset),
        inputs=[f_dataset, f_metric],
        outputs=[f_class, f_variant, f_metric],
    )
    return PageParts(
        inputs=[f_dataset, f_class, f_variant, f_metric, f_min],
        keys=["dataset", "class", "variant", "metric", "min_throughput"],
        outputs=[f_info, f_table, f_metric, f_link],
        callback=r_find,
        renders=[f_show.click],
        dataset_picker=f_dataset,
        class_picker=f_class,
        variant_picker=f_variant,
    )


PAGE = Page("find", "Find a model", layout, find_view)
