"""The evalbot Space: an explorer of the published results (thesis chapter 6), in Gradio.

Runs on its own (``python -m space``, ``evalbot space``) and as a Hugging Face Space (an
``app.py`` at the Space repo's root calls :func:`main`). It reads the bot's public results
dataset (Parquet tables, ``store.tables``) from a dataset repo on the Hub or a local folder,
through ``space.data``, and checks for a newer version every few minutes; it never reads MongoDB
and never writes.

Every view is a URL (``?view=NAME&param=value``), so links can be shared and put in PRs; the
old form ``?model=org/name`` opens the model. Each page lives in its own module of
``space.pages``; this module lists them (:data:`PAGES`, in tab order) and composes them, and
``space.wiring`` connects their components to the URL and to their events.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # `python space/app.py`: make `space` and `store` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import gradio as gr

from space import queries as q
from space.data import DirectorySource, HubSource, ResultsData, Snapshot, Source
from space.errors import NoResultsSourceError, SpaceConfigError
from space.page import link
from space.pages import (
    audit,
    compare,
    coverage,
    dataset,
    find,
    label_errors,
    leaderboard,
    model,
    models,
    result,
    scatter,
    variants,
)
from space.pages.base import Page, PageParts
from space.wiring import wire

log = logging.getLogger("evalbot.space")

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
    f"[{label}]({link(view)})"
    for view, label in (
        ("models", "Models"),
        ("dataset", "Datasets"),
        ("scatter", "Scatterplot"),
        ("leaderboard", "Leaderboard"),
        ("find", "Find a model"),
        ("audit", "Claims audit"),
    )
)


#: the pages, in the order of their tabs (the first is the home page)
PAGES: tuple[Page, ...] = (
    models.PAGE,
    model.PAGE,
    result.PAGE,
    variants.PAGE,
    compare.PAGE,
    dataset.PAGE,
    scatter.PAGE,
    leaderboard.PAGE,
    find.PAGE,
    audit.PAGE,
    coverage.PAGE,
    label_errors.PAGE,
)


class App:
    """The Blocks: a header, one tab per page of :data:`PAGES`, and their wiring."""

    def __init__(self, results: ResultsData, *, hub_url: str = HUB_URL) -> None:
        self.results = results  # read ``results.current`` once per callback
        self.hub_url = hub_url

    def build(self) -> gr.Blocks:
        with gr.Blocks(title=TITLE) as app:
            gr.Markdown(
                "# evalbot results\nModels evaluated by evalbot on the datasets they were "
                "trained on and on perturbed variants, per class. " + NAV
            )
            parts: dict[str, PageParts] = {}
            with gr.Tabs(selected=PAGES[0].id, elem_id="views") as tabs:
                for page in PAGES:
                    with gr.Tab(page.title, id=page.id, elem_id=f"tab-{page.id}"):
                        parts[page.id] = page.layout(self)
            wire(app, tabs, self, parts)
        return app


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
            leaderboard.leaderboard_view(data, {"dataset": d.dataset_id})
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
