"""Merge evalbot's results into a model card: `model-index` metadata plus a results section.

The card is rebuilt with huggingface_hub's `ModelCardData` (never `metadata_update`): the front
matter is re-serialised, the body is kept byte for byte except our marked section, and the author's
own `model-index` results are kept as they are (a `verifyToken` of theirs included). Our results
carry no `verifyToken`: that field is Hugging Face's proof that an evaluation ran in HF Jobs. Their
source is the model's page on the Space. A card that cannot be edited without breaking it or
losing data raises `CardError` instead.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import yaml
from huggingface_hub import EvalResult, ModelCard, ModelCardData
from huggingface_hub.repocard_data import eval_results_to_model_index, model_index_to_eval_results

from store import catalogue
from store.types import EvaluationRecord

from .errors import CardError, Refusal
from .frontmatter import _Loader as _Loader  # re-exported: the corpus tests read YAML as we do
from .frontmatter import split_front_matter
from .optout import OPT_OUT_TAG as OPT_OUT_TAG  # re-exported: its first home
from .optout import card_opt_out
from .results import card_records, result_hash, rounded
from .section import END, START, render_section, space_page

SOURCE_NAME = "evalbot"

_LINE_BREAK = re.compile(r"\r\n|\r|\n")


@dataclass(frozen=True)
class CardChange:
    """A proposed README.md.

    Attributes:
        text: The full new README.md.
        changed: False when ``text`` equals the existing card byte for byte: open no PR then.
        result_hash: sha256 of our rounded results (see `cardgen.results.result_hash`).
        model_index: Our `model-index` results (one per dataset, config and split).
    """

    text: str
    changed: bool
    result_hash: str
    model_index: list[dict[str, Any]]


def propose_card(
    existing: str | None,
    records: Sequence[EvaluationRecord],
    *,
    repo_id: str,
    space_url: str,
    class_groups: Mapping[str, Mapping[str, Sequence[str]]] | None = None,
) -> CardChange:
    """Merge the results of one model revision into its card.

    Args:
        existing: The current README.md, or None when the repo has none.
        records: The records of one model revision; original variants go on the card.
        repo_id: The model repository, e.g. ``"org/model"``.
        space_url: Base URL of the evalbot Space (``space_url`` of ``config/bot.yaml``).
        class_groups: Module id -> its ``class_groups``: the section names the weakest group
            of each result whose module declares groups.

    Returns:
        The proposed card. Applying it again with the same records gives ``changed=False``.

    Raises:
        CardError: When the card cannot be edited safely (see `Refusal` for the reasons).
        ValueError: When the records are inconsistent (see `card_records`).

    Example:
        >>> change = propose_card(None, records, repo_id="org/m", space_url="https://x")  # doctest: +SKIP
        >>> change.changed  # doctest: +SKIP
        True
    """
    selected = card_records(records)
    if selected[0].model_id != repo_id:
        raise ValueError(f"records are for {selected[0].model_id}, not {repo_id}")
    model_name = repo_id.rsplit("/", 1)[-1]
    if existing is None:
        newline = "\n"
        front: dict[str, Any] = {}
        body = f"{newline}# {model_name}{newline}"
    else:
        newline = _newline(existing)
        # A byte-order mark hides the front matter from the Hub's pattern; RepoCard.load drops it too.
        front, body = split_front_matter(existing.removeprefix("\ufeff"), repo_id=repo_id)
    if (opt_out := card_opt_out(front)) is not None:
        raise CardError(Refusal.OPTED_OUT, repo_id=repo_id, detail=opt_out)

    entry = _author_entry(front.get("model-index"), model_name=model_name, repo_id=repo_id)
    ours = _our_results(selected, model_name=model_name, repo_id=repo_id, space_url=space_url)
    entry["results"] = [r for r in entry["results"] if not _is_ours(r)] + ours
    front["model-index"] = [entry]
    section = render_section(
        records, repo_id=repo_id, space_url=space_url, newline=newline, class_groups=class_groups
    )
    body = _place_section(body, section, newline, repo_id)

    text = _render(front, body, newline, repo_id)
    _check_round_trip(text, body, entry, repo_id)
    return CardChange(
        text=text, changed=text != existing, result_hash=result_hash(records), model_index=ours
    )


def read_results(text: str, *, repo_id: str) -> list[EvalResult]:
    """The card's `model-index` results, flattened as huggingface_hub reads them.

    The card is read as `propose_card` reads it, with the same checks.

    Raises:
        CardError: When the front matter or its model-index cannot be read safely.

    Example:
        >>> [r.metric_type for r in read_results(card, repo_id="org/m")]  # doctest: +SKIP
        ['accuracy', 'f1']
    """
    front, _ = split_front_matter(text.removeprefix("\ufeff"), repo_id=repo_id)
    model_name = repo_id.rsplit("/", 1)[-1]
    entry = _author_entry(front.get("model-index"), model_name=model_name, repo_id=repo_id)
    results: list[EvalResult] = model_index_to_eval_results([entry])[1]
    return results


def decode_card(data: bytes, *, repo_id: str) -> str:
    """A README.md's bytes as text, line breaks kept.

    Raises:
        CardError: When the bytes are not UTF-8 (the Hub reads cards as UTF-8).

    Example:
        >>> decode_card("# Modèle".encode(), repo_id="org/m")
        '# Modèle'
    """
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        detail = f"{error.reason} at byte {error.start}; save the card as UTF-8"
        raise CardError(Refusal.NOT_UTF8, repo_id=repo_id, detail=detail) from error


def hub_metric(task: str, key: str) -> tuple[str, dict[str, str] | None] | None:
    """The model-index metric ``type`` and ``args`` a card gives our metric ``key`` of ``task``
    (in the first of its scoring schemes that puts it on cards); None for a metric that does not
    go on cards.

    Example:
        >>> hub_metric("text-classification", "macro_f1")
        ('f1', {'average': 'macro'})
        >>> hub_metric("text-classification", "weighted_f1") is None
        True
        >>> hub_metric("token-classification", "weighted_f1")  # word tags (part of speech)
        ('f1', {'average': 'weighted'})
    """
    spec = next((s for s in catalogue.schemes(task) if key in s.card), None)
    if spec is None:
        return None
    metric = spec.metric(key)
    assert metric.hub_type is not None  # TaskSpec checks it
    return metric.hub_type, dict(metric.hub_args) if metric.hub_args else None


def _newline(text: str) -> str:
    """The card's dominant line break."""
    crlf = text.count("\r\n")
    return "\r\n" if crlf > text.count("\n") - crlf else "\n"


