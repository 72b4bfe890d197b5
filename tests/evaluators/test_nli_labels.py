"""NLI and paraphrase labels: the spellings and class orders of real Hub models, mapped by name."""

from __future__ import annotations

import pytest

from evaluators.errors import InsufficientMetadataError, LabelMappingError
from evaluators.labels import describe_mapping, map_labels
from store.types import FailureReason

GLUE_MNLI = ["entailment", "neutral", "contradiction"]  # nyu-mll/glue mnli's ClassLabel order
GLUE_RTE = ["entailment", "not_entailment"]
GLUE_MRPC = ["not_equivalent", "equivalent"]
GLUE_QQP = ["not_duplicate", "duplicate"]


def test_roberta_large_mnli_order_maps_by_name() -> None:
    # FacebookAI/roberta-large-mnli's config.json: the reverse of GLUE's order
    id2label = {0: "CONTRADICTION", 1: "NEUTRAL", 2: "ENTAILMENT"}
    mapping = map_labels("FacebookAI/roberta-large-mnli", id2label, GLUE_MNLI)
    assert mapping == {0: 2, 1: 1, 2: 0}
    assert describe_mapping(id2label, mapping, GLUE_MNLI) == {
        "CONTRADICTION": "contradiction",
        "NEUTRAL": "neutral",
        "ENTAILMENT": "entailment",
    }


@pytest.mark.parametrize(
    ("id2label", "expected"),
    [
        ({0: "entailment", 1: "neutral", 2: "contradiction"}, {0: 0, 1: 1, 2: 2}),
        ({0: "contradiction", 1: "entailment", 2: "neutral"}, {0: 2, 1: 0, 2: 1}),
        ({0: "entails", 1: "neutral", 2: "contradicts"}, {0: 0, 1: 1, 2: 2}),
        ({0: "Contradictory", 1: "Neutral", 2: "Entailed"}, {0: 2, 1: 1, 2: 0}),
        ({0: "NEUTRAL", 1: "CONTRADICT", 2: "ENTAIL"}, {0: 1, 1: 2, 2: 0}),
    ],
)
def test_nli_spellings_in_any_order(id2label: dict[int, str], expected: dict[int, int]) -> None:
    assert map_labels("m", id2label, GLUE_MNLI) == expected


@pytest.mark.parametrize(
    "id2label",
    [
        {0: "not_entailment", 1: "entailment"},
        {0: "NOT_ENTAILMENT", 1: "ENTAILMENT"},
        {0: "non-entailment", 1: "entails"},
        {0: "not entailed", 1: "Entailment"},
    ],
)
def test_rte_binary_spellings(id2label: dict[int, str]) -> None:
    assert map_labels("m", id2label, GLUE_RTE) == {0: 1, 1: 0}


@pytest.mark.parametrize(
    ("id2label", "labels", "expected"),
    [
        ({0: "equivalent", 1: "not_equivalent"}, GLUE_MRPC, {0: 1, 1: 0}),
        ({0: "not paraphrase", 1: "paraphrase"}, GLUE_MRPC, {0: 0, 1: 1}),
        ({0: "duplicate", 1: "not_duplicate"}, GLUE_QQP, {0: 1, 1: 0}),
        ({0: "NOT_DUPLICATE", 1: "is_duplicate"}, GLUE_QQP, {0: 0, 1: 1}),
        ({0: "Paraphrase", 1: "Not a paraphrase"}, GLUE_QQP, {0: 1, 1: 0}),
    ],
)
def test_paraphrase_spellings(
    id2label: dict[int, str], labels: list[str], expected: dict[int, int]
) -> None:
    assert map_labels("m", id2label, labels) == expected


def test_exact_names_win_over_synonyms() -> None:
    # a dataset naming both spellings as classes: each model label takes its own
    labels = ["entailment", "entails"]
    assert map_labels("m", {0: "entails", 1: "entailment"}, labels) == {0: 1, 1: 0}


def test_a_two_way_model_on_a_three_way_dataset_is_refused() -> None:
    with pytest.raises(LabelMappingError) as err:
        map_labels("m", {0: "entailment", 1: "not_entailment"}, GLUE_MNLI)
    assert err.value.unmatched == ["not_entailment"]


def test_generic_labels_map_by_position_by_default() -> None:
    id2label = {i: f"LABEL_{i}" for i in range(3)}
    assert map_labels("m", id2label, GLUE_MNLI) == {0: 0, 1: 1, 2: 2}


def test_generic_labels_refused_where_the_module_says_so() -> None:
    id2label = {i: f"LABEL_{i}" for i in range(3)}
    with pytest.raises(InsufficientMetadataError) as err:
        map_labels("org/nli", id2label, GLUE_MNLI, positional=False)
    message = str(err.value)
    assert err.value.reason is FailureReason.INSUFFICIENT_METADATA
    assert "generic" in message and "several" in message and "config.json" in message
    assert "id2label" in message


def test_named_labels_still_map_where_positions_are_refused() -> None:
    id2label = {0: "CONTRADICTION", 1: "NEUTRAL", 2: "ENTAILMENT"}
    assert map_labels("m", id2label, GLUE_MNLI, positional=False) == {0: 2, 1: 1, 2: 0}
