"""The Result page (``?view=result``): one evaluation, as its task's catalogue entry names it.

Runtime, the task's headline and summary metrics, the variants of the same split, the per-unit
table and chart (classes, entity types, question groups), and, where the result has them, the
confusion matrix, the misclassified examples and the reliability diagram; where the dataset
declares groups of classes, each group summed up, weakest first. An object detector's result
shows its COCO numbers, its per-class AP table and the gallery of its detection errors (with
``det_sort``, ``kind``, ``label``, ``min_conf`` and ``page`` in the URL) in place of the
per-class chart. The page's own controls (metric toggles, sorting, the confusion picker, the
error filters) redraw their part from the same result.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import gradio as gr
import plotly.graph_objects as go

from space import detection as det
from space import queries as q
from space import tasks
from space.data import Snapshot
from space.page import (
    Params,
    a,
    choice,
    ci,
    empty,
    esc,
    float_param,
    fmt,
    has_ece,
    int_param,
    link,
    metric_choices,
    table,
)
from space.pages.base import (
    Page,
    PageParts,
    Site,
    any_choices,
    dropdown,
    frame,
    link_md,
    on_current,
)
from store.catalogue import OBJECT_DETECTION, TaskSpec
from store.class_groups import GroupResult, group_results, weakest_group
from store.types import ClassResult


@dataclass
class ResultView:
    header: str
    classes: list[str] = field(default_factory=list)  # the confusion matrix's rows
    chart: go.Figure | None = None
    rows: list[list[Any]] = field(default_factory=list)
    confusion_classes: list[str] = field(default_factory=list)  # the picker's initial choice
    confusion: go.Figure | None = None
    pairs: list[str] = field(default_factory=list)  # "true → predicted" choices
    gallery: list[tuple[Any, str]] = field(default_factory=list)
    errors: str = ""
    calibration: go.Figure | None = None
    found: bool = False
    # from the catalogue entry of the result's task (classification's when nothing is found)
    columns: list[str] = field(default_factory=lambda: tasks.unit_columns(tasks.FALLBACK))
    unit: str = "class"  # what the per-unit table lists: class, entity type, group
    unit_heading: str = "### Per class"
    metric_choices: list[tuple[str, str]] = field(default_factory=list)  # (label, key)
    sort_choices: list[tuple[str, str]] = field(default_factory=list)  # (label, key)
    has_errors: bool = False  # whether the result keeps misclassified examples
    groups: str = ""  # the dataset's class groups summed up (empty without groups)
    detection: DetectionParts | None = None  # an object detector's own parts


@dataclass
class DetectionParts:
    """What the Result page shows of an object detector in place of the per-class chart and the
    misclassifications: its COCO numbers, its per-class table and the gallery of its errors,
    with the choices of the gallery's filters and the state of the page's controls."""

    summary: str
    classes: str
    gallery: str
    kinds: list[str]
    labels: list[str]
    sort: str = "ap"
    kind: str = ""
    label: str = ""
    min_confidence: float = 0.0
    page: int = 1


#: the per-class table's orders of a detector: (label, key)
DETECTION_SORTS = [
    ("AP", "ap"),
    ("AP50", "ap50"),
    ("AR100", "ar100"),
    ("objects", "objects"),
    ("name", "name"),
]
#: images per page of a detector's errors gallery
DETECTION_PER_PAGE = 12


def sort_choices(spec: TaskSpec) -> list[tuple[str, str]]:
    """What the per-unit table sorts by: the id, the task's per-unit metrics, the support."""
    return [("id", "id"), *metric_choices(spec), (spec.support, "support")]


def unit_columns(detail: q.ResultDetail) -> list[str]:
    """The per-unit table's headers for ``detail``'s task."""
    return tasks.unit_columns(detail.spec)