def _our_results(
    records: Sequence[EvaluationRecord],
    *,
    model_name: str,
    repo_id: str,
    space_url: str,
) -> list[dict[str, Any]]:
    """Our model-index results: no `verifyToken`, the model's Space page as their source."""
    url = space_page(space_url, repo_id)
    eval_results = [
        EvalResult(
            task_type=r.task,
            task_name=r.task.replace("-", " ").title(),
            dataset_type=r.dataset_id,
            dataset_name=r.dataset_name,
            dataset_config=r.dataset_config,
            dataset_split=r.split,
            dataset_revision=r.dataset_revision,
            metric_type=m.hub_type or m.key,  # card metrics have a Hub id
            metric_value=value,
            metric_name=m.name,
            metric_args=dict(m.hub_args) if m.hub_args else None,
            source_name=SOURCE_NAME,
            source_url=url,
        )
        for r in records
        for m in catalogue.of(r.task, r.metrics).card_metrics()
        if (value := rounded(r.metrics.get(m.key))) is not None
    ]
    if not eval_results:
        return []
    results: list[dict[str, Any]] = eval_results_to_model_index(model_name, eval_results)[0][
        "results"
    ]
    return results


def _author_entry(value: object, *, model_name: str, repo_id: str) -> dict[str, Any]:
    """The card's single model-index entry, its results as the author wrote them."""
    if value is None or value == []:
        return {"name": model_name, "results": []}
    entries = [value] if isinstance(value, dict) else value  # a bare mapping: early Trainer cards
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise CardError(Refusal.MALFORMED_MODEL_INDEX, repo_id=repo_id, detail="not a list")
    if len(entries) > 1:
        raise CardError(Refusal.SEVERAL_MODELS, repo_id=repo_id, detail=f"{len(entries)} entries")
    entry = dict(entries[0])
    entry["results"] = entry.get("results") or []
    if not isinstance(entry.get("name"), str) or not isinstance(entry["results"], list):
        raise CardError(Refusal.MALFORMED_MODEL_INDEX, repo_id=repo_id, detail="name or results")
    try:
        model_index_to_eval_results([entry])
    except (KeyError, TypeError, AttributeError, ValueError) as error:
        detail = f"{type(error).__name__}: {error}"
        raise CardError(Refusal.MALFORMED_MODEL_INDEX, repo_id=repo_id, detail=detail) from error
    return entry


