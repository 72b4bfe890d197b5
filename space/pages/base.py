"""What a page is to the app that composes it, and the Gradio pieces the pages share.

A page module ends with ``PAGE = Page(id, title, layout, render)``. ``space.app`` opens a tab
titled ``title`` (``id`` is the tab's id and the ``?view=`` name) and calls ``layout`` inside
it; ``layout`` builds the tab's components, wires the interactions that stay on the page (a
sort order, a filter of the shown rows) and returns a :class:`PageParts`, which
``space.wiring`` connects to the URL and to the events that render the page again.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

import gradio as gr
import pandas as pd

from space import queries as q
from space.data import ResultsData, Snapshot
from space.page import Params, link

#: a page's callback: the snapshot and the URL params -> one update per output component
Callback = Callable[[Snapshot, dict[str, str]], list[Any]]
#: an event of a component, e.g. ``button.click`` or ``textbox.submit``
Trigger = Callable[..., Any]


class Site(Protocol):
    """What a page's layout reads from the app serving it."""

    results: ResultsData  # read ``results.current`` once per callback
    hub_url: str


@dataclass
class PageParts:
    """A page's tab as the app wires it.

    ``inputs`` are set from the URL's parameters ``keys`` (one key per input, in order) when
    the page opens and read back into parameters by every render; ``callback`` turns the
    parameters into one update per component of ``outputs``. ``renders`` render the page from
    its inputs as they are, ``first_page`` from its first page (a changed filter), ``steps``
    move its ``page`` parameter by a step. On load ``dataset_picker`` is offered every
    dataset, and ``class_picker`` and ``variant_picker`` the classes and variants of the URL's
    dataset.
    """

    inputs: list[Any]
    keys: list[str]
    outputs: list[Any]
    callback: Callback
    renders: list[Trigger] = field(default_factory=list)
    first_page: list[Trigger] = field(default_factory=list)
    steps: list[tuple[Trigger, int]] = field(default_factory=list)
    dataset_picker: Any = None
    class_picker: Any = None
    variant_picker: Any = None


@dataclass(frozen=True)
class Page:
    """One page: its ``?view=`` name and tab id, its tab's title, the layout of its tab and
    its view (URL parameters -> what the page shows, without Gradio)."""

    id: str
    title: str
    layout: Callable[[Site], PageParts]
    render: Callable[[Snapshot, Params], Any]


def frame(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> Any:
    """A Dataframe update; a column of markdown links (``[model](?view=...)``) renders as links."""
    table = pd.DataFrame([list(r) for r in rows], columns=list(headers))
    first = list(rows[0]) if rows else []
    kinds: list[Literal["str", "markdown"]] = [
        "markdown"
        if isinstance(cell, str) and cell.startswith("[") and "](?view=" in cell
        else "str"
        for cell in first
    ]
    return gr.Dataframe(value=table, datatype=kinds or "str")


def link_md(view: str, **params: object) -> str:
    """The page's shareable address, as a line of markdown under it."""
    url = link(view, **params)
    return f"Link to this view: [`{url}`]({url})"


def url_params(p: dict[str, str]) -> dict[str, str]:
    """The page's parameters without ``view`` (its link names the view itself)."""
    return {k: val for k, val in p.items() if k != "view"}


def dropdown(label: str, elem_id: str, *, multiselect: bool = False, **kw: Any) -> gr.Dropdown:
    """A dropdown that also takes a typed value (a URL may name what is not listed yet)."""
    return gr.Dropdown(
        label=label,
        elem_id=elem_id,
        allow_custom_value=True,
        multiselect=multiselect,
        choices=kw.pop("choices", []),
        **kw,
    )


def any_choices(values: Sequence[str]) -> list[tuple[str, str]]:
    """A filter's choices: "Any" (no filter), then ``values``."""
    return [("Any", ""), *[(x, x) for x in values]]


def on_current(site: Site, fn: Callable[..., Any]) -> Callable[..., Any]:
    """An in-page event handler: ``fn`` with the snapshot being served when the event comes,
    then the components' values."""

    def run(*values: Any) -> Any:
        return fn(site.results.current, *values)

    run.__name__ = fn.__name__  # the event's name in the app's API
    return run


def classes_and_variants(data: Snapshot, dataset: str) -> tuple[Any, Any]:
    """The class and variant pickers' choices for a newly picked dataset."""
    labels = q.unit_names(data, dataset) if dataset else []
    variants = q.dataset_variants(data, dataset) if dataset else []
    return gr.update(choices=labels), gr.update(choices=variants or [q.ORIGINAL])
