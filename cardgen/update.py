"""The short comment evalbot posts when it updates its open PR with new results.

The PR description is replaced in place by the full `cardgen.pr.pr_body`; the comment says only
what changed from the evalbot values on the PR branch's card: datasets and splits added or removed,
values that moved, perturbed variants added to or removed from the robustness table, and the model
revision evaluated. Everything read from the previous card is rendered inert (`cardgen.inert`):
anyone who can push to the PR branch can write into it.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from huggingface_hub import EvalResult
from huggingface_hub.repocard_data import model_index_to_eval_results

from store.types import EvaluationRecord

from .card import SOURCE_NAME, CardChange, read_results
from .errors import CardError
from .inert import code, one_line
from .pr import marker
from .results import ORIGINAL, card_records
from .section import END, START, short_sha, space_page

MAX_CHANGES = 12  # listed changes; the rest are counted (the description has everything)

_Dataset = tuple[str, str, str]  # dataset id, config ("" for none), split
_Metric = tuple[str, str]  # metric type, its args as canonical JSON
_Values = dict[_Dataset, dict[_Metric, tuple[str, object]]]  # (display name, value)
_HEADING = re.compile(r"^### .*\((`+) ?(.*?) ?\1\), split (`+) ?(.*?) ?\3\s*$")
_ROW = re.compile(r"^\| (`+) ?(.*?) ?\1 \|")
_REVISION = re.compile(r"^Model revision `([0-9a-f]+)`", re.MULTILINE)


@dataclass
class _Section:
    """What our results section on the previous card showed beyond its `model-index`."""

    revision: str | None = None
    variants: dict[tuple[str, str], set[str]] = field(default_factory=dict)


def update_comment(
    previous_card: str | None,
    change: CardChange,
    records: Sequence[EvaluationRecord],
    *,
    repo_id: str,
    space_url: str,
) -> str:
    """A few lines saying how ``change`` differs from the evalbot results on the PR's card.

    Args:
        previous_card: The README.md on the PR branch (``refs/pr/N``), or None when it has none.
        change: The new card (see `cardgen.card.propose_card`).
        records: The records of the model revision evaluated (see `card_records`).
        repo_id: The model repository.
        space_url: Base URL of the evalbot Space.

    Returns:
        The comment, ending with the hidden marker of the new results (see
        `cardgen.pr.parse_marker`), so the newest marker on the PR is always the current one.

    Example:
        >>> print(update_comment(old_card, change, records, repo_id="org/m", space_url=url))  # doctest: +SKIP
        evalbot updated this PR: `org/m` evaluated at revision `0123456`.
        <BLANKLINE>
        - `dair-ai/emotion` (config `split`), split `test`: Accuracy 0.8000 → 0.8100.
        ...
    """
    selected = card_records(records)
    sha = selected[0].model_sha
    section = _section(previous_card)
    revision = f"{code(repo_id)} evaluated at revision {code(short_sha(sha))}"
    if section.revision and section.revision != short_sha(sha):
        revision += f" (previously {code(section.revision)})"
    try:
        before = _values(read_results(previous_card, repo_id=repo_id) if previous_card else [])
    except CardError:
        changes = ["- The card on this PR's branch could not be read: the changes are not listed."]
    else:
        _, ours = model_index_to_eval_results([{"name": repo_id, "results": change.model_index}])
        after = _values(ours)
        changes = _dataset_changes(before, after)
        kept = before.keys() & after.keys()
        changes += _variant_changes(section.variants, _variants(records), kept)
    if not changes:
        changes = [
            "The values on the card are unchanged: the results were refreshed (the card's "
            "results section or its links updated)."
        ]
    elif len(changes) > MAX_CHANGES:
        more = len(changes) - MAX_CHANGES + 1
        changes = [*changes[: MAX_CHANGES - 1], f"- … and {more} more changes."]
    closing = (
        "The description above holds the full results; explore them per class on the "
        f"[evalbot Space]({space_page(space_url, repo_id)})."
    )
    lines = [f"evalbot updated this PR: {revision}.", "", *changes, "", closing, ""]
    return "\n".join([*lines, marker(change.result_hash, sha), ""])


def _values(results: Iterable[EvalResult]) -> _Values:
    """Our values by dataset split and metric, each with the metric's display name."""
    values: _Values = {}
    for r in results:
        if r.source_name != SOURCE_NAME:
            continue
        dataset = (str(r.dataset_type), str(r.dataset_config or ""), str(r.dataset_split or ""))
        metric = (str(r.metric_type), json.dumps(r.metric_args, sort_keys=True, default=str))
        values.setdefault(dataset, {})[metric] = (
            str(r.metric_name or r.metric_type),
            r.metric_value,
        )
    return values


