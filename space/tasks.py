"""What the Space shows of each task type's results, read from the metric catalogue.

The Space keeps no list of metric names: a page asks :func:`spec` for the catalogue entry
(``store.catalogue``) of the task of the result or dataset it shows, and takes from it the
metrics it names (the headline and the second card metric, the summary, the per-unit columns),
their labels, and what results are disaggregated by (classes, entity types, groups). A result of
a task this version of the Space does not know is shown as a classification result.

Example:
    >>> spec("question-answering").headline.key
    'exact_match'
    >>> unit_columns(spec("token-classification"))[:5]
    ['id', 'entity type', 'precision', 'recall', 'F1']
    >>> overall_key(spec("text-classification"), "f1")
    'macro_f1'
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from store import catalogue
from store.catalogue import Metric, TaskSpec

#: the catalogue entry shown for a result whose task is missing or unknown
FALLBACK = catalogue.TEXT_CLASSIFICATION
#: ``ClassResult`` fields a per-unit metric may be stored in (else it is in ``metrics``)
_CLASS_FIELDS = ("precision", "recall", "f1", "tp", "fp", "fn", "support")
#: the counts after each per-unit table's metric columns
COUNT_COLUMNS = ("TP", "FP", "FN")


def spec(task: str | None, metrics: Mapping[str, object] | None = None) -> TaskSpec:
    """The catalogue entry of ``task`` (:data:`FALLBACK` when missing or unknown, unless
    ``metrics`` hold another task's headline metric: that task's); given one result's
    ``metrics``, the entry of that result's scoring scheme (:func:`store.catalogue.of`:
    token classification's word tags beside its entities)."""
    found = catalogue.find(task or "")
    if found is None and metrics:  # a result published without its task: its metrics tell
        found = next((s for s in catalogue.tasks() if s.headline.key in metrics), None)
    if found is None:
        return FALLBACK
    return catalogue.of(found.name, metrics) if metrics else found


def has_schemes(task: str | None) -> bool:
    """Whether ``task`` scores results in more than one way (:func:`store.catalogue.of`)."""
    return catalogue.find(task or "") is not None and len(catalogue.schemes(task or "")) > 1


def result_keys(s: TaskSpec) -> tuple[str, ...]:
    """The whole-result metrics a page offers for ``s``: its card metrics, then the rest of its
    summary, in the catalogue's order."""
    return tuple(dict.fromkeys((*s.card, *s.summary)))


def class_keys(s: TaskSpec) -> tuple[str, ...]:
    """The per-unit metrics a page offers for ``s`` (its per-unit table's metric columns)."""
    return s.class_columns


def all_result_keys() -> tuple[str, ...]:
    """Every registered task's :func:`result_keys`, each once (columns of derived tables)."""
    return tuple(dict.fromkeys(k for s in catalogue.tasks() for k in result_keys(s)))


def all_class_keys() -> tuple[str, ...]:
    """Every registered task's per-unit metric keys, each once."""
    return tuple(dict.fromkeys(k for s in catalogue.tasks() for k in class_keys(s)))


def has_metric(s: TaskSpec, key: str) -> bool:
    """Whether ``s`` stores a metric ``key`` (e.g. ``ece``: only where confidences are kept)."""
    return any(m.key == key for m in s.metrics)


def plural(s: TaskSpec) -> str:
    """The unit in the plural: classes, entity types, groups."""
    return s.unit + ("es" if s.unit.endswith("s") else "s")


def title(text: str) -> str:
    """``text`` with its first letter upper case (a label at the start of a sentence)."""
    return text[:1].upper() + text[1:]


def default_class_key(s: TaskSpec, preferred: str = "f1") -> str:
    """The per-unit metric a page opens on: ``preferred`` where the task has it, else its
    first per-unit column."""
    return preferred if preferred in s.class_columns else s.class_columns[0]


def class_metric(s: TaskSpec, key: str) -> Metric:
    """The per-unit metric ``key`` of ``s``."""
    (found,) = [m for m in s.class_metrics() if m.key == key]
    return found


def balance_key(s: TaskSpec) -> str:
    """The per-unit metric whose worst value and spread sum up how even a model is."""
    return default_class_key(s)


def overall_key(s: TaskSpec, key: str) -> str | None:
    """The whole-result metric that sums up the per-unit metric ``key`` over all units (macro
    F1 for a class's F1, entity F1 for a type's F1, AP for a class's AP), if the task has one:
    the card metric of the same model-index type, else the result metric of the same key."""
    per_unit = class_metric(s, key)
    by_type = {m.hub_type: m.key for m in s.card_metrics() if m.hub_type}
    found = by_type.get(per_unit.hub_type or per_unit.key)
    if found is not None:
        return found
    return key if key in result_keys(s) else None


def unit_columns(s: TaskSpec) -> list[str]:
    """The per-unit table's headers: id, the unit, its metrics, its support, TP, FP, FN (where
    the task's units hold counts)."""
    counts = COUNT_COLUMNS if s.counts else ()
    return ["id", s.unit, *(m.short for m in s.class_metrics()), s.support, *counts]


def class_sql(key: str) -> str:
    """A SQL expression of ``class_results`` for the per-unit metric ``key``, as
    :meth:`store.catalogue.Metric.class_value` reads it: the value under ``key`` in the row's
    ``metrics`` JSON where it is there, else the column of that name. ``key`` must be a
    catalogue key (it is written into the SQL)."""
    if not key.replace("_", "").isalnum():
        raise ValueError(f"not a metric key: {key!r}")
    path = f"'$.\"{key}\"'"
    from_json = f"TRY_CAST(json_extract(metrics, {path}) AS DOUBLE)"
    if key not in _CLASS_FIELDS:
        return from_json
    return f'CASE WHEN json_exists(metrics, {path}) THEN {from_json} ELSE "{key}" END'


def labels(metrics: Sequence[Metric]) -> list[str]:
    """The table headers of ``metrics``."""
    return [m.short for m in metrics]
