"""Title and description of the pull request that proposes a card change."""

from __future__ import annotations

import re
from collections.abc import Sequence

from store import catalogue
from store.types import EvaluationRecord

from .audit import TOLERANCE, Claim
from .card import CardChange
from .inert import code, escape_pipes
from .optout import OPT_IN_TAG, OPT_OUT_TAG
from .results import ORIGINAL, card_records
from .section import HEADING, assumed, fmt, short_sha, space_page

# On a line of its own, as `marker` writes it.
_MARKER = re.compile(
    r"^<!-- evalbot:result-hash=([0-9a-f]{64}) model-sha=([^\s<>]+) -->[ \t]*\r?$", re.MULTILINE
)


def pr_title(records: Sequence[EvaluationRecord]) -> str:
    """The PR title, naming the datasets on the card.

    Example:
        >>> pr_title(records)  # doctest: +SKIP
        'Add evaluation results on dair-ai/emotion (evalbot)'
    """
    datasets = list(dict.fromkeys(r.dataset_id for r in card_records(records)))
    if len(datasets) == 1:
        names = datasets[0]
    elif len(datasets) <= 3:
        names = ", ".join(datasets[:-1]) + f" and {datasets[-1]}"
    else:
        names = f"{len(datasets)} datasets"
    return f"Add evaluation results on {names} (evalbot)"


def pr_body(
    change: CardChange,
    records: Sequence[EvaluationRecord],
    *,
    repo_id: str,
    space_url: str,
    code_version: str,
    claims: Sequence[Claim] = (),
) -> str:
    """The PR description: what was evaluated and how, the headline numbers, the card's own
    claims next to ours (see `cardgen.audit`), how to reproduce and opt out, and a hidden marker
    that identifies the results (see `parse_marker`).

    Example:
        >>> body = pr_body(change, records, repo_id="org/m", space_url="https://x", code_version="0.1.0")  # doctest: +SKIP
        >>> parse_marker(body) == (change.result_hash, records[0].model_sha)  # doctest: +SKIP
        True
    """
    selected = card_records(records)
    sha = selected[0].model_sha
    variants = sorted({r.variant for r in records} - {ORIGINAL})
    evaluated = "\n".join(
        f"- {code(r.dataset_id)}"
        + (f" (config {code(r.dataset_config)})" if r.dataset_config else "")
        + f", split {code(r.split)} at revision {code(short_sha(r.dataset_revision))}: "
        f"{r.num_examples:,} examples on {code(r.runtime.device)}, batch size "
        f"{r.runtime.batch_size}, evaluation config version {r.config_version}"
        for r in selected
    )
    perturbed = (
        f"\n\nThe model was also evaluated on perturbed variants of these datasets "
        f"({', '.join(variants)}): the card's robustness table shows how much each one costs; "
        "their per-class results are on the Space."
        if variants
        else ""
    )
    inferred = [r for r in selected if r.selection.rule != "declared"]
    if inferred:
        perturbed += "\n\n### Training data we assumed\n\n" + "\n\n".join(
            assumed(r) for r in inferred
        )
    headline = _headline_tables(selected)
    count = len(change.model_index)
    results = "1 result" if count == 1 else f"{count} results"
    return f"""\
evalbot evaluated {code(repo_id)} at revision {code(sha)} and proposes adding the results to \
its model card.

## What was evaluated

{evaluated}{perturbed}

## Headline numbers

{headline}

{_per_unit(selected)} are in the card's "{HEADING.lstrip("# ")}" section.\
{_claims_section(claims)}

## What this PR changes

- `model-index`: sets {results} with `source: evalbot`, replacing earlier evalbot results; \
results from any other source are kept as they are. huggingface_hub rewrites the metadata \
block: values stay the same, YAML comments and layout may not.
- The card body: adds or replaces only the section between the \
`<!-- evalbot:results:start -->` and `<!-- evalbot:results:end -->` markers.

evalbot never marks results as `verified` and adds no `verifyToken`: both belong to Hugging \
Face, which sets them for evaluations it ran itself (HF Jobs).

## Reproduce

With evalbot {code(code_version)}:

```
evalbot evaluate {repo_id}@{sha} --dry-run
```

Explore the results per class on the [evalbot Space]\
({space_page(space_url, repo_id)}).

## Opt out

Add the tag `{OPT_OUT_TAG}` to the model card and evalbot leaves this repo alone. Close this PR \
without merging and evalbot opens no further PRs, comments or commits here until you add the tag \
`{OPT_IN_TAG}` to the card or reopen this PR; the results are still evaluated and shown on the \
Space. Merging it is a thanks, not a no.

{marker(change.result_hash, sha)}
"""