def _dataset_changes(before: _Values, after: _Values) -> list[str]:
    """One line per dataset split added, removed, or whose values moved (old → new)."""
    lines = []
    for dataset in sorted(after.keys() - before.keys()):
        name, value = next(iter(after[dataset].values()))
        lines.append(f"- Added {_where(dataset)}: {name} {_number(value)}.")
    for dataset in sorted(before.keys() - after.keys()):
        lines.append(f"- Removed {_where(dataset)}.")
    for dataset in sorted(before.keys() & after.keys()):
        old, new = before[dataset], after[dataset]
        moves = []
        for metric in [*new, *(m for m in old if m not in new)]:
            was, now = _number(_value(old, metric)), _number(_value(new, metric))
            if was != now:
                # our own metric name, or the branch card's (which anyone could have edited)
                name = new[metric][0] if metric in new else code(old[metric][0])
                moves.append(f"{name} {was} → {now}")
        if moves:
            lines.append(f"- {_where(dataset)}: {', '.join(moves)}.")
    return lines


def _value(values: dict[_Metric, tuple[str, object]], metric: _Metric) -> object:
    return values[metric][1] if metric in values else None


def _variant_changes(
    before: dict[tuple[str, str], set[str]],
    after: dict[tuple[str, str], set[str]],
    kept: Iterable[_Dataset],
) -> list[str]:
    """Variants added to or removed from the robustness table of each dataset split ``kept`` on
    the card (a dataset split added or removed is said once, with its whole table)."""
    shown = {(one_line(d), one_line(s)) for d, _, s in kept}
    lines = []
    for dataset, split in sorted(before.keys() | after.keys()):
        if (dataset, split) not in shown:
            continue
        old, new = before.get((dataset, split), set()), after.get((dataset, split), set())
        words = [
            f"{verb} {', '.join(code(v) for v in sorted(names))}"
            for verb, names in (("added", new - old), ("removed", old - new))
            if names
        ]
        if words:
            where = f"{code(dataset)}, split {code(split)}"
            lines.append(f"- Robustness table of {where}: {'; '.join(words)}.")
    return lines


def _variants(records: Sequence[EvaluationRecord]) -> dict[tuple[str, str], set[str]]:
    """The perturbed variants each dataset split's robustness table will show, as rendered."""
    variants: dict[tuple[str, str], set[str]] = {}
    for r in records:
        if r.variant != ORIGINAL:
            key = (one_line(r.dataset_id), one_line(r.split))
            variants.setdefault(key, set()).add(one_line(r.variant))
    return variants


def _section(card: str | None) -> _Section:
    """The revision and robustness rows of our results section on ``card``, as rendered there."""
    if not card or (start := card.find(START)) < 0 or (end := card.find(END, start)) < 0:
        return _Section()
    text = card[start:end]
    revision = _REVISION.search(text)
    section = _Section(revision=revision.group(1) if revision else None)
    key: tuple[str, str] | None = None
    in_table = False
    for line in text.splitlines():
        if heading := _HEADING.match(line):
            key, in_table = (heading.group(2), heading.group(4)), False
        elif line.startswith("| variant |"):
            in_table = True
        elif in_table and key and (row := _ROW.match(line)):
            section.variants.setdefault(key, set()).add(row.group(2))
        elif not line.startswith("|"):
            in_table = False
    return section


def _where(dataset: _Dataset) -> str:
    name, config, split = dataset
    return code(name) + (f" (config {code(config)})" if config else "") + f", split {code(split)}"


def _number(value: object) -> str:
    """A value with 4 decimals; "n/a" when missing; anything else (a hand-edited card) inert."""
    if value is None:
        return "n/a"
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return f"{value:.4f}"
    return code(str(value))
