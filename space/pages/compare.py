"""The Compare page (``?view=compare&dataset=ID&models=A,B&metric=&variant=``): two or more
models on one dataset, their speed and a per-unit metric side by side, and whether their
differences are real."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import gradio as gr
import plotly.graph_objects as go

from space import queries as q
from space import tasks
from space.data import Snapshot
from space.page import (
    Params,
    a,
    ci,
    empty,
    esc,
    fmt,
    link,
    metric_choices,
    metric_picker,
    table,
    text_param,
)
from space.pages.base import Page, PageParts, Site, dropdown, frame, link_md, on_current, url_params
from space.pages.result import group_value, is_detection, weakest_sentence
from store.class_groups import GroupResult, group_results


@dataclass
class CompareView:
    info: str
    speed: str = ""
    figure: go.Figure | None = None
    headers: list[str] = field(default_factory=list)
    rows: list[list[Any]] = field(default_factory=list)
    choices: list[str] = field(default_factory=list)
    groups: str = ""  # the dataset's class groups, one column per model (empty without groups)


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
        info=info,
        speed=speed + significance(data, cmp),
        figure=fig,
        headers=headers,
        rows=rows,
        choices=choices,
        groups=compare_groups(data, cmp),
    )


def compare_groups(data: Snapshot, cmp: q.ModelComparison) -> str:
    """Each class group of the dataset (``compare-groups-table``): its macro F1 (detection:
    mean per-class AP) under each model, weakest first (by the mean over the models), then
    each model's weakest group in the model card's words; empty without groups."""
    groups = q.class_groups(data, cmp.dataset_id)
    if not groups:
        return ""
    detection = is_detection(cmp.spec)
    per_model: dict[str, tuple[GroupResult, ...]] = {
        m.model_id: group_results(q.result_classes(data, m.summary.result_id), groups)
        for m in cmp.models
    }
    names = list(groups)

    def mean(name: str) -> float | None:
        values = [
            v
            for found in per_model.values()
            for g in found
            if g.name == name and (v := group_value(g, detection)) is not None
        ]
        return sum(values) / len(values) if values else None

    order = sorted(names, key=lambda n: (mean(n) is None, mean(n) or 0.0, n))
    metric = "mean AP" if detection else "macro F1"
    by_name = [{g.name: g for g in found} for found in per_model.values()]
    rows = [
        [
            esc(name),
            esc(", ".join(by_name[0][name].classes)),
            *(fmt(group_value(groups_of[name], detection)) for groups_of in by_name),
        ]
        for name in order
    ]
    key = "ap" if detection else "macro_f1"
    sentences = [
        f"{m.model_id}: {sentence}"
        for m in cmp.models
        if (
            sentence := weakest_sentence(
                per_model[m.model_id], m.summary.metrics.get(key), detection
            )
        )
    ]
    return (
        f"<h4>Class groups: {esc(metric)} per group</h4>"
        + "".join(f'<p class="compare-groups-weakest">{esc(line)}</p>' for line in sentences)
        + table(
            ["group", "classes", *(m.model_id for m in cmp.models)],
            rows,
            elem_id="compare-groups-table",
        )
        + f"<p>Weakest group first (by the mean {esc(metric)} over these models).</p>"
    )


def significance(data: Snapshot, cmp: q.ModelComparison) -> str:
    """Each compared model against the first: is the difference real on these examples?
    McNemar's exact test for accuracy, the paired bootstrap for macro F1 (classification
    results, which keep per-example outcomes); nothing for other tasks."""
    if cmp.task not in q.PAIRED_TASKS or len(cmp.models) < 2:
        return ""
    first = cmp.models[0]
    rows = []
    for other, test in zip(
        cmp.models[1:], q.paired_tests(data, first, cmp.models[1:], cmp.dataset_id), strict=True
    ):
        if test.problem:
            rows.append([esc(other.model_id), "", "", "", esc(test.problem)])
            continue
        acc, f1 = test.accuracy, test.macro_f1
        f1_cell = f"{f1.observed:+.4f} [{f1.low:+.4f}, {f1.high:+.4f}]" if f1 is not None else "n/a"
        rows.append(
            [
                esc(other.model_id),
                fmt(test.n, 0),
                f"{acc.only_a} / {acc.only_b}" if acc is not None else "n/a",
                f1_cell,
                "<br>".join(esc(line) for line in test.verdicts()),
            ]
        )
    return (
        f"<h4>Is the difference real? Each model against {esc(first.model_id)}</h4>"
        "<p>On the same examples: McNemar's exact test of accuracy (the examples only one of "
        "the two got right decide it) and a paired bootstrap (1,000 resamples) of macro F1; "
        "a difference counts as real at p &lt; 0.05.</p>"
        + table(
            [
                "model",
                "examples",
                f"only {first.model_id.split('/')[-1]} right / only this one right",
                "macro F1 difference [95% CI]",
                "verdict",
            ],
            rows,
            elem_id="compare-significance",
        )
    )


def r_compare(data: Snapshot, p: dict[str, str]) -> list[Any]:
    view = compare_view(data, p)
    choices, metric = metric_picker(data, p.get("dataset", ""), p.get("metric"))
    return [
        view.info,
        view.speed,
        view.figure,
        frame(view.headers, view.rows),
        view.groups,
        gr.update(choices=view.choices),
        gr.update(choices=choices, value=metric),
        link_md("compare", **url_params(p)),
    ]


def evaluated_on(data: Snapshot, dataset: str, variant: str) -> Any:
    """The models picker's choices for a newly picked dataset: the models evaluated on it."""
    return gr.update(
        choices=q.models_evaluated_on(data, dataset or "", variant=variant or q.ORIGINAL)
    )


def layout(site: Site) -> PageParts:
    with gr.Row():
        c_dataset = dropdown("Dataset", "compare-dataset", value="")
        c_models = dropdown("Models (two or more)", "compare-models", multiselect=True)
        c_metric = gr.Radio(
            metric_choices(tasks.FALLBACK),
            value=tasks.default_class_key(tasks.FALLBACK),
            label="Metric",
            elem_id="compare-metric",
        )
        c_variant = gr.Textbox(label="Variant", value="original", elem_id="compare-variant")
        c_show = gr.Button("Compare", elem_id="compare-show")
    c_info = gr.HTML(elem_id="compare-info")
    c_speed = gr.HTML(elem_id="compare-speed-html")
    c_plot = gr.Plot(elem_id="compare-plot", show_label=False)
    c_table = gr.Dataframe(interactive=False, elem_id="compare-table")
    c_groups = gr.HTML(elem_id="compare-groups")
    c_link = gr.Markdown(elem_id="compare-link")
    c_dataset.input(
        on_current(site, evaluated_on), inputs=[c_dataset, c_variant], outputs=[c_models]
    )
    return PageParts(
        inputs=[c_dataset, c_models, c_metric, c_variant],
        keys=["dataset", "models", "metric", "variant"],
        outputs=[c_info, c_speed, c_plot, c_table, c_groups, c_models, c_metric, c_link],
        callback=r_compare,
        renders=[c_show.click],
        dataset_picker=c_dataset,
    )


PAGE = Page("compare", "Compare", layout, compare_view)
