"""The Variants page (``?view=variants&model=ORG/NAME&dataset=ID&metric=&mode=&filter=``): one
per-unit metric of a model's result under every variant of the dataset, absolute or relative to
the original."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import gradio as gr
import plotly.graph_objects as go

from space import detection as det
from space import queries as q
from space import tasks
from space.data import Snapshot
from space.page import Params, empty, esc, fmt, metric_choices, metric_picker, text_param
from space.pages.base import Page, PageParts, Site, frame, link_md, url_params


@dataclass
class VariantsView:
    info: str
    figure: go.Figure | None = None
    headers: list[str] = field(default_factory=list)
    rows: list[list[Any]] = field(default_factory=list)
    robustness: str = ""  # an object detector's AP under each variant (``detection-robustness``)


def variants_view(data: Snapshot, p: Params) -> VariantsView:
    """``?view=variants&model=&dataset=``: a per-unit metric under every variant; for an object
    detector, also its AP, AP50 and AR100 under each variant and their change in points."""
    model, dataset = p.get("model", "").strip(), p.get("dataset", "").strip()
    if not model or not dataset:
        return VariantsView(info=empty("Pick a model and a dataset to compare its variants."))
    view = _per_unit(data, p, model, dataset)
    if q.dataset_task(data, dataset).name == det.SPEC.name:
        view.robustness = "<h3>AP under each variant</h3>" + det.detection_robustness(
            data, model, dataset
        )
    return view


def _per_unit(data: Snapshot, p: Params, model: str, dataset: str) -> VariantsView:
    """A per-unit metric of the model's result under every variant of the dataset."""
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


def r_variants(data: Snapshot, p: dict[str, str]) -> list[Any]:
    view = variants_view(data, p)
    choices, metric = metric_picker(data, p.get("dataset", ""), p.get("metric"))
    return [
        view.info,
        view.robustness,
        view.figure,
        frame(view.headers, view.rows),
        gr.update(choices=choices, value=metric),
        link_md("variants", **url_params(p)),
    ]


def layout(site: Site) -> PageParts:
    with gr.Row():
        v_model = gr.Textbox(label="Model", elem_id="variants-model")
        v_dataset = gr.Textbox(label="Dataset", elem_id="variants-dataset")
        v_metric = gr.Radio(
            metric_choices(tasks.FALLBACK),
            value=tasks.default_class_key(tasks.FALLBACK),
            label="Metric",
            elem_id="variants-metric",
        )
        v_mode = gr.Radio(
            ["absolute", "relative"], value="absolute", label="Values", elem_id="variants-mode"
        )
        v_filter = gr.Textbox(label="Class contains", elem_id="variants-filter")
        v_show = gr.Button("Show", elem_id="variants-show")
    v_info = gr.HTML(elem_id="variants-info")
    v_robustness = gr.HTML(elem_id="variants-detection")
    v_plot = gr.Plot(elem_id="variants-plot", show_label=False)
    v_table = gr.Dataframe(interactive=False, elem_id="variants-table")
    v_link = gr.Markdown(elem_id="variants-link")
    return PageParts(
        inputs=[v_model, v_dataset, v_metric, v_mode, v_filter],
        keys=["model", "dataset", "metric", "mode", "filter"],
        outputs=[v_info, v_robustness, v_plot, v_table, v_metric, v_link],
        callback=r_variants,
        renders=[v_show.click, v_metric.input, v_mode.input, v_filter.submit],
    )


PAGE = Page("variants", "Variants", layout, variants_view)
