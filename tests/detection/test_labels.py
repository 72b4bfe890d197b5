"""Detector labels: COCO's 91-id and 80-class conventions, N/A entries, generic labels, aliases."""

from __future__ import annotations

import pytest

from evaluators.detection_labels import (
    COCO_CATEGORY_IDS,
    COCO_LABELS,
    coco91_id2label,
    map_detector_labels,
)
from evaluators.errors import InsufficientMetadataError, LabelMappingError


def test_coco_tables() -> None:
    assert len(COCO_LABELS) == len(set(COCO_LABELS)) == 80
    assert len(COCO_CATEGORY_IDS) == 80 and tuple(sorted(COCO_CATEGORY_IDS)) == COCO_CATEGORY_IDS
    table = coco91_id2label()
    assert len(table) == 91 and list(table.values()).count("N/A") == 11
    assert table[1] == "person" and table[90] == "toothbrush" and table[0] == table[12] == "N/A"


def test_detr_91_ids_with_na_entries() -> None:
    mapping = map_detector_labels("org/detr", coco91_id2label(), COCO_LABELS)
    assert len(mapping) == 80
    assert [mapping[c] for c in COCO_CATEGORY_IDS] == list(range(80))
    assert not {0, 12, 26, 29, 30, 45, 66, 68, 69, 71, 83} & set(mapping)


def test_80_contiguous_ids() -> None:
    mapping = map_detector_labels("org/rtdetr", dict(enumerate(COCO_LABELS)), COCO_LABELS)
    assert mapping == {i: i for i in range(80)}


def test_generic_labels_follow_the_convention_of_their_count() -> None:
    ninety_one = {i: f"LABEL_{i}" for i in range(91)}
    mapping = map_detector_labels("org/m", ninety_one, COCO_LABELS)
    assert mapping[1] == 0 and mapping[90] == 79 and 12 not in mapping and len(mapping) == 80
    eighty = {i: f"LABEL_{i}" for i in range(80)}
    assert map_detector_labels("org/m", eighty, COCO_LABELS) == {i: i for i in range(80)}
    with pytest.raises(InsufficientMetadataError, match="generic labels"):
        map_detector_labels("org/m", {i: f"LABEL_{i}" for i in range(85)}, COCO_LABELS)


def test_the_91_names_of_the_paper_and_background() -> None:
    """Models naming the 11 never-annotated categories (e.g. torchvision's list) still map."""
    id2label = {0: "__background__", **coco91_id2label()}
    id2label[12], id2label[26] = "street sign", "hat"
    mapping = map_detector_labels("org/m", id2label, COCO_LABELS)
    assert len(mapping) == 80 and 12 not in mapping and 26 not in mapping


def test_aliases_and_unknown_names() -> None:
    labels = ["motorcycle", "person", "sofa_bed"]
    id2label = {0: "N/A", 1: "Motorbike", 2: "person"}
    with pytest.raises(LabelMappingError, match="Motorbike"):
        map_detector_labels("org/m", id2label, labels)
    mapping = map_detector_labels("org/m", id2label, labels, aliases={"motorcycle": ["motorbike"]})
    assert mapping == {1: 0, 2: 1}
    with pytest.raises(InsufficientMetadataError):
        map_detector_labels("org/m", {0: "N/A"}, labels)


def test_a_dataset_class_named_like_a_dropped_entry_is_kept() -> None:
    mapping = map_detector_labels("org/m", {0: "background", 1: "cat"}, ["background", "cat"])
    assert mapping == {0: 0, 1: 1}


def test_fiftyone_coco_labels_name_unused_ids_by_number() -> None:
    id2label = {0: "background", **coco91_id2label()}
    for i, label in list(id2label.items()):
        if label == "N/A":
            id2label[i] = str(i)
    mapping = map_detector_labels("fiftyone/m", id2label, COCO_LABELS)
    assert len(mapping) == 80 and mapping[90] == 79
