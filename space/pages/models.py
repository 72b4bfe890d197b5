"""The Models page (``?view=models``): browse, search, filter, sort and page the models."""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Any

import gradio as gr

from space import queries as q
from space.data import Snapshot
from space.page import HUB_URL, Params, a, choice, empty, esc, fmt, int_param, link, pr_url, table
from space.pages.base import Page, PageParts, Site, any_choices, dropdown, link_md, url_params

NOTHING_YET = (
    "evalbot has not published any results yet: they appear here after its first evaluations."
)


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


def r_models(data: Snapshot, p: dict[str, str], *, hub_url: str = HUB_URL) -> list[Any]:
    view = models_view(data, p, hub_url=hub_url)
    f = view.facets
    return [
        view.info,
        view.html,
        link_md("models", **url_params(p)),
        gr.update(choices=any_choices(f.origins)),
        gr.update(choices=any_choices(f.tasks)),
        gr.update(choices=any_choices(f.trained_on)),
        gr.update(choices=any_choices(f.evaluated_on)),
        gr.update(choices=any_choices(f.failures)),
        view.page,
    ]


def layout(site: Site) -> PageParts:
    with gr.Row():
        m_q = gr.Textbox(label="Name contains", elem_id="models-search")
        m_origin = dropdown("Origin", "models-origin", value="")
        m_task = dropdown("Task", "models-task", value="")
        m_trained = dropdown("Trained on", "models-trained", value="")
    with gr.Row():
        m_evaluated = dropdown("Evaluated on", "models-evaluated", value="")
        m_metrics = dropdown(
            "Metrics available",
            "models-metrics",
            choices=[("Any", ""), ("Yes", "yes"), ("No", "no")],
            value="",
        )
        m_failure = dropdown("Failure reason", "models-failure", value="")
        m_pr = dropdown(
            "Pull requests",
            "models-pr",
            choices=[("Any", ""), ("Declined by the author", "declined")],
            value="",
        )
        m_sort = dropdown("Sort by", "models-sort", choices=list(q.MODEL_SORTS), value="name")
        m_order = gr.Radio(["asc", "desc"], value="asc", label="Order", elem_id="models-order")
    with gr.Row():
        m_apply = gr.Button("Apply filters", elem_id="models-apply", variant="primary")
        m_prev = gr.Button("← previous", elem_id="models-prev")
        m_page = gr.Number(value=1, precision=0, label="Page", elem_id="models-page")
        m_next = gr.Button("next →", elem_id="models-next")
        m_per_page = gr.Number(value=25, precision=0, label="Per page", elem_id="models-per-page")
    m_info = gr.Markdown(elem_id="models-info")
    m_html = gr.HTML(elem_id="models-html")
    m_link = gr.Markdown(elem_id="models-link")
    return PageParts(
        inputs=[
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
        ],
        keys=[
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
        ],
        outputs=[
            m_info,
            m_html,
            m_link,
            m_origin,
            m_task,
            m_trained,
            m_evaluated,
            m_failure,
            m_page,
        ],
        callback=partial(r_models, hub_url=site.hub_url),
        first_page=[
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
        ],
        steps=[(m_prev.click, -1), (m_next.click, 1)],
    )


PAGE = Page("models", "Models", layout, models_view)
