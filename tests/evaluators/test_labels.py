"""Label mapping: the thesis's label cases."""

from __future__ import annotations

import pytest

from evaluators.errors import InsufficientMetadataError, LabelMappingError
from evaluators.labels import describe_mapping, map_labels
from store.types import FailureReason

EMOTION = ["sadness", "joy", "love", "anger", "fear", "surprise"]


def test_case_and_whitespace() -> None:
    id2label = {0: "Sadness", 1: " JOY ", 2: "love", 3: "Anger", 4: "fear", 5: "Surprise"}
    assert map_labels("m", id2label, EMOTION) == {i: i for i in range(6)}


def test_generic_labels_map_by_position() -> None:
    assert map_labels("m", {i: f"LABEL_{i}" for i in range(6)}, EMOTION) == {i: i for i in range(6)}


def test_generic_labels_with_another_count_fail() -> None:
    with pytest.raises(InsufficientMetadataError) as err:
        map_labels("m", {0: "LABEL_0", 1: "LABEL_1"}, EMOTION)
    assert err.value.reason is FailureReason.INSUFFICIENT_METADATA


def test_permuted_labels_follow_names() -> None:
    id2label = {0: "joy", 1: "sadness"}
    mapping = map_labels("m", id2label, EMOTION)
    assert mapping == {0: 1, 1: 0}
    assert describe_mapping(id2label, mapping, EMOTION) == {"joy": "joy", "sadness": "sadness"}


def test_aliases() -> None:
    news = ["World", "Sports", "Business", "Sci/Tech"]
    id2label = {0: "world", 1: "sports", 2: "business", 3: "Science/Technology"}
    mapping = map_labels("m", id2label, news, aliases={"Sci/Tech": ["Science/Technology"]})
    assert mapping == {0: 0, 1: 1, 2: 2, 3: 3}
    stars = ["1 star", "2 stars", "3 stars", "4 stars", "5 stars"]
    mapping = map_labels(
        "m", {i: str(i + 1) for i in range(5)}, stars, aliases={s: [s.split()[0]] for s in stars}
    )
    assert mapping == {i: i for i in range(5)}


def test_subset_is_fine() -> None:
    assert map_labels("m", {0: "joy", 1: "anger"}, EMOTION) == {0: 1, 1: 3}


def test_other_language_fails_listing_labels() -> None:
    id2label = dict(enumerate(["tristeza", "alegría", "amor", "ira", "miedo", "sorpresa"]))
    with pytest.raises(LabelMappingError) as err:
        map_labels("org/es", id2label, EMOTION)
    assert err.value.reason is FailureReason.UNKNOWN_LABELS
    assert err.value.unmatched == ["tristeza", "alegría", "amor", "ira", "miedo", "sorpresa"]
    assert "tristeza" in str(err.value) and "org/es" in str(err.value)


def test_two_labels_on_one_class_fail() -> None:
    with pytest.raises(LabelMappingError):
        map_labels("m", {0: "joy", 1: "Joy"}, EMOTION)


def test_no_labels() -> None:
    with pytest.raises(InsufficientMetadataError):
        map_labels("m", {}, EMOTION)


def test_repeated_model_label_is_placed_by_position() -> None:
    # ImageNet: the bird (134) and the machine (517) are both "crane" in many checkpoints
    dataset = ["tench", "crane", "goldfish", "crane2"]
    model = {0: "tench", 1: "crane", 2: "goldfish", 3: "crane"}
    assert map_labels("m", model, dataset) == {0: 0, 1: 1, 2: 2, 3: 3}
    # out of order, a repeated name cannot be placed
    with pytest.raises(LabelMappingError):
        map_labels("m", {0: "crane", 1: "tench", 2: "goldfish", 3: "crane"}, dataset)
