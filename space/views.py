"""The Space's views as plain functions, in one place: URL parameters in, what a page shows out.

Each view takes a snapshot of the results dataset (``space.data.Snapshot``) and a dict of query
parameters (``?view=result&model=...``) and returns HTML or a dataclass of HTML, table rows and
plotly figures, with no Gradio involved; ``bench/space.py`` times them and the tests read them.
Each is defined by its page's module in ``space.pages``; :data:`VIEWS` maps every page of the
app (``space.app.PAGES``) to its view, so a new page is listed here without an edit.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from space.app import PAGES
from space.data import Snapshot
from space.page import Params, fmt, metric_picker
from space.pages.audit import audit_view
from space.pages.compare import compare_view
from space.pages.dataset import dataset_view
from space.pages.find import find_view
from space.pages.leaderboard import DIMENSIONS, leaderboard_view
from space.pages.model import model_view
from space.pages.models import models_filter, models_view
from space.pages.result import class_chart, class_rows, errors_view, load_result, result_view
from space.pages.scatter import axis_picker, scatter_view
from space.pages.variants import variants_view

__all__ = [
    "DIMENSIONS",
    "VIEWS",
    "audit_view",
    "axis_picker",
    "class_chart",
    "class_rows",
    "compare_view",
    "dataset_view",
    "errors_view",
    "find_view",
    "fmt",
    "leaderboard_view",
    "load_result",
    "metric_picker",
    "model_view",
    "models_filter",
    "models_view",
    "result_view",
    "scatter_view",
    "variants_view",
]

#: every page's view, by its ``?view=`` name
VIEWS: dict[str, Callable[[Snapshot, Params], Any]] = {page.id: page.render for page in PAGES}
