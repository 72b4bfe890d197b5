"""The Label errors page (``?view=label-errors&dataset=ID&split=&page=``): the examples of a
classification dataset's split whose given label most models evaluated on it contradict with
confidence (``label_issues``, confident learning over their stored predictions), most likely
first, with the example where it is stored and the split's rows as a CSV download."""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import gradio as gr

from space import queries as q
from space.data import Snapshot
from space.page import Params, a, empty, esc, fmt, int_param, link, table
from space.pages.base import Page, PageParts, Site, dropdown, link_md, url_params
from store import catalogue

#: the fewest models whose predictions judge an example: ``store.label_errors``' default, which
#: the bot publishes with (that module needs numpy's full stack, which the Space does not ship)
MIN_MODELS = 5
PER_PAGE = 25


@dataclass
class LabelErrorsView:
    html: str
    info: str = ""
    page: int = 1
    split: str = ""
    splits: list[str] = field(default_factory=list)


def csv_link(data: Snapshot, dataset: str, split: str) -> str:
    """A link downloading every listed issue of the split as CSV (a ``data:`` URI)."""
    body = q.label_issues_csv(data, dataset, split)
    name = f"label-errors-{dataset.replace('/', '_')}-{split}.csv"
    return (
        f'<a id="label-errors-csv" download="{esc(name)}" '
        f'href="data:text/csv;charset=utf-8,{esc(quote(body))}">Download all as CSV</a>'
    )


def _example(issue: q.LabelIssue) -> str:
    if issue.thumbnail_png:
        uri = "data:image/png;base64," + base64.b64encode(issue.thumbnail_png).decode()
        return f'<img class="example-thumb" alt="example {issue.example_id}" src="{uri}">'
    if issue.text:
        return f'<span class="example-text">“{esc(issue.text[:300])}”</span>'
    return '<span class="evalbot-empty">not stored</span>'


def _none_listed(dataset: str, split: str, evaluated: int) -> str:
    """Why a split lists no example: too few models, or none contradicted."""
    if evaluated < MIN_MODELS:
        return (
            f"No likely label errors are listed for {dataset} ({split}): they need at least "
            f"{MIN_MODELS} models evaluated on the split; {evaluated} "
            f"{'is' if evaluated == 1 else 'are'}."
        )
    return (
        f"No likely label errors are listed for {dataset} ({split}): no example's label is "
        f"contradicted with confidence by most of the {evaluated} models evaluated on it."
    )


def label_errors_view(data: Snapshot, p: Params) -> LabelErrorsView:
    """``?view=label-errors&dataset=HUB_ID``: how the split's issues were found and by how many
    models, then its likely label errors, most likely first (``split``, ``page``)."""
    dataset = p.get("dataset", "").strip()
    if not dataset:
        return LabelErrorsView(empty("Pick a dataset to see its likely label errors."))
    spec = q.dataset_task(data, dataset)
    found = q.label_issues(
        data,
        dataset,
        split=p.get("split", ""),
        page=int_param(p.get("page", "1"), 1, 1, 10**6),
        per_page=PER_PAGE,
    )
    if not found.splits:
        return LabelErrorsView(empty(f"evalbot holds no result on {dataset}."))
    if not found.total and spec.metrics != catalogue.CLASSIFICATION_METRICS:
        return LabelErrorsView(
            empty(
                f"Label errors are looked for in classification datasets only; {dataset} is "
                f"a {spec.name} dataset."
            ),
            split=found.split,
            splits=found.splits,
        )
    title = f"<h2>Likely label errors: {esc(dataset)} ({esc(found.split)})</h2>"
    links = f"<p>{a(link('dataset', dataset=dataset), 'About the dataset')}</p>"
    if not found.total:
        sentence = _none_listed(dataset, found.split, found.evaluations)
        return LabelErrorsView(
            f'{title}<p class="evalbot-empty" id="label-errors-method">{esc(sentence)}</p>{links}',
            split=found.split,
            splits=found.splits,
        )
    method = (
        f'<p id="label-errors-method">{esc(found.method)} Judged from the predictions of '
        f"{found.evaluated_models} models evaluated on the {esc(found.split)} split: "
        f"{found.total} examples listed.</p>"
    )
    rows = [
        [
            str(i.example_id),
            _example(i),
            esc(i.given),
            esc(i.suggested),
            f"{i.agree} of {i.models}",
            fmt(i.confidence),
            fmt(i.score),
        ]
        for i in found.rows
    ]
    body = table(
        ["example", "shown", "given label", "suggested label", "agree", "mean confidence", "score"],
        rows,
        elem_id="label-errors-table",
    )
    csv = f"<p>{csv_link(data, dataset, found.split)}</p>"
    return LabelErrorsView(
        "\n".join([title, method, body, csv, links]),
        info=f"Page {found.page} / {found.pages} · {found.total} examples",
        page=found.page,
        split=found.split,
        splits=found.splits,
    )


def r_label_errors(data: Snapshot, p: dict[str, str]) -> list[Any]:
    view = label_errors_view(data, p)
    return [
        view.html,
        view.info,
        view.page,
        gr.update(choices=view.splits, value=view.split),
        link_md("label-errors", **url_params(p)),
    ]


def layout(site: Site) -> PageParts:
    with gr.Row():
        l_dataset = dropdown("Dataset", "label-errors-dataset", value="")
        l_split = dropdown("Split", "label-errors-split", value="")
        l_show = gr.Button("Show", elem_id="label-errors-show")
    with gr.Row():
        l_prev = gr.Button("← previous", elem_id="label-errors-prev")
        l_page = gr.Number(value=1, precision=0, label="Page", elem_id="label-errors-page")
        l_next = gr.Button("next →", elem_id="label-errors-next")
    l_info = gr.Markdown(elem_id="label-errors-info")
    l_html = gr.HTML(elem_id="label-errors-html")
    l_link = gr.Markdown(elem_id="label-errors-link")
    return PageParts(
        inputs=[l_dataset, l_split, l_page],
        keys=["dataset", "split", "page"],
        outputs=[l_html, l_info, l_page, l_split, l_link],
        callback=r_label_errors,
        renders=[l_show.click],
        first_page=[l_dataset.input, l_split.input],
        steps=[(l_prev.click, -1), (l_next.click, 1)],
        dataset_picker=l_dataset,
    )


PAGE = Page("label-errors", "Label errors", layout, label_errors_view)
