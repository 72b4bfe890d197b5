"""The Model page (``?view=model&model=ORG/NAME``, and the PRs' ``?model=ORG/NAME``): one model,
the results of its evaluated revision, and what its card claims against what was measured."""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from typing import Any

import gradio as gr

from space import queries as q
from space.data import Snapshot
from space.page import (
    HUB_URL,
    Params,
    a,
    ci,
    ci_header,
    empty,
    esc,
    fmt,
    has_ece,
    link,
    pr_url,
    table,
)
from space.pages.base import Page, PageParts, Site, link_md


def _size(n: float) -> str:
    for unit in ("B", "kB", "MB", "GB"):
        if n < 1000:
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} TB"


def model_view(data: Snapshot, p: Params, *, hub_url: str = HUB_URL) -> str:
    """``?view=model&model=ORG/NAME`` (or the PRs' ``?model=ORG/NAME``): one model, the results
    of its evaluated revision, and whether its author declined evalbot's PRs."""
    repo_id = p.get("model", "").strip()
    if not repo_id:
        return empty("Pick a model: search for it in the Models view, or type its name above.")
    detail = q.model_detail(data, repo_id)
    if detail is None:
        return empty(f"No model named {repo_id} has been seen by evalbot yet.")
    m = detail.model
    revision = f"revision <code>{esc(m.sha[:8])}</code>"
    if m.evaluated_sha != m.sha:
        revision += f" (same files as the evaluated <code>{esc(m.evaluated_sha[:8])}</code>)"
    parts = [
        f'<h2 id="model-name">{esc(m.repo_id)}</h2>',
        f"<p>{a(f'{hub_url}/{m.repo_id}', 'View on the Hub')} · {revision} · "
        f"task {a(link('models', task=m.pipeline_tag or ''), m.pipeline_tag or 'unknown')} · "
        f"origin {a(link('models', origin=m.origin), m.origin)} · status <b>{esc(m.status.value)}</b></p>",
    ]
    if detail.declined is not None:
        parts.append(_declined(detail.declined, m.repo_id, hub_url))
    if m.failure_reason:
        parts.append(
            f'<p class="evalbot-failure"><b>Not evaluated: {esc(m.failure_reason.value)}.</b> '
            f"{esc(m.failure_detail or '')}</p>"
        )
    if m.tags:
        parts.append("<p>Tags: " + " ".join(f"<code>{esc(t)}</code>" for t in m.tags) + "</p>")
    trained = ", ".join(a(link("models", trained=d), d) for d in m.datasets) or "not stated"
    parts.append(f"<p>Trained on: {trained}</p>")
    if m.num_parameters:
        parts.append(f"<p>Parameters: {m.num_parameters:,}</p>")
    if m.file_sizes:
        parts.append(
            "<h3>Files</h3>"
            + table(
                ["file", "size"],
                [[esc(k), _size(v)] for k, v in sorted(m.file_sizes.items())],
                elem_id="model-files",
            )
        )
    ref = detail.reference
    if ref:
        title = ref.title or ref.key
        url = ref.url or (f"https://arxiv.org/abs/{ref.arxiv}" if ref.arxiv else "")
        who = f"{ref.authors} ({ref.year}). " if ref.authors else ""
        parts.append(f"<p>Reference: {esc(who)}{a(url, title) if url else esc(title)}</p>")
    parts.append("<h3>Evaluation summary</h3>")
    if not detail.results:
        parts.append(empty("evalbot holds no results for this model's current revision."))
    else:
        by_task: dict[str, list[q.ResultSummary]] = {}
        for s in detail.results:
            by_task.setdefault(s.spec.name, []).append(s)
        for n, results in enumerate(by_task.values()):
            if len(by_task) > 1:
                parts.append(f"<h4>{esc(results[0].spec.name)}</h4>")
            suffix = f"-{n + 1}" if n else ""
            parts.append(_model_results(m.repo_id, results, elem_id=f"model-results{suffix}"))
    if m.hyperparameters:
        parts.append(
            "<h3>Hyperparameters (config.json)</h3>"
            + table(
                ["parameter", "value"],
                [[esc(k), f"<code>{esc(v)}</code>"] for k, v in sorted(m.hyperparameters.items())],
                elem_id="model-hyperparameters",
            )
        )
    parts.append("<h3>Self-reported vs measured</h3>")
    if not detail.claims:
        parts.append(empty("The model card reports no values for the datasets evalbot measured."))
    else:
        parts.append(
            table(
                ["dataset", "split", "metric", "claimed", "measured [95% CI]", "verdict"],
                [claim_row(c) for c in detail.claims],
                elem_id="model-claims",
            )
        )
    return "\n".join(parts)


