"""Claims audit: the card's self-reported results next to what evalbot measured.

After SCORED's audit of self-reported Hub results: a value the author put in `model-index` is
matched with our result on the same dataset, split and metric, and judged against our 95%
bootstrap confidence interval (or, for a metric without one, against rounding).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from huggingface_hub import EvalResult

from store import catalogue
from store.catalogue import TaskSpec
from store.types import EvaluationRecord

from .card import SOURCE_NAME, read_results
from .inert import code
from .results import card_records, rounded

TOLERANCE = 0.005  # a claim this close to our value agrees: it may be our value, rounded

# The older spelling of COCO AP: `mAP` (or `mAP50`, `mAP@0.5:0.95` ...) with the IoU in its args,
# its type or its name; the IoU thresholds it names -> our key.
_MAP_SPELLING = re.compile(r"map(?:[@_ -]?[0-9.:\[\]_@-]+)?")
_NUMBER = re.compile(r"\d*\.\d+|\d+")
# the IoU thresholds an old spelling names -> the Hub's id of that AP
_MAP_IOU = {(0.5, 0.95): "map", (0.5, 0.05, 0.95): "map", (0.5,): "map_50", (0.75,): "map_75"}
_IOU_ARGS = ("iou", "iou_threshold", "iou_thresholds")
_OTHER_AVERAGES = ("micro", "weighted", "binary", "samples")


@dataclass(frozen=True)
class Claim:
    """One self-reported value compared with our measurement.

    Attributes:
        dataset: Our dataset id.
        split: Our split it was compared with.
        metric: Our metric key (see `store.catalogue`).
        claimed: The card's value, as a fraction (percentages divided by 100).
        measured: Our value, rounded as on the card.
        low: Our confidence interval's lower bound, or None when the metric has none.
        high: Our confidence interval's upper bound, or None.
        verdict: "agrees", "agrees (within rounding)" or "claims X points more|less than
            measured".
        note: How the claim was read, when that took a guess (a percentage, no split...), in
            Markdown: text from the card is in inert code spans (see `cardgen.inert`).
    """

    dataset: str
    split: str
    metric: str
    claimed: float
    measured: float
    low: float | None
    high: float | None
    verdict: str
    note: str
    task: str = field(default="", compare=False)  # the record's task: names the metric

    @property
    def agrees(self) -> bool:
        return self.verdict.startswith("agrees")


def audit(existing_card: str | None, records: Sequence[EvaluationRecord]) -> list[Claim]:
    """Compare the card's self-reported `model-index` values with ours, in card order.

    A value is compared when it is not from evalbot, names our dataset (its Hub id, or its
    legacy name without the namespace), our split (or no split) and one of our metrics
    (accuracy; f1/precision/recall averaged ``macro`` or without an average; for detection the
    Hub's COCO ids ``map``, ``map_50``, ``map_75`` ... ``mar_large``, or the older ``mAP`` with
    its IoU in ``args``, e.g. ``{iou: "0.50"}``), and reads as a number in [0, 1] or a
    percentage.

    Args:
        existing_card: The current README.md, or None.
        records: The records of one model revision (see `card_records`).

    Raises:
        CardError: When the card cannot be read (as in `propose_card`).

    Example:
        >>> [c.verdict for c in audit(card, records)]  # doctest: +SKIP
        ['agrees', 'claims 12.3 points more than measured']
    """
    if existing_card is None:
        return []
    selected = card_records(records)
    results = read_results(existing_card, repo_id=selected[0].model_id)
    claims = (_claim(r, selected) for r in results if r.source_name != SOURCE_NAME)
    return [claim for claim in claims if claim is not None]


def claims_to_dicts(claims: Sequence[Claim]) -> list[dict[str, Any]]:
    """Plain dicts for storage, with ``agrees`` spelled out."""
    return [{**asdict(claim), "agrees": claim.agrees} for claim in claims]


def verdict(
    claimed: float,
    measured: float,
    low: float | None,
    high: float | None,
    *,
    higher_is_better: bool = True,
) -> str:
    """Within the interval: "agrees"; within rounding of our value: "agrees (within rounding)";
    otherwise the signed difference in percentage points, and for an error rate (lower is
    better) which way that flatters.

    Example:
        >>> verdict(0.93, 0.8070, 0.78, 0.83)
        'claims 12.3 points more than measured'
        >>> verdict(0.8, 0.8034, None, None)
        'agrees (within rounding)'
        >>> verdict(0.05, 0.0812, None, None, higher_is_better=False)
        'claims 3.1 points less than measured (lower is better: the card claims fewer errors)'
    """
    if low is not None and high is not None and low <= claimed <= high:
        return "agrees"
    if abs(claimed - measured) <= TOLERANCE + 1e-9:
        return "agrees (within rounding)"
    points = (claimed - measured) * 100
    text = f"{abs(points):.1f}" if abs(points) >= 0.05 else f"{abs(points):.2f}"
    said = f"claims {text} points {'more' if points > 0 else 'less'} than measured"
    if higher_is_better:
        return said
    fewer = "fewer" if points < 0 else "more"
    return f"{said} (lower is better: the card claims {fewer} errors)"


def _claim(result: EvalResult, records: Sequence[EvaluationRecord]) -> Claim | None:
    notes: list[str] = []
    record = _record(result, records, notes)
    key = _metric_key(result, catalogue.of(record.task, record.metrics), notes) if record else None
    claimed = _fraction(result.metric_value, notes)
    if record is None or key is None or claimed is None:
        return None
    measured = rounded(record.metrics.get(key))
    if measured is None:
        return None
    interval = record.intervals.get(key)
    low, high = (interval.low, interval.high) if interval else (None, None)
    metric = catalogue.of(record.task, record.metrics).metric(key)
    if not metric.higher_is_better and claimed <= 1 and not any("percentage" in n for n in notes):
        # an error rate of 0.9 may be 0.9 % (Hub speech cards mostly write percent): the
        # reading nearer to ours is taken, and said
        percent = round(claimed / 100, 10)
        if abs(percent - measured) < abs(claimed - measured):
            notes.append(f"{claimed:g} read as a percentage ({percent:g}), the nearer reading")
            claimed = percent
    said = verdict(claimed, measured, low, high, higher_is_better=metric.higher_is_better)
    other = _UNNORMALISED.get(key)
    raw = rounded(record.metrics.get(other)) if other else None
    if not said.startswith("agrees") and raw is not None and abs(claimed - raw) <= TOLERANCE:
        # the card's number is ours on the texts as they are: a normaliser mismatch, not a
        # discrepancy
        said = "agrees without text normalisation"
        notes.append(
            f"the card's {metric.label} matches ours without text normalisation ({raw:g}); ours "
            f"after {record.settings.get('normalizer', 'the normaliser')} is {measured:g}"
        )
    return Claim(
        dataset=record.dataset_id,
        split=record.split,
        metric=key,
        claimed=claimed,
        measured=measured,
        low=low,
        high=high,
        verdict=said,
        note="; ".join(notes),
        task=record.task,
    )


def _record(
    result: EvalResult, records: Sequence[EvaluationRecord], notes: list[str]
) -> EvaluationRecord | None:
    """Our record on the claim's dataset and split (its config when several match)."""
    name = str(result.dataset_type).casefold()
    same = [r for r in records if r.dataset_id.casefold() == name]
    if not same and "/" not in name:  # a legacy canonical name: "emotion" for dair-ai/emotion
        same = [r for r in records if r.dataset_id.rsplit("/", 1)[-1].casefold() == name]
        if same:
            notes.append(f"the card names the dataset {code(str(result.dataset_type))}")
    named = _split_in_name(result.metric_name)
    if result.dataset_split is not None:
        split: str | None = str(result.dataset_split)
    elif named is not None:
        split = named
    else:
        split = "test" if any(r.split == "test" for r in same) else None
    same = [r for r in same if split is None or r.split == split]
    if not same:
        return None
    record = next((r for r in same if r.dataset_config == result.dataset_config), same[0])
    if result.dataset_split is None and named is not None:
        notes.append(
            f"the card gives no split; its metric name {code(str(result.metric_name))} says {named}"
        )
    elif result.dataset_split is None:
        notes.append(f"the card gives no split; compared with our {record.split} split")
    if result.dataset_config not in (None, record.dataset_config):
        notes.append(f"the card's config {code(str(result.dataset_config))} is not ours")
    return record