def class_rows(
    detail: q.ResultDetail, *, search: str = "", sort: str = "id", descending: bool = False
) -> list[list[Any]]:
    """The per-unit table's rows (class, entity type, group ...): the task's per-unit metrics,
    then support and counts; filtered by name, sorted by ``sort`` (undefined values last)."""
    metrics = detail.spec.class_metrics()
    by_key = {m.key: m for m in metrics}
    needle = search.strip().casefold()
    classes = [c for c in detail.classes if needle in c.label.casefold()]

    def value(c: ClassResult) -> float | None:
        return float(c.support) if sort == "support" else by_key[sort].class_value(c)

    if sort in by_key or sort == "support":  # "n/a" units last either way
        known = [c for c in classes if value(c) is not None]
        known.sort(key=lambda c: value(c) or 0.0, reverse=descending)
        classes = known + [c for c in classes if value(c) is None]
    elif descending:
        classes.reverse()
    return [
        [
            c.class_id,
            c.label,
            *(fmt(m.class_value(c), m.digits - 1) for m in metrics),
            c.support,
            *((c.tp, c.fp, c.fn) if detail.spec.counts else ()),
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
    """The per-unit metrics ``metrics`` (keys) as grouped bars, in the table's order."""
    spec = detail.spec
    rows = class_rows(detail, search=search, sort=sort, descending=descending)
    labels = [f"{r[1]} ({r[0]})" for r in rows]
    by_id = {c.class_id: c for c in detail.classes}
    fig = go.Figure()
    for metric in [m for m in spec.class_metrics() if m.key in metrics]:
        fig.add_bar(
            name=metric.short,
            x=labels,
            y=[metric.class_value(by_id[r[0]]) for r in rows],
            hovertemplate="%{x}<br>" + metric.short + " %{y:.3f}<extra></extra>",
        )
    fig.update_layout(
        barmode="group",
        height=360,
        margin={"l": 40, "r": 10, "t": 30, "b": 80},
        yaxis={"range": [0, 1.05], "title": "value"},
        title=f"Per-{spec.unit} metrics",
    )
    return fig


def confusion_figure(detail: q.ResultDetail, classes: Sequence[str]) -> go.Figure:
    names_all = detail.confusion_labels or detail.labels
    index = {label: i for i, label in enumerate(names_all)}
    ids = [index[c] for c in classes if c in index] or list(range(min(len(names_all), 10)))
    names = [names_all[i] for i in ids]
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
    names = detail.confusion_labels or detail.labels
    chosen: list[str] = []
    for t, p, _ in q.most_confused(detail.confusion, 3):
        for i in (t, p):
            if i < len(names) and names[i] not in chosen:
                chosen.append(names[i])
    return chosen or names[:5]


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


# -- class groups ----------------------------------------------------------------------------


def is_detection(spec: TaskSpec) -> bool:
    return spec.name == OBJECT_DETECTION.name


def group_value(g: GroupResult, detection: bool) -> float | None:
    """What ranks a group: its mean per-class AP (object detection), else its macro F1."""
    return g.ap if detection else g.macro_f1


def weakest_first(found: Sequence[GroupResult], detection: bool) -> list[GroupResult]:
    """The groups, lowest macro F1 (detection: mean AP) first; groups without one last."""

    def key(g: GroupResult) -> tuple[bool, float, str]:
        value = group_value(g, detection)
        return (value is None, value or 0.0, g.name)

    return sorted(found, key=key)


def weakest_sentence(found: Sequence[GroupResult], overall: float | None, detection: bool) -> str:
    """The sentence the model card says of the weakest group (``cardgen.section``): its macro
    F1 (detection: mean AP) against the same over all classes, its classes and examples; empty
    without a group of enough examples (``store.class_groups.weakest_group``)."""
    weakest = weakest_group(found)
    if weakest is None:
        return ""
    metric = "mean AP" if detection else "macro F1"
    count = len(weakest.classes)
    return (
        f"Weakest class group: {weakest.name} ({metric} "
        f"{fmt(group_value(weakest, detection), 4)} vs {fmt(overall, 4)} overall, {count} "
        f"class{'es' if count != 1 else ''}, {weakest.support:,} "
        f"{'objects' if detection else 'examples'})."
    )


def _group_confusion(detail: q.ResultDetail) -> list[list[int]]:
    """The confusion matrix where it covers every class id (for the fine and coarse
    accuracies), else none."""
    n = len(detail.confusion)
    square = n > 0 and all(len(row) == n for row in detail.confusion)
    if square and all(c.class_id < n for c in detail.classes):
        return detail.confusion
    return []


def result_groups(detail: q.ResultDetail, groups: dict[str, list[str]]) -> str:
    """The dataset's class groups summed up over one result (``result-groups-table``), weakest
    first, under the sentence naming the weakest; empty without groups."""
    if not groups or not detail.classes:
        return ""
    detection = is_detection(detail.spec)
    found = weakest_first(
        group_results(detail.classes, groups, confusion=_group_confusion(detail)), detection
    )
    if detection:
        headers = ["group", "classes", "objects", "mean AP", "mean AP50"]
        rows = [
            [esc(g.name), esc(", ".join(g.classes)), f"{g.support:,}", fmt(g.ap), fmt(g.ap50)]
            for g in found
        ]
    else:
        headers = [
            "group",
            "classes",
            "support",
            "precision (micro)",
            "recall (micro)",
            "F1 (micro)",
            "macro F1",
            "fine accuracy",
            "coarse accuracy",
        ]
        rows = [
            [
                esc(g.name),
                esc(", ".join(g.classes)),
                f"{g.support:,}",
                fmt(g.precision),
                fmt(g.recall),
                fmt(g.f1),
                fmt(g.macro_f1),
                fmt(g.fine_accuracy),
                fmt(g.coarse_accuracy),
            ]
            for g in found
        ]
    overall = detail.summary.metrics.get("ap" if detection else "macro_f1")
    sentence = weakest_sentence(found, overall, detection)
    note = (
        "Mean AP and AP50: the mean over the group's classes that have ground truth."
        if detection
        else "Fine accuracy: the share of the group's examples predicted as exactly their "
        "class; coarse accuracy: as any class of the group."
    )
    return (
        "<h3>Class groups</h3>"
        + (f'<p id="result-groups-weakest">{esc(sentence)}</p>' if sentence else "")
        + table(headers, rows, elem_id="result-groups-table")
        + f"<p>{esc(note)} Weakest group first.</p>"
    )


# -- an object detector's parts --------------------------------------------------------------


def detection_parts(data: Snapshot, detail: q.ResultDetail, p: Params) -> DetectionParts:
    """A detector's COCO numbers, its per-class table sorted by ``det_sort`` and the page
    ``page`` of its errors gallery filtered by ``kind``, ``label`` and ``min_conf``."""
    rid = detail.summary.result_id
    sort = choice(p.get("det_sort"), [key for _, key in DETECTION_SORTS], "ap")
    found = det.filters(data, rid)
    kind = choice(p.get("kind"), found.kinds, "")
    label = choice(p.get("label"), found.labels, "")
    min_confidence = max(0.0, min(1.0, float_param(p.get("min_conf", ""), 0.0)))
    page = int_param(p.get("page", "1"), 1, 1, 10**6)
    return DetectionParts(
        summary=det.detection_summary(data, rid),
        classes=det.detection_classes(data, rid, sort=sort),
        gallery=det.detection_errors_gallery(
            data,
            rid,
            kind=kind,
            label=label,
            min_confidence=min_confidence,
            page=page,
            per_page=DETECTION_PER_PAGE,
        ),
        kinds=found.kinds,
        labels=found.labels,
        sort=sort,
        kind=kind,
        label=label,
        min_confidence=min_confidence,
        page=page,
    )


def load_result(data: Snapshot, p: Params) -> q.ResultDetail | None:
    model, dataset = p.get("model", "").strip(), p.get("dataset", "").strip()
    if not model or not dataset:
        return None
    return q.result_detail(
        data, model, dataset, split=p.get("split", ""), variant=p.get("variant", "") or q.ORIGINAL
    )


def _result_variants(detail: q.ResultDetail) -> str:
    """The result's dataset split under each variant: headline, change, second metric."""
    spec = detail.spec
    key, second = spec.headline.key, spec.second.key
    rows = []
    base = detail.variants[0].metrics.get(key) if detail.variants else None
    for v in detail.variants:
        value = v.metrics.get(key)
        delta = (
            ""
            if base is None or value is None or v.variant == q.ORIGINAL
            else f"{value - base:+.3f}"
        )
        href = link(
            "result", model=detail.model_id, dataset=v.dataset_id, split=v.split, variant=v.variant
        )
        rows.append([a(href, v.variant), fmt(value), delta, fmt(v.metrics.get(second))])
    return table(
        ["variant", spec.headline.short, "vs original", spec.second.short],
        rows,
        elem_id="result-variants",
    )


def _result_metrics(s: q.ResultSummary, *, detail_table: str = "") -> str:
    """The headline and second metric (and ECE where the task keeps confidences) in a line, then
    every summary metric of the task in a table (``detail_table`` in its place where given)."""
    spec = s.spec
    line = " · ".join(
        [
            f"{tasks.title(spec.headline.label)} {ci(s, spec.headline.key)}",
            f"{spec.second.label} {ci(s, spec.second.key)}",
            *([f"ECE {fmt(s.ece)}"] if has_ece(spec) else []),
        ]
    )
    if detail_table:
        return f"<p>{line}</p>" + detail_table
    intervals = [m for m in spec.summary_metrics() if m.key in spec.intervals]
    rows = [
        [
            esc(m.name),
            fmt(s.metrics.get(m.key), m.digits),
            *([_interval(s, m.key, m.digits)] if intervals else []),
        ]
        for m in spec.summary_metrics()
    ]
    headers = ["metric", "value", *(["95% CI"] if intervals else [])]
    return f"<p>{line}</p>" + table(headers, rows, elem_id="result-summary")


def _interval(s: q.ResultSummary, key: str, digits: int) -> str:
    if key not in s.intervals:
        return "n/a"
    lo, hi = s.intervals[key]
    return f"{lo:.{digits}f} – {hi:.{digits}f}"


def _unit_heading(spec: TaskSpec) -> str:
    """The per-unit section's heading, with the task's note on its counts."""
    note = f"\n\n{spec.class_note}" if spec.class_note else ""
    return f"### Per {spec.unit}{note}"


def result_view(data: Snapshot, p: Params) -> ResultView:
    """``?view=result&model=ORG/NAME&dataset=ID&split=&variant=``: one evaluation result, its
    metrics, variants and per-unit table as its task's catalogue entry names them; the
    confusion matrix, misclassifications and calibration where the result has them."""
    model, dataset = p.get("model", "").strip(), p.get("dataset", "").strip()
    if not model or not dataset:
        return ResultView(header=empty("Pick a model and a dataset to see an evaluation result."))
    detail = load_result(data, p)
    if detail is None:
        variant = p.get("variant", "") or q.ORIGINAL
        return ResultView(
            header=empty(f"evalbot holds no result of {model} on {dataset} ({variant} variant).")
        )
    s, spec = detail.summary, detail.spec
    detection = detection_parts(data, detail, p) if is_detection(spec) else None
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
            _result_metrics(s, detail_table=detection.summary if detection else ""),
            "<h3>Variants</h3>",
            _result_variants(detail),
        ]
    )
    names = detail.confusion_labels or detail.labels
    chosen = initial_confusion_classes(detail) if detail.confusion else []
    pairs = [
        f"{names[t]} → {names[pr]}"
        for t, pr, _ in q.most_confused(detail.confusion, 50)
        if t < len(names) and pr < len(names)
    ]
    gallery, errors = errors_view(detail)
    return ResultView(
        header=header,
        classes=names if detail.confusion else [],
        chart=class_chart(detail, spec.class_columns),
        rows=class_rows(detail),
        confusion_classes=chosen,
        confusion=confusion_figure(detail, chosen) if detail.confusion else None,
        pairs=pairs,
        gallery=gallery,
        errors=errors,
        calibration=calibration_figure(detail),
        found=True,
        columns=unit_columns(detail),
        unit=spec.unit,
        unit_heading=_unit_heading(spec),
        metric_choices=metric_choices(spec),
        sort_choices=sort_choices(spec),
        has_errors=bool(detail.misclassifications),
        groups=result_groups(detail, q.class_groups(data, s.dataset_id)),
        detection=detection,
    )


