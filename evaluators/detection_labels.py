"""Map a detector's ``id2label`` onto a detection dataset's classes, COCO's conventions explicit.

COCO 2017 annotates 80 classes but numbers them with the 91 category ids of the original paper
(1-90 used, 11 of them never annotated). Detectors follow one of two conventions:

- 91 ids (DETR, Conditional/Deformable DETR, YOLOS): ``id2label`` has keys 0-90; the 80 COCO
  names sit at their category ids and every other key is ``"N/A"`` (key 0 too);
- 80 contiguous ids (RT-DETR, YOLO ports): keys 0-79 in COCO's order.

Rules, in order:

1. entries that name no class (``N/A``, ``background``, ``no object``, or just their own id as
   FiftyOne's ``ms-coco-labels`` has ``"12"``) and the 11 category names of the 91 that COCO 2017
   never annotates are dropped: their predictions are not counted;
2. generic labels ``LABEL_i``: with as many labels as the dataset has classes, ``LABEL_i`` is class
   ``i``; with 91 (or 90) labels on a COCO-80 dataset, ``LABEL_i`` is COCO category id ``i``;
3. otherwise names match as in :func:`evaluators.labels.map_labels` (case, separators, aliases).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from evaluators.errors import InsufficientMetadataError
from evaluators.labels import map_labels, normalize

COCO_LABELS = (
    "person", "bicycle", "car", "motorcycle", "airplane", "bus", "train", "truck", "boat",
    "traffic light", "fire hydrant", "stop sign", "parking meter", "bench", "bird", "cat", "dog",
    "horse", "sheep", "cow", "elephant", "bear", "zebra", "giraffe", "backpack", "umbrella",
    "handbag", "tie", "suitcase", "frisbee", "skis", "snowboard", "sports ball", "kite",
    "baseball bat", "baseball glove", "skateboard", "surfboard", "tennis racket", "bottle",
    "wine glass", "cup", "fork", "knife", "spoon", "bowl", "banana", "apple", "sandwich",
    "orange", "broccoli", "carrot", "hot dog", "pizza", "donut", "cake", "chair", "couch",
    "potted plant", "bed", "dining table", "toilet", "tv", "laptop", "mouse", "remote",
    "keyboard", "cell phone", "microwave", "oven", "toaster", "sink", "refrigerator", "book",
    "clock", "vase", "scissors", "teddy bear", "hair drier", "toothbrush",
)  # fmt: skip
# COCO category id (1-90) of each of the 80 classes, in COCO_LABELS order.
COCO_CATEGORY_IDS = (
    1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 27,
    28, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40, 41, 42, 43, 44, 46, 47, 48, 49, 50, 51, 52, 53,
    54, 55, 56, 57, 58, 59, 60, 61, 62, 63, 64, 65, 67, 70, 72, 73, 74, 75, 76, 77, 78, 79, 80,
    81, 82, 84, 85, 86, 87, 88, 89, 90,
)  # fmt: skip
# The 11 category names of the original 91 that COCO 2017 never annotates.
COCO_UNANNOTATED = (
    "street sign", "hat", "shoe", "eye glasses", "plate", "mirror", "window", "desk", "door",
    "blender", "hair brush",
)  # fmt: skip
NO_CLASS = ("n/a", "na", "background", "__background__", "no object", "none")
_GENERIC = re.compile(r"^LABEL_(\d+)$")


def coco91_id2label() -> dict[int, str]:
    """The 91-id ``id2label`` of DETR-family checkpoints: ``"N/A"`` where COCO has no class."""
    by_id = dict(zip(COCO_CATEGORY_IDS, COCO_LABELS, strict=True))
    return {i: by_id.get(i, "N/A") for i in range(91)}


def is_coco(dataset_labels: Sequence[str]) -> bool:
    return [normalize(label) for label in dataset_labels] == [normalize(c) for c in COCO_LABELS]


def map_detector_labels(
    repo_id: str,
    id2label: Mapping[int, str],
    dataset_labels: Sequence[str],
    *,
    aliases: Mapping[str, Sequence[str]] | None = None,
) -> dict[int, int]:
    """Return ``{model class id: dataset class id}`` for the ids that name a class.

    Example:
        >>> mapping = map_detector_labels("org/detr", coco91_id2label(), COCO_LABELS)
        >>> mapping[1], mapping[13], 0 in mapping, 12 in mapping  # person; stop sign; N/A twice
        (0, 11, False, False)

    Raises:
        InsufficientMetadataError: no labels, or generic labels matching no convention.
        LabelMappingError: names that match no dataset class (listed).
    """
    dataset_names = {normalize(label) for label in dataset_labels}
    for names in (aliases or {}).values():
        dataset_names.update(normalize(n) for n in names)
    dropped = set(NO_CLASS) | {normalize(n) for n in COCO_UNANNOTATED}
    named = {
        int(i): str(label)
        for i, label in id2label.items()
        if normalize(str(label)) not in dropped - dataset_names
        and not (str(label) == str(i) and str(label) not in dataset_names)  # "12": no name
    }
    if not named:
        raise InsufficientMetadataError(repo_id, "the model config names no detection classes")
    generic = {i: _GENERIC.match(label) for i, label in named.items()}
    if all(generic.values()) and len(named) in (90, 91) and is_coco(dataset_labels):
        position = {category: k for k, category in enumerate(COCO_CATEGORY_IDS)}
        ids = {i: int(m.group(1)) for i, m in generic.items() if m}
        return {i: position[c] for i, c in ids.items() if c in position}
    return map_labels(repo_id, named, dataset_labels, aliases=aliases)