def _split_in_name(name: object) -> str | None:
    """The split a metric name such as "Validation Accuracy" names, if it names one."""
    words = str(name or "").casefold().replace("_", " ").replace("-", " ").split()
    return next((split for split in ("test", "validation", "train") if split in words), None)


# A metric whose value depends on a text normaliser -> the same without one
_UNNORMALISED = {"wer": "wer_raw", "cer": "cer_raw"}
# Other spellings of the Hub's metric ids (casefolded, `_` read as `-`): evaluate's sacrebleu
# metric and the hyphenated ROUGE names some cards write.
_ALIASES = {
    "sacrebleu": "bleu",
    "rouge-1": "rouge1",
    "rouge-2": "rouge2",
    "rouge-l": "rougel",
    "rouge-lsum": "rougelsum",
}


def _metric_key(result: EvalResult, spec: TaskSpec, notes: list[str]) -> str | None:
    """Our key of the metric a claim names, among ``spec``'s metrics with a Hub id; None: not
    one of ours."""
    kind = str(result.metric_type).casefold()
    kind = _ALIASES.get(kind.replace("_", "-"), kind)
    metrics = [m for m in spec.metrics if m.hub_type is not None]
    plain = {m.hub_type.casefold(): m.key for m in metrics if m.hub_type and not m.hub_args}
    if kind in plain and kind != "map":  # `map` may carry an IoU in its args
        return plain[kind]
    if _MAP_SPELLING.fullmatch(kind) and "map" in plain:
        return _map_key(result, plain, notes)
    averaged = [m for m in metrics if m.hub_type == kind and m.hub_args and "average" in m.hub_args]
    if not averaged:
        return None
    ours = averaged[0]
    assert ours.hub_args is not None
    wanted = ours.hub_args["average"]
    args = result.metric_args
    average = args.get("average") if isinstance(args, dict) else args
    if average is None:
        name = str(result.metric_name or "").casefold()
        if any(other in name for other in _OTHER_AVERAGES if other != wanted):
            return None  # e.g. "Precision Micro" without args
        if wanted not in name:
            notes.append(f"the card gives no average for {kind}; compared with our {wanted} {kind}")
    elif str(average).casefold() != wanted:
        return None
    return ours.key


