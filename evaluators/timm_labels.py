"""Class names of a timm checkpoint, read from its ``config.json``.

Rules, in order:
1. ``label_names`` (top level or in ``pretrained_cfg``) are the names, one per class output; with
   ``label_descriptions`` (name -> description, as timm exports ImageNet synsets) the
   descriptions are;
2. otherwise, when the pretrained tag names an ImageNet dataset (``a1_in1k``,
   ``fb_in22k_ft_in1k``, ``augreg_in21k``: the last ``in1k``/``in12k``/``in21k``/``in22k`` part)
   and ``num_classes`` is that of an ImageNet subset timm knows (timm's own
   ``infer_imagenet_subset``) of the same dataset, the subset's WordNet lemmas, as in the Hub
   dataset ILSVRC/imagenet-1k ("tench, Tinca tinca"); a lemma that names two classes keeps it
   for the first and is numbered for the next ("crane", "crane2");
3. a tag that names ImageNet with any other ``num_classes`` (a head replaced by a fine-tune) is
   an :class:`InsufficientMetadataError`: ImageNet names would be wrong names; with
   ``num_classes`` 0 (no classifier head) an :class:`UnsupportedModelError`;
4. anything else is ``None``: the config names no classes.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from typing import Any

from evaluators.errors import InsufficientMetadataError, UnsupportedModelError

_TAG_DATASET = re.compile(r"^in(1|12|21|22)k$")
# The ImageNet dataset a tag names, by the subsets timm infers from num_classes. The full
# ImageNet (fall 2011) is called both in21k and in22k; its subsets are 21k-miil, 22k, 22k-ms and
# Google's 21k.
_DATASETS = {"1": "ImageNet-1k", "12": "ImageNet-12k", "21": "ImageNet-21k", "22": "ImageNet-21k"}
_SUBSET_DATASET = {
    "imagenet-1k": "ImageNet-1k",
    "imagenet-12k": "ImageNet-12k",
    "imagenet-21k-miil": "ImageNet-21k",
    "imagenet-22k": "ImageNet-21k",
    "imagenet-22k-ms": "ImageNet-21k",
    "imagenet-21k-goog": "ImageNet-21k",
}


def timm_label_names(repo_id: str, cfg: Mapping[str, Any]) -> list[str] | None:
    """The class names of a timm checkpoint in class-index order, or ``None`` when it has none.

    Example:
        >>> names = timm_label_names(
        ...     "timm/resnet50.a1_in1k",
        ...     {"architecture": "resnet50", "num_classes": 1000, "pretrained_cfg": {"tag": "a1_in1k"}},
        ... )
        >>> names[0], names[517]
        ('tench, Tinca tinca', 'crane2')

    Raises:
        InsufficientMetadataError: ``label_names`` that are not one text per class output, or a
            pretrained tag that names ImageNet on a model whose ``num_classes`` is not that of the
            ImageNet subset.
        UnsupportedModelError: an ImageNet tag on a checkpoint without a classifier head.
    """
    pretrained = cfg.get("pretrained_cfg", cfg)
    if not isinstance(pretrained, Mapping):
        pretrained = {}
    num_classes = cfg.get("num_classes", pretrained.get("num_classes"))
    names = cfg.get("label_names") or pretrained.get("label_names")
    if names:
        descriptions = cfg.get("label_descriptions") or pretrained.get("label_descriptions")
        return _explicit(repo_id, names, descriptions, num_classes)
    return _imagenet(repo_id, pretrained.get("tag"), num_classes)


def _explicit(repo_id: str, names: object, descriptions: object, num_classes: object) -> list[str]:
    if isinstance(names, Mapping):  # timm's {index: name} form
        try:
            by_index = {int(i): name for i, name in names.items()}
        except (TypeError, ValueError):
            by_index = {}
        if sorted(by_index) != list(range(len(names))):
            raise InsufficientMetadataError(
                repo_id,
                "label_names in config.json must name every class output 0..n-1: "
                "give a list of names in class-index order",
            )
        names = [by_index[i] for i in range(len(names))]
    if not isinstance(names, list | tuple) or not all(isinstance(n, str) for n in names):
        raise InsufficientMetadataError(
            repo_id, "label_names in config.json must be a list of class names (text)"
        )
    if _is_count(num_classes) and len(names) != num_classes:
        raise InsufficientMetadataError(
            repo_id,
            f"config.json lists {len(names)} label_names but num_classes is {num_classes}: "
            "give one name per class output, in class-index order",
        )
    if isinstance(descriptions, Mapping) and all(
        isinstance(descriptions.get(n), str) for n in names
    ):
        return _numbered([descriptions[n] for n in names])
    return list(names)


def _imagenet(repo_id: str, tag: object, num_classes: object) -> list[str] | None:
    from timm.data import infer_imagenet_subset

    parts = [m.group(1) for p in str(tag or "").split("_") if (m := _TAG_DATASET.match(p))]
    if not parts:
        return None
    dataset = _DATASETS[parts[-1]]
    if num_classes == 0:
        raise UnsupportedModelError(
            repo_id, "config.json has num_classes 0: the checkpoint has no classifier head"
        )
    subset = infer_imagenet_subset({"num_classes": num_classes if _is_count(num_classes) else None})
    if subset is None or _SUBSET_DATASET.get(subset) != dataset:
        raise InsufficientMetadataError(
            repo_id,
            f"config.json's pretrained tag {tag!r} names {dataset} but num_classes is "
            f"{'missing' if num_classes is None else num_classes}, not the class count of an {dataset} subset timm knows, so the "
            "head was trained on other classes: add label_names (one class name per output, "
            "in class-index order) to config.json",
        )
    return list(_subset_names(subset))


def _is_count(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


@functools.cache
def _subset_names(subset: str) -> tuple[str, ...]:
    from timm.data import ImageNetInfo

    return tuple(_numbered(list(ImageNetInfo(subset).label_descriptions())))


def _numbered(names: list[str]) -> list[str]:
    """Repeated names numbered from their second use: ``crane, crane`` -> ``crane, crane2``."""
    seen: dict[str, int] = {}
    out = []
    for name in names:
        seen[name] = seen.get(name, 0) + 1
        out.append(name if seen[name] == 1 else f"{name}{seen[name]}")
    return out
