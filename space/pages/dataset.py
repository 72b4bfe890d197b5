"""The Dataset page (``?view=dataset&dataset=ID``; without ``dataset`` the list of datasets):
what the dataset is, its variants, splits and classes with examples, how many models were
evaluated on it, and whether it can currently be used for new evaluations."""

from __future__ import annotations

from typing import Any

import gradio as gr

from space import queries as q
from space import tasks
from space.data import Snapshot
from space.page import Params, a, empty, esc, link, table, when
from space.pages.base import Page, PageParts, Site, dropdown, link_md


def _data_uri(png: bytes) -> str:
    import base64

    return "data:image/png;base64," + base64.b64encode(png).decode()


def dataset_view(data: Snapshot, p: Params) -> str:
    """``?view=dataset&dataset=HUB_ID`` (no ``dataset``: the list of datasets): description,
    reference, variants and model counts, splits, classes with examples, and whether the
    dataset can currently be used for new evaluations."""
    dataset = p.get("dataset", "").strip()
    if not dataset:
        known = q.list_datasets(data)
        if not known:
            return empty("evalbot has not evaluated any dataset yet.")
        return "<h2>Datasets</h2>" + table(
            ["dataset", "name", "modality", "task"],
            [
                [
                    a(link("dataset", dataset=d.dataset_id), d.dataset_id),
                    esc(d.name),
                    esc(d.modality),
                    esc(d.task),
                ]
                for d in known
            ],
            elem_id="datasets-list",
        )
    d = q.dataset_detail(data, dataset)
    if d is None:
        return empty(f"evalbot knows no dataset named {dataset}.")
    parts = [
        f'<h2 id="dataset-name">{esc(d.name)} <small>({esc(d.dataset_id)})</small></h2>',
        f"<p>{esc(d.description or 'No description.')}</p>",
        "<p>"
        + " · ".join(
            x
            for x in (
                a(d.homepage, "Homepage") if d.homepage else "",
                a(link("models", trained=d.dataset_id), "Models trained on it"),
                a(link("scatter", dataset=d.dataset_id), "Scatterplot"),
                a(link("leaderboard", dataset=d.dataset_id), "Leaderboard"),
                a(link("find", dataset=d.dataset_id), "Find a model"),
                a(link("label-errors", dataset=d.dataset_id), "Label errors"),
            )
            if x
        )
        + "</p>",
    ]
    if d.problem is not None:
        parts.append(_problem(d.problem))
    if d.reference:
        r = d.reference
        url = r.url or (f"https://arxiv.org/abs/{r.arxiv}" if r.arxiv else "")
        who = f"{r.authors} ({r.year}). " if r.authors else ""
        parts.append(
            f"<p>Reference: {esc(who)}{a(url, r.title or r.key) if url else esc(r.title or r.key)}</p>"
        )
    compatible = ", ".join(a(link("dataset", dataset=c), c) for c in d.compatible) or "none"
    parts.append(f"<p>Compatible datasets: {compatible}</p>")
    parts.append(
        "<p>Supported variants: " + " ".join(f"<code>{esc(v)}</code>" for v in d.variants) + "</p>"
    )
    parts.append("<h3>Evaluated models per variant</h3>")
    parts.append(
        table(
            ["variant", "description", "models evaluated", "of which trained on this dataset"],
            [
                [
                    a(link("models", evaluated=d.dataset_id), v.variant)
                    if v.variant == q.ORIGINAL
                    else esc(v.variant),
                    esc(v.description),
                    str(v.models),
                    str(v.trained_on),
                ]
                for v in d.evaluated
            ],
            elem_id="dataset-variants",
        )
    )
    spec = d.spec
    units = dict(d.units)
    parts.append("<h3>Splits</h3>")
    if d.splits:
        parts.append(
            table(
                ["split", "revision", "examples", f"largest {tasks.plural(spec)}"],
                [
                    [
                        esc(s.split),
                        f"<code>{esc(s.revision[:8])}</code>",
                        str(s.num_examples),
                        esc(
                            ", ".join(
                                f"{units.get(i, i)}: {n}"
                                for i, n in sorted(enumerate(s.class_counts), key=lambda x: -x[1])[
                                    :5
                                ]
                            )
                        ),
                    ]
                    for s in d.splits
                ],
                elem_id="dataset-splits",
            )
        )
    else:
        parts.append(empty("No split statistics are stored for this dataset."))
    if spec.unit != "class" and d.labels:  # e.g. the IOB2 tags behind the entity types
        parts.append("<p>Labels: " + " ".join(f"<code>{esc(x)}</code>" for x in d.labels) + "</p>")
    parts.append(f"<h3>{esc(tasks.title(tasks.plural(spec)))} ({len(d.units)})</h3>")
    rows = []
    for cid, label in d.units[:100]:
        shown = []
        for e in d.examples.get(cid, []):
            if e.thumbnail_png:
                shown.append(
                    f'<img class="example-thumb" alt="{esc(label)}" src="{_data_uri(e.thumbnail_png)}">'
                )
            elif e.text:
                shown.append(f'<span class="example-text">“{esc(e.text[:160])}”</span>')
        rows.append([str(cid), esc(label), " ".join(shown) or "—"])
    parts.append(table(["id", spec.unit, "examples"], rows, elem_id="dataset-classes"))
    return "\n".join(parts)


def _problem(problem: q.ModuleProblem) -> str:
    waiting = (
        f" {problem.waiting} evaluation{'s' if problem.waiting != 1 else ''} wait for a fix."
        if problem.waiting
        else ""
    )
    return (
        '<p class="evalbot-failure" id="dataset-problem">This dataset cannot currently be used '
        f"for new evaluations (module <code>{esc(problem.module_id)}</code>, since "
        f"{when(problem.since)}): {esc(problem.error.rstrip('.'))}.{waiting} "
        "Stored results below stay valid.</p>"
    )


def r_dataset(data: Snapshot, p: dict[str, str]) -> list[Any]:
    return [dataset_view(data, p), link_md("dataset", dataset=p.get("dataset", ""))]


def layout(site: Site) -> PageParts:
    with gr.Row():
        d_dataset = dropdown("Dataset", "dataset-input", value="")
        d_show = gr.Button("Show", elem_id="dataset-show")
    d_html = gr.HTML(elem_id="dataset-html")
    d_link = gr.Markdown(elem_id="dataset-link")
    return PageParts(
        inputs=[d_dataset],
        keys=["dataset"],
        outputs=[d_html, d_link],
        callback=r_dataset,
        renders=[d_show.click, d_dataset.input],
        dataset_picker=d_dataset,
    )


PAGE = Page("dataset", "Dataset", layout, dataset_view)
