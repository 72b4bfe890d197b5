"""The human-readable results section of a model card (pure Markdown rendering)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from urllib.parse import quote

from store import catalogue
from store.class_groups import group_results, weakest_group
from store.types import EvaluationRecord

from .inert import code
from .results import ORIGINAL, card_records, number, result_key

START = "<!-- evalbot:results:start -->"
END = "<!-- evalbot:results:end -->"
HEADING = "## Evaluation results (evalbot)"


def headline(record: EvaluationRecord) -> str:
    """The metric key a record is summed up by (its task's first card metric: accuracy, AP...)."""
    return catalogue.of(record.task, record.metrics).headline.key


def space_page(space_url: str, repo_id: str) -> str:
    """The Space's page of one model (its ``?view=model&model=ORG/NAME`` deep link).

    Example:
        >>> space_page("https://huggingface.co/spaces/evalbot/explorer", "org/m")
        'https://huggingface.co/spaces/evalbot/explorer/?view=model&model=org/m'
    """
    return f"{space_url.rstrip('/')}/?view=model&model={quote(repo_id, safe='/')}"


def short_sha(sha: str) -> str:
    return sha[:7]


def fmt(value: float | None, digits: int) -> str:
    value = number(value)
    return "n/a" if value is None else f"{value:.{digits}f}"


def render_section(
    records: Sequence[EvaluationRecord],
    *,
    repo_id: str,
    space_url: str,
    newline: str = "\n",
    class_groups: Mapping[str, Mapping[str, Sequence[str]]] | None = None,
) -> str:
    """The whole evalbot section, markers included, without a final newline.

    Args:
        records: Records of one model revision; only the original variants are shown.
        repo_id: The model repository, for the Space link.
        space_url: Base URL of the evalbot Space.
        newline: Line break to use (the card's own, so a CRLF card stays CRLF).
        class_groups: Module id -> its ``class_groups`` (group name -> labels): a result of a
            module with groups names its weakest group (see `store.class_groups`).

    Example:
        >>> render_section(records, repo_id="org/m", space_url="https://x").splitlines()[0]  # doctest: +SKIP
        '<!-- evalbot:results:start -->'
    """
    page = space_page(space_url, repo_id)
    parts = [
        START,
        HEADING,
        "These results were computed automatically by [evalbot]"
        f"({space_url.rstrip('/')}). They are not verified by Hugging Face. "
        + " ".join(_explanations(records)),
        *(
            _render_result(
                r, page, _variants_of(r, records), (class_groups or {}).get(r.module_id, {})
            )
            for r in card_records(records)
        ),
        END,
    ]
    return "\n\n".join(parts).replace("\n", newline)


_CLASSES = (
    "Per class, TP, FP and FN count true positives, false positives and false negatives; "
    "support is the number of examples of the class; precision, recall and F1 derive from "
    "these counts, and are n/a where undefined (zero denominator, e.g. a class without "
    "examples). Macro scores are unweighted means over the classes that occur in the "
    "references or the predictions, an undefined value counting as 0 (scikit-learn's "
    "defaults); weighted F1 weights each class by its support. Intervals are 95% bootstrap "
    "confidence intervals over the examples; the calibration error compares the model's "
    "confidence with its accuracy."
)


def _explanations(records: Sequence[EvaluationRecord]) -> list[str]:
    """What the tables mean, once per wording, for the tasks on the card."""
    specs = [catalogue.of(r.task, r.metrics) for r in card_records(records)]
    return list(dict.fromkeys(spec.explanation or _CLASSES for spec in specs))


def _variants_of(
    record: EvaluationRecord, records: Sequence[EvaluationRecord]
) -> list[EvaluationRecord]:
    """The perturbed variants of ``record``'s dataset split, by variant name."""
    same = [r for r in records if r.variant != ORIGINAL and result_key(r) == result_key(record)]
    return sorted(same, key=lambda r: r.variant)


def _render_result(
    record: EvaluationRecord,
    page: str,
    variants: Sequence[EvaluationRecord] = (),
    groups: Mapping[str, Sequence[str]] | None = None,
) -> str:
    config = f"config {code(record.dataset_config)}, " if record.dataset_config else ""
    parts = [
        f"### {record.dataset_name} ({code(record.dataset_id)}), split {code(record.split)}",
        f"Model revision {code(short_sha(record.model_sha))} evaluated on the {code(record.split)} "
        f"split of [{record.dataset_id}](https://huggingface.co/datasets/{record.dataset_id}) "
        f"({config}revision {code(short_sha(record.dataset_revision))}): "
        f"{record.num_examples:,} examples, evalbot code version {code(record.code_version)}, "
        f"evaluation config version {record.config_version}.",
        *([assumed(record)] if record.selection.rule != "declared" else []),
        _summary_table(record),
        *([_class_table(record)] if record.classes else []),
        *([weakest] if (weakest := _weakest_group(record, groups or {})) else []),
        f"Runtime: {record.runtime.instances_per_s:,.1f} instances/s on "
        f"{code(record.runtime.device)}, batch size {record.runtime.batch_size}.",
    ]
    if record.settings:
        parts.append(_settings(record))
    if record.calibration is not None:
        parts.append(_calibration(record))
    if variants:
        parts.append(_robustness_table(record, variants))
    if any(model != dataset for model, dataset in record.label_mapping.items()):
        parts.append(_mapping_table(record.label_mapping))
    parts.append(f"[Explore these results per class on the Space]({page}).")
    return "\n\n".join(parts)


def _settings(record: EvaluationRecord) -> str:
    """How the numbers were produced (decoding, scorer settings), one line, in stored order."""
    shown = "; ".join(
        f"{name.replace('_', ' ')} {code(str(value))}"
        for name, value in record.settings.items()
        if value not in (None, "")
    )
    return f"Settings: {shown}."


def assumed(record: EvaluationRecord) -> str:
    """The sentence saying that the model's training data was inferred, and from what."""
    return (
        f"The card names no training dataset: evalbot assumed this model was trained on "
        f"{code(record.dataset_id)} because {record.selection.evidence or 'of its metadata'} "
        f"(rule: {record.selection.rule}). If that is wrong, list the datasets it was trained on "
        f"under `datasets:` in the card's metadata."
    )


def _table(header: Sequence[str], align: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    lines = [header, align, *rows]
    return "\n".join("| " + " | ".join(cells) + " |" for cells in lines)


def _summary_table(record: EvaluationRecord) -> str:
    rows = [
        (m.label, fmt(record.metrics.get(m.key), m.digits), _interval(record, m.key))
        for m in catalogue.of(record.task, record.metrics).summary_metrics()
    ]
    return _table(("metric", "value", "95% CI"), ("---", "---:", "---:"), rows)


def _interval(record: EvaluationRecord, key: str) -> str:
    interval = record.intervals.get(key)
    if interval is None:
        return "n/a"
    return f"{fmt(interval.low, 4)} – {fmt(interval.high, 4)}"


def _calibration(record: EvaluationRecord) -> str:
    assert record.calibration is not None
    calibration = record.calibration
    bins = sum(1 for b in calibration.bins if b.count)
    return (
        f"Calibration: expected calibration error (ECE) {fmt(calibration.ece, 4)}, maximum "
        f"{fmt(calibration.mce, 4)} over {bins} non-empty confidence bins of "
        f"{len(calibration.bins)} (0 is perfectly calibrated)."
    )


def _robustness_table(record: EvaluationRecord, variants: Sequence[EvaluationRecord]) -> str:
    """The headline metric (accuracy, AP...) on each perturbed variant, the change from the
    original, and the task's second card metric (macro F1, AP50...)."""
    spec = catalogue.of(record.task, record.metrics)
    key, second = spec.headline.key, spec.second.key
    base = number(record.metrics.get(key))
    rows = [("original", fmt(base, 4), "", fmt(record.metrics.get(second), 4))]
    for variant in variants:
        value = number(variant.metrics.get(key))
        change = "n/a" if value is None or base is None else f"{(value - base) * 100:+.1f} points"
        rows.append(
            (
                code(variant.variant, table=True),
                fmt(value, 4),
                change,
                fmt(variant.metrics.get(second), 4),
            )
        )
    header = ("variant", spec.headline.short, "change", spec.second.short)
    table = _table(header, ("---", "---:", "---:", "---:"), rows)
    return (
        "Robustness: the same examples, perturbed (each variant is described on the Space):"
        f"\n\n{table}"
    )


def _class_table(record: EvaluationRecord) -> str:
    """Per class (or entity type...): the task's per-class metrics, then support and counts."""
    spec = catalogue.of(record.task, record.metrics)
    columns = spec.class_metrics()
    counts = ("TP", "FP", "FN") if spec.counts else ()
    header = (spec.unit, *(m.short for m in columns), spec.support, *counts)
    rows = [
        (
            code(c.label, table=True),
            *(fmt(m.class_value(c), m.digits - 1) for m in columns),
            f"{c.support:,}",
            *((f"{c.tp:,}", f"{c.fp:,}", f"{c.fn:,}") if spec.counts else ()),
        )
        for c in sorted(record.classes, key=lambda c: c.class_id)
    ]
    table = _table(header, ("---", *["---:"] * (len(header) - 1)), rows)
    return f"{table}\n\n{spec.class_note}" if spec.class_note else table


def _weakest_group(record: EvaluationRecord, groups: Mapping[str, Sequence[str]]) -> str:
    """The sentence naming the class group the model does worst on, by macro F1 (object
    detection: mean per-class AP) against the same over all classes; empty without groups or
    without a group of enough examples (`store.class_groups.weakest_group`)."""
    if not groups or not record.classes:
        return ""
    found = group_results(record.classes, groups, confusion=record.confusion)
    weakest = weakest_group(found)
    if weakest is None:
        return ""
    detection = weakest.ap is not None
    metric, key = ("mean AP", "ap") if detection else ("macro F1", "macro_f1")
    value = weakest.ap if detection else weakest.macro_f1
    count = len(weakest.classes)
    return (
        f"Weakest class group: {code(weakest.name)} ({metric} {fmt(value, 4)} vs "
        f"{fmt(record.metrics.get(key), 4)} overall, {count} class{'es' if count != 1 else ''}, "
        f"{weakest.support:,} {'objects' if detection else 'examples'})."
    )


def _mapping_table(mapping: dict[str, str]) -> str:
    rows = [
        (code(model, table=True), code(dataset, table=True)) for model, dataset in mapping.items()
    ]
    table = _table(("model label", "dataset label"), ("---", "---"), rows)
    return f"Label mapping used (the model's labels differ from the dataset's):\n\n{table}"
