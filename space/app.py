"""The evalbot Space: an explorer of the published results (thesis chapter 6), in Gradio.

Runs on its own (``python -m space``, ``evalbot space``) and as a Hugging Face Space (an
``app.py`` at the Space repo's root calls :func:`main`). It reads the bot's public results
dataset (Parquet tables, ``store.tables``) from a dataset repo on the Hub or a local folder,
through ``space.data``, and checks for a newer version every few minutes; it never reads MongoDB
and never writes.

Every view is a URL (``?view=NAME&param=value``), so links can be shared and put in PRs; the
old form ``?model=org/name`` opens the model. The views themselves live in ``space.views``.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

if __package__ in (None, ""):  # `python space/app.py`: make `space` and `store` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import gradio as gr
import pandas as pd

from space import queries as q
from space import tasks
from space import views as v
from space.data import DirectorySource, HubSource, ResultsData, Snapshot, Source
from space.errors import NoResultsSourceError, SpaceConfigError

log = logging.getLogger("evalbot.space")
#: a view's renderer: the snapshot and the URL params -> the updates of its outputs
Render = Callable[[Snapshot, dict[str, str]], list[Any]]

HUB_URL = os.environ.get("HF_ENDPOINT", "https://huggingface.co").rstrip("/")
TITLE = "evalbot — model evaluation results"

CSS = """
.evalbot-table { border-collapse: collapse; margin: 0.5em 0; font-size: 0.92em; }
.evalbot-table th, .evalbot-table td { border: 1px solid #ddd; padding: 3px 8px; text-align: left; vertical-align: top; }
.evalbot-table th { background: #f4f4f5; }
.evalbot-empty { font-style: italic; color: #555; }
.evalbot-failure { color: #a40000; }
.evalbot-declined { color: #8a5a00; font-weight: 600; }
.claim-differs { color: #a40000; font-weight: 600; }
.claim-agrees { color: #1a7f37; }
.example-thumb { display: inline-block !important; width: 40px; height: 40px; image-rendering: pixelated; margin-right: 2px; }
.example-text { display: inline-block; max-width: 28em; margin-right: 6px; font-size: 0.9em; }
"""

# A click on a point of the scatterplot opens that model's result: plotly's own click event,
# the point's customdata being the result's URL (``?view=result&...``).
JS = """
() => {
  const hook = () => {
    document.querySelectorAll('#scatter-plot .js-plotly-plot').forEach((gd) => {
      if (gd.__evalbotClick || typeof gd.on !== 'function') return;
      gd.__evalbotClick = true;
      gd.on('plotly_click', (ev) => {
        const url = ev && ev.points && ev.points.length ? ev.points[0].customdata : null;
        if (typeof url === 'string' && url.startsWith('?view=')) window.location.search = url;
      });
    });
  };
  setInterval(hook, 500);
}
"""

NAV = " · ".join(
    f"[{label}]({v.link(view)})"
    for view, label in (
        ("models", "Models"),
        ("dataset", "Datasets"),
        ("scatter", "Scatterplot"),
        ("leaderboard", "Leaderboard"),
        ("find", "Find a model"),
        ("audit", "Claims audit"),
    )
)


def _frame(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> Any:
    """A Dataframe update; a column of markdown links (``[model](?view=...)``) renders as links."""
    frame = pd.DataFrame([list(r) for r in rows], columns=list(headers))
    first = list(rows[0]) if rows else []
    kinds: list[Literal["str", "markdown"]] = [
        "markdown"
        if isinstance(cell, str) and cell.startswith("[") and "](?view=" in cell
        else "str"
        for cell in first
    ]
    return gr.Dataframe(value=frame, datatype=kinds or "str")


def _link_md(view: str, **params: object) -> str:
    url = v.link(view, **params)
    return f"Link to this view: [`{url}`]({url})"


def _dd(label: str, elem_id: str, *, multiselect: bool = False, **kw: Any) -> gr.Dropdown:
    return gr.Dropdown(
        label=label,
        elem_id=elem_id,
        allow_custom_value=True,
        multiselect=multiselect,
        choices=kw.pop("choices", []),
        **kw,
    )


def _any(values: Sequence[str]) -> list[tuple[str, str]]:
    return [("Any", ""), *[(x, x) for x in values]]


class App:
    """The Blocks and their wiring. Views are rendered by ``space.views`` from plain params."""

    def __init__(self, results: ResultsData, *, hub_url: str = HUB_URL) -> None:
        self.results = results  # read ``results.current`` once per callback
        self.hub_url = hub_url

    # -- helpers -----------------------------------------------------------------------------

    @staticmethod
    def datasets(data: Snapshot) -> list[tuple[str, str]]:
        return [(f"{d.name} ({d.dataset_id})", d.dataset_id) for d in q.list_datasets(data)]

    def classes_and_variants(self, dataset: str) -> tuple[Any, Any]:
        data = self.results.current
        labels = q.unit_names(data, dataset) if dataset else []
        variants = q.dataset_variants(data, dataset) if dataset else []
        return gr.update(choices=labels), gr.update(choices=variants or [q.ORIGINAL])

    def scatter_dataset(self, dataset: str, x: str, y: str) -> tuple[Any, ...]:
        """A new dataset in the scatterplot: its units, variants and its task's axes."""
        choices, x, y = v.axis_picker(self.results.current, dataset or "", x, y)
        return (
            *self.classes_and_variants(dataset),
            gr.update(choices=choices, value=x),
            gr.update(choices=choices, value=y),
        )

    def find_dataset(self, dataset: str, metric: str) -> tuple[Any, ...]:
        """A new dataset in the query form: its units, variants and its task's metrics."""
        choices, metric = v.metric_picker(
            self.results.current, dataset or "", metric, preferred="recall"
        )
        return (*self.classes_and_variants(dataset), gr.update(choices=choices, value=metric))

    def evaluated_on(self, dataset: str, variant: str) -> Any:
        data = self.results.current
        return gr.update(
            choices=q.models_evaluated_on(data, dataset or "", variant=variant or q.ORIGINAL)
        )

    # -- renderers: params -> component updates, one list per view -------------------------

    def r_models(self, data: Snapshot, p: dict[str, str]) -> list[Any]:
        view = v.models_view(data, p, hub_url=self.hub_url)
        f = view.facets
        return [
            view.info,
            view.html,
            _link_md("models", **{k: val for k, val in p.items() if k != "view"}),
            gr.update(choices=_any(f.origins)),
            gr.update(choices=_any(f.tasks)),
            gr.update(choices=_any(f.trained_on)),
            gr.update(choices=_any(f.evaluated_on)),
            gr.update(choices=_any(f.failures)),
            view.page,
        ]

    def r_model(self, data: Snapshot, p: dict[str, str]) -> list[Any]:
        return [
            v.model_view(data, p, hub_url=self.hub_url),
            _link_md("model", model=p.get("model", "")),
        ]

    def r_result(self, data: Snapshot, p: dict[str, str]) -> list[Any]:
        view = v.result_view(data, p)
        metrics = view.metric_choices or v.metric_choices(tasks.FALLBACK)
        return [
            view.header,
            view.unit_heading,
            gr.update(choices=metrics, value=[key for _, key in metrics]),
            gr.update(label=f"{tasks.title(view.unit)} contains"),
            gr.update(choices=view.sort_choices or v.sort_choices(tasks.FALLBACK), value="id"),
            view.chart,
            _frame(view.columns, view.rows),
            gr.update(visible=view.confusion is not None),
            gr.update(choices=view.classes, value=view.confusion_classes),
            view.confusion,
            gr.update(visible=view.has_errors),
            gr.update(choices=[("All", ""), *[(x, x) for x in view.pairs]], value=""),
            view.gallery,
            view.errors,
            gr.update(visible=view.calibration is not None),
            view.calibration,
            _link_md(
                "result",
                model=p.get("model", ""),
                dataset=p.get("dataset", ""),
                split=p.get("split", ""),
                variant=p.get("variant", ""),
            ),
        ]

    def r_variants(self, data: Snapshot, p: dict[str, str]) -> list[Any]:
        view = v.variants_view(data, p)
        choices, metric = v.metric_picker(data, p.get("dataset", ""), p.get("metric"))
        return [
            view.info,
            view.figure,
            _frame(view.headers, view.rows),
            gr.update(choices=choices, value=metric),
            _link_md("variants", **{k: val for k, val in p.items() if k != "view"}),
        ]

    def r_compare(self, data: Snapshot, p: dict[str, str]) -> list[Any]:
        view = v.compare_view(data, p)
        choices, metric = v.metric_picker(data, p.get("dataset", ""), p.get("metric"))
        return [
            view.info,
            view.speed,
            view.figure,
            _frame(view.headers, view.rows),
            gr.update(choices=view.choices),
            gr.update(choices=choices, value=metric),
            _link_md("compare", **{k: val for k, val in p.items() if k != "view"}),
        ]

    def r_dataset(self, data: Snapshot, p: dict[str, str]) -> list[Any]:
        return [
            v.dataset_view(data, p),
            _link_md("dataset", dataset=p.get("dataset", "")),
        ]

    def r_scatter(self, data: Snapshot, p: dict[str, str]) -> list[Any]:
        view = v.scatter_view(data, p)
        axes, x, y = v.axis_picker(data, p.get("dataset", ""), p.get("x"), p.get("y"))
        return [
            view.info,
            view.figure,
            _frame(view.headers, view.rows),
            gr.update(choices=axes, value=x),
            gr.update(choices=axes, value=y),
            _link_md("scatter", **{k: val for k, val in p.items() if k != "view"}),
        ]

    def r_leaderboard(self, data: Snapshot, p: dict[str, str]) -> list[Any]:
        view = v.leaderboard_view(data, p)
        return [
            view.info,
            _frame(view.headers, view.rows),
            _link_md("leaderboard", **{k: val for k, val in p.items() if k != "view"}),
        ]

    def r_find(self, data: Snapshot, p: dict[str, str]) -> list[Any]:
        view = v.find_view(data, p)
        choices, metric = v.metric_picker(
            data, p.get("dataset", ""), p.get("metric"), preferred="recall"
        )
        return [
            view.info,
            _frame(view.headers, view.rows),
            gr.update(choices=choices, value=metric),
            _link_md("find", **{k: val for k, val in p.items() if k != "view"}),
        ]

    def r_audit(self, data: Snapshot, p: dict[str, str]) -> list[Any]:
        return [v.audit_view(data, p)]

    # -- layout ------------------------------------------------------------------------------

    def build(self) -> gr.Blocks:
        views: dict[
            str,
            tuple[list[Any], Callable[..., dict[str, str]], Callable[..., list[Any]], list[Any]],
        ] = {}
        with gr.Blocks(title=TITLE) as app:
            gr.Markdown(
                "# evalbot results\nModels evaluated by evalbot on the datasets they were "
                "trained on and on perturbed variants, per class. " + NAV
            )
            with gr.Tabs(selected="models", elem_id="views") as tabs:
                with gr.Tab("Models", id="models", elem_id="tab-models"):
                    with gr.Row():
                        m_q = gr.Textbox(label="Name contains", elem_id="models-search")
                        m_origin = _dd("Origin", "models-origin", value="")
                        m_task = _dd("Task", "models-task", value="")
                        m_trained = _dd("Trained on", "models-trained", value="")
                    with gr.Row():
                        m_evaluated = _dd("Evaluated on", "models-evaluated", value="")
                        m_metrics = _dd(
                            "Metrics available",
                            "models-metrics",
                            choices=[("Any", ""), ("Yes", "yes"), ("No", "no")],
                            value="",
                        )
                        m_failure = _dd("Failure reason", "models-failure", value="")
                        m_pr = _dd(
                            "Pull requests",
                            "models-pr",
                            choices=[("Any", ""), ("Declined by the author", "declined")],
                            value="",
                        )
                        m_sort = _dd(
                            "Sort by", "models-sort", choices=list(q.MODEL_SORTS), value="name"
                        )
                        m_order = gr.Radio(
                            ["asc", "desc"], value="asc", label="Order", elem_id="models-order"
                        )
                    with gr.Row():
                        m_apply = gr.Button(
                            "Apply filters", elem_id="models-apply", variant="primary"
                        )
                        m_prev = gr.Button("← previous", elem_id="models-prev")
                        m_page = gr.Number(
                            value=1, precision=0, label="Page", elem_id="models-page"
                        )
                        m_next = gr.Button("next →", elem_id="models-next")
                        m_per_page = gr.Number(
                            value=25, precision=0, label="Per page", elem_id="models-per-page"
                        )
                    m_info = gr.Markdown(elem_id="models-info")
                    m_html = gr.HTML(elem_id="models-html")
                    m_link = gr.Markdown(elem_id="models-link")
                m_inputs = [
                    m_q,
                    m_origin,
                    m_task,
                    m_trained,
                    m_evaluated,
                    m_metrics,
                    m_failure,
                    m_pr,
                    m_sort,
                    m_order,
                    m_page,
                    m_per_page,
                ]
                m_keys = [
                    "q",
                    "origin",
                    "task",
                    "trained",
                    "evaluated",
                    "metrics",
                    "failure",
                    "pr",
                    "sort",
                    "order",
                    "page",
                    "per_page",
                ]
                m_outputs = [
                    m_info,
                    m_html,
                    m_link,
                    m_origin,
                    m_task,
                    m_trained,
                    m_evaluated,
                    m_failure,
                    m_page,
                ]
                views["models"] = (m_inputs, _params(m_keys), self.r_models, m_outputs)

                with gr.Tab("Model", id="model", elem_id="tab-model"):
                    with gr.Row():
                        mo_name = gr.Textbox(label="Model (org/name)", elem_id="model-input")
                        mo_show = gr.Button("Show", elem_id="model-show")
                    mo_html = gr.HTML(elem_id="model-html")
                    mo_link = gr.Markdown(elem_id="model-link")
                views["model"] = ([mo_name], _params(["model"]), self.r_model, [mo_html, mo_link])

                with gr.Tab("Result", id="result", elem_id="tab-result"):
                    with gr.Row():
                        r_model = gr.Textbox(label="Model", elem_id="result-model")
                        r_dataset = gr.Textbox(label="Dataset", elem_id="result-dataset")
                        r_split = gr.Textbox(label="Split (empty: any)", elem_id="result-split")
                        r_variant = gr.Textbox(
                            label="Variant", value="original", elem_id="result-variant"
                        )
                        r_show = gr.Button("Show", elem_id="result-show")
                    r_header = gr.HTML(elem_id="result-header")
                    r_unit = gr.Markdown("### Per class", elem_id="result-unit")
                    with gr.Row():
                        r_metrics = gr.CheckboxGroup(
                            v.metric_choices(tasks.FALLBACK),
                            value=list(tasks.FALLBACK.class_columns),
                            label="Metrics",
                            elem_id="result-metrics",
                        )
                        r_filter = gr.Textbox(label="Class contains", elem_id="result-filter")
                        r_sort = _dd(
                            "Sort by",
                            "result-sort",
                            choices=v.sort_choices(tasks.FALLBACK),
                            value="id",
                        )
                        r_desc = gr.Checkbox(label="Descending", elem_id="result-desc")
                    r_chart = gr.Plot(elem_id="result-chart", show_label=False)
                    r_table = gr.Dataframe(interactive=False, elem_id="result-table", wrap=True)
                    with gr.Column() as r_confusion_box:  # shown where the result has one
                        gr.Markdown("### Confusion matrix (opens on the most confused classes)")
                        r_classes = _dd("Classes", "result-classes", multiselect=True)
                        r_confusion = gr.Plot(elem_id="result-confusion", show_label=False)
                    with gr.Column() as r_errors_box:
                        gr.Markdown("### Misclassifications (most confident errors first)")
                        with gr.Row():
                            r_pair = _dd("True → predicted", "result-pair", value="")
                            r_conf = gr.Slider(
                                0,
                                1,
                                value=0,
                                step=0.05,
                                label="Minimum confidence",
                                elem_id="result-conf",
                            )
                        r_gallery = gr.Gallery(
                            label="Misclassified images",
                            elem_id="result-gallery",
                            columns=8,
                            height="auto",
                        )
                        r_errors = gr.HTML(elem_id="result-errors")
                    with gr.Column() as r_calibration_box:
                        gr.Markdown("### Calibration")
                        r_calibration = gr.Plot(elem_id="result-calibration", show_label=False)
                    r_link = gr.Markdown(elem_id="result-link")
                r_inputs = [r_model, r_dataset, r_split, r_variant]
                r_keys = ["model", "dataset", "split", "variant"]
                views["result"] = (
                    r_inputs,
                    _params(r_keys),
                    self.r_result,
                    [
                        r_header,
                        r_unit,
                        r_metrics,
                        r_filter,
                        r_sort,
                        r_chart,
                        r_table,
                        r_confusion_box,
                        r_classes,
                        r_confusion,
                        r_errors_box,
                        r_pair,
                        r_gallery,
                        r_errors,
                        r_calibration_box,
                        r_calibration,
                        r_link,
                    ],
                )

                with gr.Tab("Variants", id="variants", elem_id="tab-variants"):
                    with gr.Row():
                        v_model = gr.Textbox(label="Model", elem_id="variants-model")
                        v_dataset = gr.Textbox(label="Dataset", elem_id="variants-dataset")
                        v_metric = gr.Radio(
                            v.metric_choices(tasks.FALLBACK),
                            value=tasks.default_class_key(tasks.FALLBACK),
                            label="Metric",
                            elem_id="variants-metric",
                        )
                        v_mode = gr.Radio(
                            ["absolute", "relative"],
                            value="absolute",
                            label="Values",
                            elem_id="variants-mode",
                        )
                        v_filter = gr.Textbox(label="Class contains", elem_id="variants-filter")
                        v_show = gr.Button("Show", elem_id="variants-show")
                    v_info = gr.HTML(elem_id="variants-info")
                    v_plot = gr.Plot(elem_id="variants-plot", show_label=False)
                    v_table = gr.Dataframe(interactive=False, elem_id="variants-table")
                    v_link = gr.Markdown(elem_id="variants-link")
                views["variants"] = (
                    [v_model, v_dataset, v_metric, v_mode, v_filter],
                    _params(["model", "dataset", "metric", "mode", "filter"]),
                    self.r_variants,
                    [v_info, v_plot, v_table, v_metric, v_link],
                )

                with gr.Tab("Compare", id="compare", elem_id="tab-compare"):
                    with gr.Row():
                        c_dataset = _dd("Dataset", "compare-dataset", value="")
                        c_models = _dd("Models (two or more)", "compare-models", multiselect=True)
                        c_metric = gr.Radio(
                            v.metric_choices(tasks.FALLBACK),
                            value=tasks.default_class_key(tasks.FALLBACK),
                            label="Metric",
                            elem_id="compare-metric",
                        )
                        c_variant = gr.Textbox(
                            label="Variant", value="original", elem_id="compare-variant"
                        )
                        c_show = gr.Button("Compare", elem_id="compare-show")
                    c_info = gr.HTML(elem_id="compare-info")
                    c_speed = gr.HTML(elem_id="compare-speed-html")
                    c_plot = gr.Plot(elem_id="compare-plot", show_label=False)
                    c_table = gr.Dataframe(interactive=False, elem_id="compare-table")
                    c_link = gr.Markdown(elem_id="compare-link")
                views["compare"] = (
                    [c_dataset, c_models, c_metric, c_variant],
                    _params(["dataset", "models", "metric", "variant"]),
                    self.r_compare,
                    [c_info, c_speed, c_plot, c_table, c_models, c_metric, c_link],
                )

                with gr.Tab("Dataset", id="dataset", elem_id="tab-dataset"):
                    with gr.Row():
                        d_dataset = _dd("Dataset", "dataset-input", value="")
                        d_show = gr.Button("Show", elem_id="dataset-show")
                    d_html = gr.HTML(elem_id="dataset-html")
                    d_link = gr.Markdown(elem_id="dataset-link")
                views["dataset"] = (
                    [d_dataset],
                    _params(["dataset"]),
                    self.r_dataset,
                    [d_html, d_link],
                )

                with gr.Tab("Scatterplot", id="scatter", elem_id="tab-scatter"):
                    with gr.Row():
                        s_dataset = _dd("Dataset", "scatter-dataset", value="")
                        s_x = _dd(
                            "x axis",
                            "scatter-x",
                            choices=v.axis_choices(tasks.FALLBACK),
                            value=tasks.FALLBACK.headline.key,
                        )
                        s_y = _dd(
                            "y axis",
                            "scatter-y",
                            choices=v.axis_choices(tasks.FALLBACK),
                            value="instances_per_s",
                        )
                        s_class = _dd("Class (for per-class axes)", "scatter-class", value="")
                        s_variant = _dd("Variant", "scatter-variant", value="original")
                        s_show = gr.Button("Plot", elem_id="scatter-show")
                    s_info = gr.HTML(elem_id="scatter-info")
                    s_plot = gr.Plot(elem_id="scatter-plot", show_label=False)
                    s_table = gr.Dataframe(
                        interactive=False, elem_id="scatter-table", max_height=400
                    )
                    s_link = gr.Markdown(elem_id="scatter-link")
                views["scatter"] = (
                    [s_dataset, s_x, s_y, s_class, s_variant],
                    _params(["dataset", "x", "y", "class", "variant"]),
                    self.r_scatter,
                    [s_info, s_plot, s_table, s_x, s_y, s_link],
                )

                with gr.Tab("Leaderboard", id="leaderboard", elem_id="tab-leaderboard"):
                    with gr.Row():
                        l_dataset = _dd("Dataset", "leaderboard-dataset", value="")
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
                                value=v.DEFAULT_WEIGHTS[d],
                                step=0.5,
                                label=f"weight: {d}",
                                elem_id=f"leaderboard-w-{d}",
                            )
                            for d in v.DIMENSIONS
                        ]
                    l_info = gr.HTML(elem_id="leaderboard-info")
                    l_table = gr.Dataframe(interactive=False, elem_id="leaderboard-table")
                    l_link = gr.Markdown(elem_id="leaderboard-link")
                views["leaderboard"] = (
                    [l_dataset, l_training, *l_weights],
                    _params(["dataset", "training", *[f"w_{d}" for d in v.DIMENSIONS]]),
                    self.r_leaderboard,
                    [l_info, l_table, l_link],
                )

                with gr.Tab("Find a model", id="find", elem_id="tab-find"):
                    gr.Markdown(
                        "Which model has the best recall on class *bear* under the *greyscale* "
                        "variant, fast enough for 10,000 pictures within an hour (≥ 2.8 examples/s)?"
                    )
                    with gr.Row():
                        f_dataset = _dd("Dataset", "find-dataset", value="")
                        f_class = _dd("Class", "find-class", value="")
                        f_variant = _dd("Variant", "find-variant", value="original")
                        f_metric = gr.Radio(
                            v.metric_choices(tasks.FALLBACK),
                            value=tasks.default_class_key(tasks.FALLBACK, "recall"),
                            label="Metric",
                            elem_id="find-metric",
                        )
                        f_min = gr.Number(
                            value=0, label="Minimum examples per second", elem_id="find-min"
                        )
                        f_show = gr.Button("Find", elem_id="find-show", variant="primary")
                    f_info = gr.HTML(elem_id="find-info")
                    f_table = gr.Dataframe(interactive=False, elem_id="find-table")
                    f_link = gr.Markdown(elem_id="find-link")
                views["find"] = (
                    [f_dataset, f_class, f_variant, f_metric, f_min],
                    _params(["dataset", "class", "variant", "metric", "min_throughput"]),
                    self.r_find,
                    [f_info, f_table, f_metric, f_link],
                )

                with gr.Tab("Claims audit", id="audit", elem_id="tab-audit"):
                    a_html = gr.HTML(elem_id="audit-html")
                views["audit"] = ([], _params([]), self.r_audit, [a_html])

            for name, (inputs, to_params, render, outputs) in list(views.items()):
                views[name] = (inputs, to_params, _safe(render, len(outputs)), outputs)
            self._wire(app, tabs, views)
            # in-view interactions that do not change the URL's view
            for trigger in (
                m_apply.click,
                m_q.submit,
                m_origin.input,
                m_task.input,
                m_trained.input,
                m_evaluated.input,
                m_metrics.input,
                m_failure.input,
                m_pr.input,
                m_sort.input,
                m_order.input,
            ):
                trigger(self._first_page(views["models"]), inputs=m_inputs, outputs=m_outputs)
            m_prev.click(self._step_page(views["models"], -1), inputs=m_inputs, outputs=m_outputs)
            m_next.click(self._step_page(views["models"], 1), inputs=m_inputs, outputs=m_outputs)
            for button, name in (
                (mo_show, "model"),
                (r_show, "result"),
                (v_show, "variants"),
                (c_show, "compare"),
                (d_show, "dataset"),
                (s_show, "scatter"),
                (l_show, "leaderboard"),
                (f_show, "find"),
            ):
                inputs, to_params, render, outputs = views[name]
                button.click(self._call(to_params, render), inputs=inputs, outputs=outputs)
            mo_name.submit(
                self._call(*views["model"][1:3]), inputs=[mo_name], outputs=views["model"][3]
            )
            d_dataset.input(
                self._call(*views["dataset"][1:3]), inputs=[d_dataset], outputs=views["dataset"][3]
            )
            for trigger in (v_metric.input, v_mode.input, v_filter.submit):
                trigger(
                    self._call(*views["variants"][1:3]),
                    inputs=views["variants"][0],
                    outputs=views["variants"][3],
                )
            for trigger in (s_x.input, s_y.input, s_class.input, s_variant.input):
                trigger(
                    self._call(*views["scatter"][1:3]),
                    inputs=views["scatter"][0],
                    outputs=views["scatter"][3],
                )
            for slider in l_weights:
                slider.release(
                    self._call(*views["leaderboard"][1:3]),
                    inputs=views["leaderboard"][0],
                    outputs=views["leaderboard"][3],
                )
            s_dataset.input(
                self.scatter_dataset,
                inputs=[s_dataset, s_x, s_y],
                outputs=[s_class, s_variant, s_x, s_y],
            )
            f_dataset.input(
                self.find_dataset,
                inputs=[f_dataset, f_metric],
                outputs=[f_class, f_variant, f_metric],
            )
            c_dataset.input(self.evaluated_on, inputs=[c_dataset, c_variant], outputs=[c_models])
            r_detail_inputs = [r_model, r_dataset, r_split, r_variant]
            for trigger in (r_metrics.input, r_filter.submit, r_sort.input, r_desc.input):
                trigger(
                    self.result_classes,
                    inputs=[*r_detail_inputs, r_metrics, r_filter, r_sort, r_desc],
                    outputs=[r_chart, r_table],
                )
            r_classes.input(
                self.result_confusion, inputs=[*r_detail_inputs, r_classes], outputs=[r_confusion]
            )
            for trigger in (r_pair.input, r_conf.release):
                trigger(
                    self.result_errors,
                    inputs=[*r_detail_inputs, r_pair, r_conf],
                    outputs=[r_gallery, r_errors],
                )
        return app

    def _wire(self, app: gr.Blocks, tabs: gr.Tabs, views: dict[str, Any]) -> None:
        """On page load the URL picks the tab, fills its inputs and renders that view only."""
        order = list(views)
        dataset_inputs = {
            id(views[n][0][0]) for n in ("compare", "dataset", "scatter", "leaderboard", "find")
        }
        per_dataset = {
            id(views[n][0][i]): kind
            for n in ("scatter", "find")
            for i, kind in (
                (3 if n == "scatter" else 1, "class"),
                (4 if n == "scatter" else 2, "variant"),
            )
        }

        n_updates = 1 + sum(len(views[n][0]) + len(views[n][3]) for n in order)

        def on_load(request: gr.Request) -> list[Any]:
            try:
                return load(request, self.results.current)
            except q.DataError:
                first_output = 1 + sum(len(views[n][0]) for n in order)  # the Models view's info
                out: list[Any] = [gr.skip()] * n_updates
                out[0], out[first_output] = gr.Tabs(selected="models"), UNAVAILABLE
                return out

        def load(request: gr.Request, data: Snapshot) -> list[Any]:
            params = {k: str(val) for k, val in dict(request.query_params).items()}
            view = params.get("view") or ("model" if params.get("model") else "models")
            view = view if view in views else "models"
            datasets = self.datasets(data)
            dataset = params.get("dataset", "")
            updates: list[Any] = [gr.Tabs(selected=view)]
            for name in order:
                comps, to_params = views[name][0], views[name][1]
                for comp, key in zip(comps, to_params.keys, strict=True):
                    value = params.get(key) if name == view else None
                    extra: dict[str, Any] = {}
                    if id(comp) in dataset_inputs:
                        extra["choices"] = datasets
                    elif id(comp) in per_dataset and name == view and dataset:
                        kind = per_dataset[id(comp)]
                        extra["choices"] = (
                            q.unit_names(data, dataset)
                            if kind == "class"
                            else q.dataset_variants(data, dataset) or [q.ORIGINAL]
                        )
                    updates.append(_input_update(comp, value, **extra))
            for name in order:
                if name == view:
                    updates.extend(views[name][2](data, params))
                else:
                    updates.extend([gr.skip()] * len(views[name][3]))
            return updates

        all_inputs = [c for name in order for c in views[name][0]]
        all_outputs = [c for name in order for c in views[name][3]]
        app.load(on_load, outputs=[tabs, *all_inputs, *all_outputs])

    def _first_page(self, spec: Any) -> Callable[..., list[Any]]:
        to_params, render = spec[1], spec[2]

        def run(*values: Any) -> list[Any]:
            p = to_params(*values)
            p["page"] = "1"
            return render(self.results.current, p)

        return run

    def _step_page(self, spec: Any, step: int) -> Callable[..., list[Any]]:
        to_params, render = spec[1], spec[2]

        def run(*values: Any) -> list[Any]:
            p = to_params(*values)
            p["page"] = str(max(1, int(float(p.get("page") or 1)) + step))
            return render(self.results.current, p)

        return run

    def _call(
        self, to_params: Callable[..., dict[str, str]], render: Render
    ) -> Callable[..., list[Any]]:
        """A callback: component values -> URL params -> the view's updates, on the snapshot
        being served when the callback starts."""

        def run(*values: Any) -> list[Any]:
            return render(self.results.current, to_params(*values))

        return run

    # -- in-view interactions of the result view ----------------------------------------------

    def _detail(self, model: str, dataset: str, split: str, variant: str) -> q.ResultDetail | None:
        return v.load_result(
            self.results.current,
            {
                "model": model or "",
                "dataset": dataset or "",
                "split": split or "",
                "variant": variant or "",
            },
        )

    def result_classes(
        self,
        model: str,
        dataset: str,
        split: str,
        variant: str,
        metrics: list[str],
        search: str,
        sort: str,
        desc: bool,
    ) -> list[Any]:
        detail = self._detail(model, dataset, split, variant)
        if detail is None:
            return [None, _frame(tasks.unit_columns(tasks.FALLBACK), [])]
        sort = sort if sort in [key for _, key in v.sort_choices(detail.spec)] else "id"
        return [
            v.class_chart(
                detail, metrics or [], search=search or "", sort=sort, descending=bool(desc)
            ),
            _frame(
                v.unit_columns(detail),
                v.class_rows(detail, search=search or "", sort=sort, descending=bool(desc)),
            ),
        ]

    def result_confusion(
        self, model: str, dataset: str, split: str, variant: str, classes: list[str]
    ) -> Any:
        detail = self._detail(model, dataset, split, variant)
        return None if detail is None else v.confusion_figure(detail, classes or [])

    def result_errors(
        self, model: str, dataset: str, split: str, variant: str, pair: str, conf: float
    ) -> list[Any]:
        detail = self._detail(model, dataset, split, variant)
        if detail is None:
            return [[], v.empty("Pick a model and a dataset first.")]
        gallery, errors = v.errors_view(detail, pair=pair or "", min_conf=float(conf or 0.0))
        return [gallery, errors]


class _ParamsFn:
    """Component values -> URL params (the keys name the query parameters)."""

    def __init__(self, keys: list[str]) -> None:
        self.keys = keys

    def __call__(self, *values: Any) -> dict[str, str]:
        out = {}
        for key, value in zip(self.keys, values, strict=True):
            if isinstance(value, list):
                value = ",".join(str(x) for x in value)
            elif isinstance(value, float) and value.is_integer():
                value = int(value)
            out[key] = "" if value is None else str(value)
        return out


UNAVAILABLE = v.empty("The results dataset cannot be read right now. Please try again in a minute.")


def _safe(render: Render, n: int) -> Render:
    """A view whose data cannot be read reads as a sentence (in its first output), not a trace."""

    def run(data: Snapshot, p: dict[str, str]) -> list[Any]:
        try:
            return render(data, p)
        except q.DataError as exc:
            log.warning("a view could not read the results dataset: %s", exc)
            return [UNAVAILABLE, *[gr.skip()] * (n - 1)]

    return run


def _params(keys: list[str]) -> _ParamsFn:
    return _ParamsFn(keys)


def _input_update(comp: Any, value: str | None, **extra: Any) -> Any:
    """An input component set from a URL parameter (left as it is when absent)."""
    if value is None:
        return gr.update(**extra) if extra else gr.skip()
    if isinstance(comp, gr.Dropdown) and comp.multiselect:
        return gr.update(value=[x for x in value.split(",") if x], **extra)
    if isinstance(comp, gr.Radio) and value not in [c[1] for c in comp.choices or ()]:
        return gr.update(**extra) if extra else gr.skip()  # not one of its choices
    if isinstance(comp, gr.Number | gr.Slider):
        try:
            return gr.update(value=float(value), **extra)
        except ValueError:
            return gr.update(**extra) if extra else gr.skip()
    return gr.update(value=value, **extra)


def build_app(results: ResultsData, *, hub_url: str = HUB_URL) -> gr.Blocks:
    return App(results, hub_url=hub_url).build()


def launch(app: gr.Blocks, **kwargs: Any) -> Any:
    """``app.launch`` with the Space's CSS and its scatterplot click handler."""
    return app.launch(css=CSS, js=JS, **kwargs)


def warm(data: Snapshot) -> None:
    """Compute each dataset's leaderboard aggregates once per version of the data, before it is
    served, so no visitor waits for them."""
    try:
        for d in q.list_datasets(data):
            v.leaderboard_view(data, {"dataset": d.dataset_id})
    except q.DataError as exc:  # the first visitor computes them instead
        log.warning("leaderboard aggregates not computed ahead: %s", exc)


#: the optional file, in the working directory, that names the dataset (written by the deploy)
CONFIG_FILE = "evalbot_space.json"


def source_from(
    *,
    data_dir: str | None = None,
    dataset: str | None = None,
    revision: str | None = None,
    hub_url: str | None = None,
) -> Source:
    """The results dataset to read: a local folder, or a dataset repo on the Hub (``hub_url``:
    its endpoint; ``HF_ENDPOINT`` or huggingface.co when None)."""
    if data_dir:
        return DirectorySource(data_dir)
    if dataset:
        return HubSource(dataset, revision=revision or None, endpoint=hub_url or None)
    raise NoResultsSourceError()


def settings(
    env: Mapping[str, str] | None = None, config_file: Path | str = CONFIG_FILE
) -> dict[str, str | None]:
    """Where the results are, from ``EVALBOT_RESULTS_DIR``, ``EVALBOT_RESULTS_DATASET``,
    ``EVALBOT_RESULTS_REVISION`` (and ``HF_ENDPOINT``), else from ``evalbot_space.json``
    (``{"dataset": ..., "revision": ..., "hub_url": ...}``) when that file exists."""
    env = os.environ if env is None else env
    found: dict[str, str | None] = {
        "data_dir": env.get("EVALBOT_RESULTS_DIR") or None,
        "dataset": env.get("EVALBOT_RESULTS_DATASET") or None,
        "revision": env.get("EVALBOT_RESULTS_REVISION") or None,
        "hub_url": env.get("HF_ENDPOINT") or None,
    }
    path = Path(config_file)
    if found["data_dir"] or found["dataset"] or not path.is_file():
        return found
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SpaceConfigError(str(path), f"not valid JSON ({exc})") from exc
    if not isinstance(config, dict):
        raise SpaceConfigError(str(path), "not a JSON object")
    unknown = sorted(set(config) - {"dataset", "revision", "hub_url"})
    if unknown:
        raise SpaceConfigError(str(path), f"unknown key(s) {', '.join(unknown)}")
    for key in ("dataset", "revision", "hub_url"):
        value = config.get(key)
        if value is not None and not isinstance(value, str):
            raise SpaceConfigError(str(path), f'"{key}" must be a string')
        if value and not (key == "hub_url" and found["hub_url"]):
            found[key] = value
    return found


def serve(source: Source, *, host: str = "127.0.0.1", port: int = 7860) -> None:
    """Serve the Space over ``source``: load its current version (a source that cannot be read
    now leaves the Space saying there is nothing yet), then check for a newer one every five
    minutes while serving."""
    results = ResultsData(source, on_load=warm)
    results.refresh()
    results.start()
    hub_url = source.endpoint if isinstance(source, HubSource) and source.endpoint else HUB_URL
    try:
        launch(
            build_app(results, hub_url=hub_url.rstrip("/")),
            server_name=host,
            server_port=port,
            show_error=False,
        )
    finally:
        results.stop()


def log_to_stderr() -> None:
    """The Space's own lines (versions loaded, the Hub unreachable) on stderr; other libraries'
    warnings only."""
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s: %(message)s")
    logging.getLogger("evalbot").setLevel(logging.INFO)


def main() -> None:
    """The Space's entry point on the Hub (and ``python space/app.py``): the dataset comes from
    the environment or ``evalbot_space.json``; the port from ``PORT`` (7860)."""
    log_to_stderr()
    serve(
        source_from(**settings()),
        host=os.environ.get("GRADIO_SERVER_NAME", "0.0.0.0"),
        port=int(os.environ.get("PORT", "7860")),
    )


if __name__ == "__main__":
    main()
