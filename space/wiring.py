"""How the pages' components meet the URL and the events that render a page again.

On page load the URL (``?view=NAME&param=value``) picks the tab, fills that page's inputs and
renders that page only; afterwards a page's buttons and pickers render it from its inputs,
read back into the same URL parameters. Every render reads the snapshot being served when it
starts, and a snapshot whose files cannot be read makes the page say so instead of failing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import gradio as gr

from space import queries as q
from space.data import Snapshot
from space.page import empty
from space.pages.base import Callback, PageParts, Site

log = logging.getLogger("evalbot.space")

UNAVAILABLE = empty("The results dataset cannot be read right now. Please try again in a minute.")


def datasets(data: Snapshot) -> list[tuple[str, str]]:
    """Every dataset as a picker's ``(label, id)`` choices."""
    return [(f"{d.name} ({d.dataset_id})", d.dataset_id) for d in q.list_datasets(data)]


class ParamsFn:
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


def safe(callback: Callback, n: int) -> Callback:
    """A page whose data cannot be read reads as a sentence (in its first output), not a trace."""

    def run(data: Snapshot, p: dict[str, str]) -> list[Any]:
        try:
            return callback(data, p)
        except q.DataError as exc:
            log.warning("a view could not read the results dataset: %s", exc)
            return [UNAVAILABLE, *[gr.skip()] * (n - 1)]

    return run


def input_update(comp: Any, value: str | None, **extra: Any) -> Any:
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


def call(site: Site, to_params: ParamsFn, callback: Callback) -> Callable[..., list[Any]]:
    """An event handler: component values -> URL params -> the page's updates, on the
    snapshot being served when the event comes."""

    def run(*values: Any) -> list[Any]:
        return callback(site.results.current, to_params(*values))

    return run


def first_page(site: Site, to_params: ParamsFn, callback: Callback) -> Callable[..., list[Any]]:
    """An event handler that renders the page's first page (a filter changed)."""

    def run(*values: Any) -> list[Any]:
        p = to_params(*values)
        p["page"] = "1"
        return callback(site.results.current, p)

    return run


def step_page(
    site: Site, to_params: ParamsFn, callback: Callback, step: int
) -> Callable[..., list[Any]]:
    """An event handler that renders the page ``step`` pages on (back when negative)."""

    def run(*values: Any) -> list[Any]:
        p = to_params(*values)
        p["page"] = str(max(1, int(float(p.get("page") or 1)) + step))
        return callback(site.results.current, p)

    return run


def wire(app: gr.Blocks, tabs: gr.Tabs, site: Site, pages: dict[str, PageParts]) -> None:
    """Connect the pages (in tab order, the first one the home page) to the URL on page load
    and to their own events."""
    callbacks = {name: safe(parts.callback, len(parts.outputs)) for name, parts in pages.items()}
    to_params = {name: ParamsFn(parts.keys) for name, parts in pages.items()}
    _on_load(app, tabs, site, pages, callbacks)
    for name, parts in pages.items():
        for trigger in parts.renders:
            trigger(
                call(site, to_params[name], callbacks[name]),
                inputs=parts.inputs,
                outputs=parts.outputs,
            )
        for trigger in parts.first_page:
            trigger(
                first_page(site, to_params[name], callbacks[name]),
                inputs=parts.inputs,
                outputs=parts.outputs,
            )
        for trigger, step in parts.steps:
            trigger(
                step_page(site, to_params[name], callbacks[name], step),
                inputs=parts.inputs,
                outputs=parts.outputs,
            )


def _on_load(
    app: gr.Blocks,
    tabs: gr.Tabs,
    site: Site,
    pages: dict[str, PageParts],
    callbacks: dict[str, Callback],
) -> None:
    """On page load the URL picks the tab, fills its inputs and renders that view only."""
    order = list(pages)
    home = order[0]
    dataset_pickers = {id(p.dataset_picker) for p in pages.values() if p.dataset_picker is not None}
    per_dataset = {
        id(picker): kind
        for p in pages.values()
        for picker, kind in ((p.class_picker, "class"), (p.variant_picker, "variant"))
        if picker is not None
    }
    n_updates = 1 + sum(len(p.inputs) + len(p.outputs) for p in pages.values())

    def on_load(request: gr.Request) -> list[Any]:
        try:
            return load(request, site.results.current)
        except q.DataError:
            first_output = 1 + sum(len(p.inputs) for p in pages.values())  # the home page's
            out: list[Any] = [gr.skip()] * n_updates
            out[0], out[first_output] = gr.Tabs(selected=home), UNAVAILABLE
            return out

    def load(request: gr.Request, data: Snapshot) -> list[Any]:
        params = {k: str(val) for k, val in dict(request.query_params).items()}
        view = params.get("view") or ("model" if params.get("model") else home)
        view = view if view in pages else home
        choices = datasets(data)
        dataset = params.get("dataset", "")
        updates: list[Any] = [gr.Tabs(selected=view)]
        for name in order:
            for comp, key in zip(pages[name].inputs, pages[name].keys, strict=True):
                value = params.get(key) if name == view else None
                extra: dict[str, Any] = {}
                if id(comp) in dataset_pickers:
                    extra["choices"] = choices
                elif id(comp) in per_dataset and name == view and dataset:
                    extra["choices"] = (
                        q.unit_names(data, dataset)
                        if per_dataset[id(comp)] == "class"
                        else q.dataset_variants(data, dataset) or [q.ORIGINAL]
                    )
                updates.append(input_update(comp, value, **extra))
        for name in order:
            if name == view:
                updates.extend(callbacks[name](data, params))
            else:
                updates.extend([gr.skip()] * len(pages[name].outputs))
        return updates

    all_inputs = [c for name in order for c in pages[name].inputs]
    all_outputs = [c for name in order for c in pages[name].outputs]
    app.load(on_load, outputs=[tabs, *all_inputs, *all_outputs])