def _detection_updates(d: DetectionParts | None) -> list[Any]:
    """The detector's parts of the page, as updates (hidden for another task)."""
    if d is None:
        return [gr.update(visible=False), "", gr.skip(), "", gr.skip(), gr.skip(), gr.skip()]
    return [
        gr.update(visible=True),
        d.classes,
        gr.update(value=d.sort),
        d.gallery,
        gr.update(choices=any_choices(d.kinds), value=d.kind),
        gr.update(choices=any_choices(d.labels), value=d.label),
        gr.update(value=d.page),
    ]


def r_result(data: Snapshot, p: dict[str, str]) -> list[Any]:
    view = result_view(data, p)
    metrics = view.metric_choices or metric_choices(tasks.FALLBACK)
    return [
        view.header,
        gr.update(visible=view.detection is None),
        view.groups,
        *_detection_updates(view.detection),
        view.unit_heading,
        gr.update(choices=metrics, value=[key for _, key in metrics]),
        gr.update(label=f"{tasks.title(view.unit)} contains"),
        gr.update(choices=view.sort_choices or sort_choices(tasks.FALLBACK), value="id"),
        view.chart,
        frame(view.columns, view.rows),
        gr.update(visible=view.confusion is not None),
        gr.update(choices=view.classes, value=view.confusion_classes),
        view.confusion,
        gr.update(visible=view.has_errors),
        gr.update(choices=[("All", ""), *[(x, x) for x in view.pairs]], value=""),
        view.gallery,
        view.errors,
        gr.update(visible=view.calibration is not None),
        view.calibration,
        link_md(
            "result",
            model=p.get("model", ""),
            dataset=p.get("dataset", ""),
            split=p.get("split", ""),
            variant=p.get("variant", ""),
        ),
    ]