def _is_ours(result: object) -> bool:
    source = result.get("source") if isinstance(result, dict) else None
    return isinstance(source, dict) and source.get("name") == SOURCE_NAME


def _place_section(body: str, section: str, newline: str, repo_id: str) -> str:
    """Replace our section in place, or append it after one blank line."""
    starts, ends = body.count(START), body.count(END)
    if starts == ends == 0:
        tail = body[len(body.rstrip("\r\n")) :]
        separator = newline * max(0, 2 - len(_LINE_BREAK.findall(tail))) if body else ""
        return f"{body}{separator}{section}{newline}"
    start, end = body.find(START), body.find(END)
    if starts != 1 or ends != 1 or end < start:
        detail = f"{starts} start and {ends} end markers"
        raise CardError(Refusal.UNBALANCED_MARKERS, repo_id=repo_id, detail=detail)
    return body[:start] + section + body[end + len(END) :]


def _render(front: dict[str, Any], body: str, newline: str, repo_id: str) -> str:
    # The model-index is set as plain data: ModelCardData would rebuild it from flattened
    # EvalResults, which merges results that share a dataset, drops null values and keys it does
    # not know, and keeps one model name. The author's results must come back as they were.
    data = _card_data({k: v for k, v in front.items() if k != "model-index"}, repo_id)
    data["model-index"] = front["model-index"]
    metadata = data.to_yaml(line_break=newline, original_order=list(front))
    return f"---{newline}{metadata}{newline}---{newline}{body}"


def _card_data(fields: dict[str, Any], repo_id: str) -> ModelCardData:
    """``ModelCardData(**fields)``; a value it rejects (``tags: 5``, ``eval_results: x``, a key
    named ``self``) or would drop (``ignore_metadata_errors``, the values of ``tags: {a: b}``) is a
    `CardError` naming the key."""
    try:
        data = ModelCardData(**fields)
    except (TypeError, ValueError):
        pass
    else:
        lost = [k for k, v in fields.items() if v is not None and k not in vars(data)]
        lost += ["tags"] if isinstance(fields.get("tags"), dict) else []
        if not lost:
            return data
        detail = f"key '{lost[0]}' would be lost or changed by huggingface_hub; rename or remove it"
        raise CardError(Refusal.INVALID_METADATA, repo_id=repo_id, detail=detail)
    for key, value in fields.items():
        try:
            ModelCardData(**{key: value})
        except (TypeError, ValueError) as error:
            detail = f"key '{key}': {error}; fix or remove it"
            raise CardError(Refusal.INVALID_METADATA, repo_id=repo_id, detail=detail) from error
    raise CardError(Refusal.INVALID_METADATA, repo_id=repo_id)


def _check_round_trip(text: str, body: str, entry: dict[str, Any], repo_id: str) -> None:
    """The new card must read back, as huggingface_hub reads it, to what we meant to write."""
    try:
        card = ModelCard(text)
    except (ValueError, yaml.YAMLError) as error:
        raise CardError(Refusal.NO_ROUND_TRIP, repo_id=repo_id, detail=str(error)) from error
    _, expected = model_index_to_eval_results([entry])
    if card.text != body or card.data.get("eval_results") != expected:
        raise CardError(Refusal.NO_ROUND_TRIP, repo_id=repo_id)