def _model_results(repo_id: str, results: Sequence[q.ResultSummary], *, elem_id: str) -> str:
    """One task's results of a model: its headline and second metric, ECE where the task keeps
    confidences, runtime and links."""
    spec = results[0].spec
    ece = has_ece(spec)
    rows = []
    for s in results:
        rows.append(
            [
                a(link("dataset", dataset=s.dataset_id), s.dataset_name),
                esc(s.split),
                esc(s.variant),
                ci(s, spec.headline.key),
                ci(s, spec.second.key),
                *([fmt(s.ece)] if ece else []),
                f"{fmt(s.total_s, 2)} s · {fmt(s.instances_per_s, 1)} ex/s",
                a(
                    link(
                        "result",
                        model=repo_id,
                        dataset=s.dataset_id,
                        split=s.split,
                        variant=s.variant,
                    ),
                    "results",
                )
                + " · "
                + a(
                    link("variants", model=repo_id, dataset=s.dataset_id, split=s.split),
                    "variants",
                )
                + " · "
                + a(link("compare", dataset=s.dataset_id, models=repo_id), "compare"),
            ]
        )
    headers = [
        "dataset",
        "split",
        "variant",
        ci_header(spec, spec.headline.key),
        ci_header(spec, spec.second.key),
        *(["ECE"] if ece else []),
        "runtime",
        "",
    ]
    return table(headers, rows, elem_id=elem_id)


def _declined(d: q.Declined, repo_id: str, hub_url: str) -> str:
    closed = (
        "closed" + (f" by {esc(d.by)}" if d.by else "") + (f" on {d.at:%Y-%m-%d}" if d.at else "")
    )
    return (
        '<p class="evalbot-declined" id="model-declined">The author declined evalbot\'s pull '
        f"requests ({a(pr_url(hub_url, repo_id, d.num), f'PR #{d.num}')} {closed}): "
        "results are shown here, no further PRs are opened.</p>"
    )


def claim_row(c: Any) -> list[str]:
    """A card's claim as table cells: dataset, split, metric, the claimed value, the measured
    one with its interval, and the verdict (also the Claims audit's rows)."""
    ci = f" [{c.low:.3f}, {c.high:.3f}]" if c.low is not None and c.high is not None else ""
    cls = "agrees" if c.agrees else "differs"
    return [
        esc(c.dataset_id),
        esc(c.split),
        esc(c.metric),
        f"{c.claimed:.3f}",
        f"{c.measured:.3f}{ci}",
        f'<span class="claim-{cls}">{esc(c.verdict)}</span>',
    ]


def r_model(data: Snapshot, p: dict[str, str], *, hub_url: str = HUB_URL) -> list[Any]:
    return [model_view(data, p, hub_url=hub_url), link_md("model", model=p.get("model", ""))]


def layout(site: Site) -> PageParts:
    with gr.Row():
        mo_name = gr.Textbox(label="Model (org/name)", elem_id="model-input")
        mo_show = gr.Button("Show", elem_id="model-show")
    mo_html = gr.HTML(elem_id="model-html")
    mo_link = gr.Markdown(elem_id="model-link")
    return PageParts(
        inputs=[mo_name],
        keys=["model"],
        outputs=[mo_html, mo_link],
        callback=partial(r_model, hub_url=site.hub_url),
        renders=[mo_show.click, mo_name.submit],
    )


PAGE = Page("model", "Model", layout, model_view)