# -- the page's own controls: they redraw a part of the same result ---------------------------


def _detail(
    data: Snapshot, model: str, dataset: str, split: str, variant: str
) -> q.ResultDetail | None:
    return load_result(
        data,
        {
            "model": model or "",
            "dataset": dataset or "",
            "split": split or "",
            "variant": variant or "",
        },
    )


def result_classes(
    data: Snapshot,
    model: str,
    dataset: str,
    split: str,
    variant: str,
    metrics: list[str],
    search: str,
    sort: str,
    desc: bool,
) -> list[Any]:
    """The per-unit chart and table, for other metrics, a name filter or another order."""
    detail = _detail(data, model, dataset, split, variant)
    if detail is None:
        return [None, frame(tasks.unit_columns(tasks.FALLBACK), [])]
    sort = sort if sort in [key for _, key in sort_choices(detail.spec)] else "id"
    return [
        class_chart(detail, metrics or [], search=search or "", sort=sort, descending=bool(desc)),
        frame(
            unit_columns(detail),
            class_rows(detail, search=search or "", sort=sort, descending=bool(desc)),
        ),
    ]


def result_confusion(
    data: Snapshot, model: str, dataset: str, split: str, variant: str, classes: list[str]
) -> Any:
    """The confusion matrix of the picked classes."""
    detail = _detail(data, model, dataset, split, variant)
    return None if detail is None else confusion_figure(detail, classes or [])