def _headline_tables(selected: Sequence[EvaluationRecord]) -> str:
    """One table of headline numbers per kind of task (classification, detection...)."""
    groups: dict[tuple[str, ...], list[EvaluationRecord]] = {}
    for spec in catalogue.tasks():  # in the registry's order, tasks sharing metrics together
        for scheme in catalogue.schemes(spec.name):
            groups.setdefault(scheme.card, []).extend(
                r for r in selected if catalogue.of(r.task, r.metrics) is scheme
            )
    tables = []
    for keys, records in groups.items():
        if not records:
            continue
        metrics = catalogue.of(records[0].task, records[0].metrics).card_metrics()
        rows = [
            f"| {code(r.dataset_id, table=True)} | {code(r.split, table=True)} | "
            + " | ".join(fmt(r.metrics.get(key), 4) for key in keys)
            + " |"
            for r in records
        ]
        header = "| dataset | split | " + " | ".join(m.short for m in metrics) + " |"
        align = "| --- | --- | " + " | ".join("---:" for _ in metrics) + " |"
        tables.append("\n".join([header, align, *rows]))
    return "\n\n".join(tables)


def _claims_section(claims: Sequence[Claim]) -> str:
    """The "Self-reported results" section, with its leading blank lines; empty without claims."""
    if not claims:
        return ""
    rows = "\n".join(
        f"| {code(c.dataset, table=True)} | {code(c.split, table=True)} | {_metric_label(c)} "
        f"| {c.claimed:.4f} "
        f"| {c.measured:.4f} | "
        + ("n/a" if c.low is None or c.high is None else f"{c.low:.4f}–{c.high:.4f}")
        + f" | {c.verdict} | {escape_pipes(c.note)} |"
        for c in claims
    )
    return f"""

## Self-reported results

The card already reports results that evalbot also measured. Each claimed value is compared with \
evalbot's: it agrees when it lies within evalbot's 95% bootstrap confidence interval, or within \
±{TOLERANCE} of evalbot's value (rounding); otherwise the difference is given in percentage points.

| dataset | split | metric | claimed | measured | 95% CI | verdict | note |
| --- | --- | --- | ---: | ---: | --- | --- | --- |
{rows}

A difference need not be a mistake: preprocessing, label mapping, the split or the dataset \
revision can explain it. The card's values are left as they are."""


def marker(result_hash: str, model_sha: str) -> str:
    """The hidden line that identifies the results of a PR description or update comment.

    Example:
        >>> marker("0" * 64, "abc123").replace("0" * 64, "…")
        '<!-- evalbot:result-hash=… model-sha=abc123 -->'
    """
    return f"<!-- evalbot:result-hash={result_hash} model-sha={model_sha} -->"


def parse_markers(body: str) -> list[tuple[str, str]]:
    """Every (result_hash, model_sha) marker in ``body``, in order; each on a line of its own.

    Example:
        >>> parse_markers(marker("0" * 64, "a") + "\\n" + marker("1" * 64, "b"))[1][1]
        'b'
    """
    return [(match.group(1), match.group(2)) for match in _MARKER.finditer(body)]


def parse_marker(body: str) -> tuple[str, str] | None:
    """(result_hash, model_sha) of the last marker in a PR description or comment, or None.

    The marker `pr_body` writes is its last line, and no text from the card can write one (see
    `cardgen.inert`), so the last marker is evalbot's.

    Example:
        >>> parse_marker("<!-- evalbot:result-hash=" + "0" * 64 + " model-sha=abc123 -->")
        ('0000000000000000000000000000000000000000000000000000000000000000', 'abc123')
    """
    markers = parse_markers(body)
    return markers[-1] if markers else None


def _per_unit(selected: Sequence[EvaluationRecord]) -> str:
    """What the card's per-class (per entity type, per group...) tables hold."""
    specs = {id(s): s for s in (catalogue.of(r.task, r.metrics) for r in selected)}.values()
    parts = list(
        dict.fromkeys(
            f"Per-{spec.unit} "
            + ", ".join(m.label for m in spec.class_metrics())
            + f", {spec.support} and TP/FP/FN"
            for spec in specs
        )
    )
    return "; ".join(parts) if parts else "Per-class results"


def _metric_label(claim: Claim) -> str:
    """The claim's metric as the card's tables name it."""
    if catalogue.find(claim.task) is None:
        return claim.metric
    for spec in catalogue.schemes(claim.task):
        try:
            return spec.metric(claim.metric).label
        except KeyError:
            continue
    return claim.metric
