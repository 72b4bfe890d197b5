"""Read-only queries behind the Space's views. Inputs from the page are used as values only."""

from __future__ import annotations

from dataclasses import dataclass

from store.db import Store
from store.types import EvaluationRecord


def _fmt(value: float | None, digits: int = 3) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


@dataclass(frozen=True)
class ModelRow:
    repo_id: str
    sha: str
    status: str
    failure: str
    datasets: str
    accuracy: str
    macro_f1: str


MODEL_COLUMNS = [
    "model",
    "revision",
    "status",
    "failure reason",
    "evaluated on",
    "accuracy",
    "macro F1",
]
CLASS_COLUMNS = ["class", "precision", "recall", "F1", "support", "TP", "FP", "FN"]


def models_table(store: Store, search: str = "") -> list[list[str]]:
    """One row per model, newest results first; ``search`` filters by name (plain substring)."""
    rows = []
    needle = search.strip().casefold()
    for model in store.list_models():
        if needle and needle not in model.repo_id.casefold():
            continue
        results = [
            r for r in store.results_for(model.repo_id, model.sha) if r.variant == "original"
        ]
        first = results[0] if results else None
        rows.append(
            [
                model.repo_id,
                model.sha[:8],
                model.status.value,
                (
                    f"{model.failure_reason.value}: {model.failure_detail}"
                    if model.failure_reason
                    else ""
                ),
                ", ".join(sorted({f"{r.dataset_id} ({r.split})" for r in results})),
                _fmt(first.metrics.get("accuracy")) if first else "",
                _fmt(first.metrics.get("macro_f1")) if first else "",
            ]
        )
    return rows


def model_results(store: Store, repo_id: str) -> list[EvaluationRecord]:
    model = store.get_model(repo_id)
    if model is None:
        return []
    return store.results_for(repo_id, model.sha)


def result_label(record: EvaluationRecord) -> str:
    return f"{record.dataset_id} · {record.split} · {record.variant}"


def class_table(record: EvaluationRecord) -> list[list[str]]:
    return [
        [
            c.label,
            _fmt(c.precision),
            _fmt(c.recall),
            _fmt(c.f1),
            str(c.support),
            str(c.tp),
            str(c.fp),
            str(c.fn),
        ]
        for c in record.classes
    ]


def model_summary(store: Store, repo_id: str, *, hub_url: str) -> str:
    """A markdown summary of one model: link, revision, status or failure, headline metrics."""
    model = store.get_model(repo_id)
    if model is None:
        return f"No model named `{repo_id}` has been seen by evalbot yet."
    lines = [
        f"### [{model.repo_id}]({hub_url}/{model.repo_id})",
        f"Revision `{model.sha[:8]}` · status **{model.status.value}**",
    ]
    if model.failure_reason:
        lines.append(
            f"\n**Not evaluated: {model.failure_reason.value}.** {model.failure_detail or ''}"
        )
    for r in model_results(store, repo_id):
        m = r.metrics
        lines.append(
            f"\n- **{result_label(r)}** ({r.num_examples} examples, dataset revision `{r.dataset_revision[:8]}`): "
            f"accuracy {_fmt(m.get('accuracy'))}, macro F1 {_fmt(m.get('macro_f1'))}, "
            f"{r.runtime.instances_per_s:.1f} examples/s on {r.runtime.device}"
        )
    return "\n".join(lines)