def _map_key(result: EvalResult, keys: Mapping[str, str], notes: list[str]) -> str | None:
    """Our AP key for a `map`/`mAP` claim: the IoU from its args, else its type, else its name.

    No IoU anywhere reads as `map` does in torchmetrics: IoU 0.50:0.95. An IoU we do not report
    (``mAP@0.6``, a year in the name...) is no claim on our values. ``keys``: the Hub's ids of
    the task's card metrics -> our keys.
    """
    args = result.metric_args
    if isinstance(args, dict):
        iou = next((args[name] for name in _IOU_ARGS if name in args), None)
    else:
        iou = args
    for text in (iou, str(result.metric_type)[3:], result.metric_name):
        if text is not None and (numbers := _NUMBER.findall(str(text))):
            thresholds = tuple(float(n) / 100 if float(n) > 1 else float(n) for n in numbers)
            hub_id = _MAP_IOU.get(thresholds)
            return keys.get(hub_id) if hub_id else None
    if result.metric_type != "map":
        notes.append(
            f"the card gives no IoU for {code(str(result.metric_type))}; compared with our "
            "AP (IoU 0.50:0.95)"
        )
    return keys["map"]


def _fraction(value: object, notes: list[str]) -> float | None:
    """The value as a fraction: 0.93, 93.0 and "93%" all read 0.93; anything else is None."""
    if isinstance(value, bool):
        return None
    percent = isinstance(value, str) and value.strip().endswith("%")
    try:
        number = float(value.strip().removesuffix("%") if isinstance(value, str) else value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    if not math.isfinite(number):
        return None
    if percent or 1 < number <= 100:
        number = round(number / 100, 10)  # 94.13 reads 0.9413, not 0.9412999999999999
        shown = code(value) if isinstance(value, str) else value
        notes.append(f"given as a percentage ({shown}); read as {number:g}")
    return number if 0 <= number <= 1 else None
