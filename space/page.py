"""What every page of the Space shares: links, HTML tables, page parameters read safely, and
metric values and pickers named by the catalogue entry of a result's or dataset's task.

Cells are HTML (text escaped with :func:`esc`); a page value is only ever read through these
parsers, so what a visitor sends reaches ``space.queries`` as a plain value.
"""

from __future__ import annotations

import html
import math
from collections.abc import Mapping, Sequence
from datetime import datetime
from urllib.parse import urlencode

from space import queries as q
from space import tasks
from space.data import Snapshot
from store.catalogue import TaskSpec

Params = Mapping[str, str]
HUB_URL = "https://huggingface.co"


def link(view: str, **params: object) -> str:
    """A relative URL of a view: the shareable address of what the page shows."""
    clean = {k: str(v) for k, v in params.items() if v not in (None, "", [], ())}
    return "?" + urlencode({"view": view, **clean})


def md_link(text: str, href: str) -> str:
    """A markdown link for a Dataframe cell (brackets and parentheses escaped)."""
    clean = "".join("\\" + ch if ch in "[]()\\" else ch for ch in text)
    return f"[{clean}]({href})"


def esc(value: object) -> str:
    return html.escape(str(value), quote=True)


def a(href: str, text: object, *, cls: str = "") -> str:
    klass = f' class="{cls}"' if cls else ""
    return f'<a href="{esc(href)}"{klass}>{esc(text)}</a>'


def fmt(value: float | None, digits: int = 3) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def table(headers: Sequence[str], rows: Sequence[Sequence[str]], *, elem_id: str = "") -> str:
    """An HTML table; cells are HTML already (escape text with :func:`esc`)."""
    ident = f' id="{esc(elem_id)}"' if elem_id else ""
    head = "".join(f"<th>{esc(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    return f'<table class="evalbot-table"{ident}><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def empty(sentence: str) -> str:
    return f'<p class="evalbot-empty">{esc(sentence)}</p>'


def int_param(value: object, default: int, lo: int, hi: int) -> int:
    """A page value as an integer in ``[lo, hi]`` (``default`` when it is not a number)."""
    try:
        number = int(str(value))
    except ValueError:
        return default
    return max(lo, min(hi, number))


def float_param(value: object, default: float) -> float:
    """A page value as a finite float (``default`` when it is not one)."""
    try:
        number = float(str(value))
    except ValueError:
        return default
    return number if math.isfinite(number) else default


def text_param(value: object) -> str:
    """A page value as a stripped string (anything else, e.g. a dict, reads as empty)."""
    return value.strip() if isinstance(value, str) else ""


def choice(value: object, allowed: Sequence[str], default: str) -> str:
    """A page value that must be one of ``allowed`` (``default`` otherwise)."""
    return value if isinstance(value, str) and value in allowed else default


def when(value: datetime | None) -> str:
    """A timestamp as a page shows it."""
    return f"{value:%Y-%m-%d %H:%M} UTC" if value else "an unknown time"


def pr_url(hub_url: str, repo_id: str, num: int) -> str:
    """The Hub page of a pull request (a discussion) of ``repo_id``."""
    return f"{hub_url}/{repo_id}/discussions/{num}"


def ci(s: q.ResultSummary, metric: str) -> str:
    """A result's value of ``metric``, with its 95% interval where it has one."""
    value = fmt(s.metrics.get(metric))
    if metric in s.intervals:
        lo, hi = s.intervals[metric]
        value += f" [{lo:.3f}, {hi:.3f}]"
    return value


def ci_header(spec: TaskSpec, key: str) -> str:
    """A metric's column header, with "[95% CI]" where the task bootstraps an interval."""
    short = spec.metric(key).short
    return f"{short} [95% CI]" if key in spec.intervals else short


def has_ece(spec: TaskSpec) -> bool:
    """Whether the task stores an expected calibration error (it keeps confidences)."""
    return tasks.has_metric(spec, "ece")


def metric_choices(spec: TaskSpec) -> list[tuple[str, str]]:
    """The per-unit metrics of a task as a picker's ``(label, key)`` choices."""
    return [(m.short, m.key) for m in spec.class_metrics()]


def dataset_spec(data: Snapshot, dataset: str) -> TaskSpec:
    """The catalogue entry of a dataset's task (classification's for no dataset)."""
    return q.dataset_task(data, dataset) if dataset.strip() else tasks.FALLBACK


def metric_picker(
    data: Snapshot, dataset: str, metric: object, *, preferred: str = "f1"
) -> tuple[list[tuple[str, str]], str]:
    """A per-unit metric picker for a dataset's task: its choices, and ``metric`` where the
    task has it, else the task's default (``preferred`` where it has that)."""
    spec = dataset_spec(data, dataset)
    default = tasks.default_class_key(spec, preferred)
    return metric_choices(spec), choice(metric, spec.class_columns, default)