def result_errors(
    data: Snapshot, model: str, dataset: str, split: str, variant: str, pair: str, conf: float
) -> list[Any]:
    """The misclassifications of one confusion pair, above a confidence."""
    detail = _detail(data, model, dataset, split, variant)
    if detail is None:
        return [[], empty("Pick a model and a dataset first.")]
    gallery, errors = errors_view(detail, pair=pair or "", min_conf=float(conf or 0.0))
    return [gallery, errors]


def layout(site: Site) -> PageParts:
    with gr.Row():
        r_model = gr.Textbox(label="Model", elem_id="result-model")
        r_dataset = gr.Textbox(label="Dataset", elem_id="result-dataset")
        r_split = gr.Textbox(label="Split (empty: any)", elem_id="result-split")
        r_variant = gr.Textbox(label="Variant", value="original", elem_id="result-variant")
        r_show = gr.Button("Show", elem_id="result-show")
    r_header = gr.HTML(elem_id="result-header")
    with gr.Column() as r_units_box:  # hidden for a detector: its own table replaces it
        r_unit = gr.Markdown("### Per class", elem_id="result-unit")
        with gr.Row():
            r_metrics = gr.CheckboxGroup(
                metric_choices(tasks.FALLBACK),
                value=list(tasks.FALLBACK.class_columns),
                label="Metrics",
                elem_id="result-metrics",
            )
            r_filter = gr.Textbox(label="Class contains", elem_id="result-filter")
            r_sort = dropdown(
                "Sort by", "result-sort", choices=sort_choices(tasks.FALLBACK), value="id"
            )
            r_desc = gr.Checkbox(label="Descending", elem_id="result-desc")
        r_chart = gr.Plot(elem_id="result-chart", show_label=False)
        r_table = gr.Dataframe(interactive=False, elem_id="result-table", wrap=True)
    r_groups = gr.HTML(elem_id="result-groups")
    with gr.Column(visible=False) as r_detection_box:  # an object detector's result only
        gr.Markdown("### Per class")
        d_sort = gr.Radio(DETECTION_SORTS, value="ap", label="Sort by", elem_id="result-det-sort")
        d_classes = gr.HTML(elem_id="result-det-classes")
        gr.Markdown("### Detection errors (false positives and missed objects at IoU 0.5)")
        with gr.Row():
            d_kind = dropdown("Kind", "result-det-kind", choices=any_choices([]), value="")
            d_label = dropdown("Class", "result-det-label", choices=any_choices([]), value="")
            d_conf = gr.Slider(
                0, 1, value=0, step=0.05, label="Minimum confidence", elem_id="result-det-conf"
            )
        with gr.Row():
            d_prev = gr.Button("← previous", elem_id="result-det-prev")
            d_page = gr.Number(value=1, precision=0, label="Page", elem_id="result-det-page")
            d_next = gr.Button("next →", elem_id="result-det-next")
        d_gallery = gr.HTML(elem_id="result-det-gallery")
    with gr.Column() as r_confusion_box:  # shown where the result has one
        gr.Markdown("### Confusion matrix (opens on the most confused classes)")
        r_classes = dropdown("Classes", "result-classes", multiselect=True)
        r_confusion = gr.Plot(elem_id="result-confusion", show_label=False)
    with gr.Column() as r_errors_box:
        gr.Markdown("### Misclassifications (most confident errors first)")
        with gr.Row():
            r_pair = dropdown("True → predicted", "result-pair", value="")
            r_conf = gr.Slider(
                0, 1, value=0, step=0.05, label="Minimum confidence", elem_id="result-conf"
            )
        r_gallery = gr.Gallery(
            label="Misclassified images", elem_id="result-gallery", columns=8, height="auto"
        )
        r_errors = gr.HTML(elem_id="result-errors")
    with gr.Column() as r_calibration_box:
        gr.Markdown("### Calibration")
        r_calibration = gr.Plot(elem_id="result-calibration", show_label=False)
    r_link = gr.Markdown(elem_id="result-link")

    shown = [r_model, r_dataset, r_split, r_variant]  # which result the controls redraw
    for trigger in (r_metrics.input, r_filter.submit, r_sort.input, r_desc.input):
        trigger(
            on_current(site, result_classes),
            inputs=[*shown, r_metrics, r_filter, r_sort, r_desc],
            outputs=[r_chart, r_table],
        )
    r_classes.input(
        on_current(site, result_confusion), inputs=[*shown, r_classes], outputs=[r_confusion]
    )
    for trigger in (r_pair.input, r_conf.release):
        trigger(
            on_current(site, result_errors),
            inputs=[*shown, r_pair, r_conf],
            outputs=[r_gallery, r_errors],
        )
    return PageParts(
        inputs=[*shown, d_sort, d_kind, d_label, d_conf, d_page],
        keys=[
            "model",
            "dataset",
            "split",
            "variant",
            "det_sort",
            "kind",
            "label",
            "min_conf",
            "page",
        ],
        outputs=[
            r_header,
            r_units_box,
            r_groups,
            r_detection_box,
            d_classes,
            d_sort,
            d_gallery,
            d_kind,
            d_label,
            d_page,
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
        callback=r_result,
        renders=[r_show.click, d_sort.input],
        first_page=[d_kind.input, d_label.input, d_conf.release],
        steps=[(d_prev.click, -1), (d_next.click, 1)],
    )


PAGE = Page("result", "Result", layout, result_view)
