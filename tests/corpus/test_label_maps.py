"""Model label maps through the loaders' path: `config.json` → transformers' config →
`model_labels` → `map_labels`. A correct mapping, or a typed failure naming the labels."""

from __future__ import annotations

from pathlib import Path

import pytest

from evaluators.config import EvaluationModule, load_module
from evaluators.errors import EvaluationError, InsufficientMetadataError, LabelMappingError
from evaluators.labels import map_labels, model_labels, normalize
from evaluators.loading import load_config
from store.types import FailureReason
from tests.corpus import label_maps

CASES = label_maps.generate()
TASKS = Path(__file__).resolve().parents[2] / "config" / "tasks" / "text-classification"
MODULES = {name: load_module(TASKS / f"{name}.yaml") for name in label_maps.MODULES}
REPO_ID = "acme/labels"


def _mapping(case: label_maps.LabelCase, folder: Path) -> dict[int, int]:
    (folder / "config.json").write_bytes(case.config)
    config = load_config(REPO_ID, folder)
    module = MODULES[case.module]
    labels = model_labels(REPO_ID, config.id2label)
    return map_labels(REPO_ID, labels, module.dataset.labels, aliases=module.label_aliases)


def _check_mapping(
    mapping: dict[int, int], module: EvaluationModule, id2label: dict[int, str]
) -> None:
    labels = module.dataset.labels
    assert set(mapping) == set(id2label)
    assert len(set(mapping.values())) == len(mapping), "two model classes on one dataset class"
    assert all(0 <= j < len(labels) for j in mapping.values())
    spellings = {
        j: {normalize(label), *map(normalize, module.label_aliases.get(label, []))}
        for j, label in enumerate(labels)
    }
    generic = all(str(v).startswith("LABEL_") for v in id2label.values())
    names = [normalize(v) for v in id2label.values()]
    for i, j in mapping.items():
        # a name the model repeats is placed by its position (README: ImageNet's two cranes)
        by_position = i == j and names.count(normalize(id2label[i])) > 1
        assert generic or by_position or normalize(id2label[i]) in spellings[j], id2label[i]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_label_map_maps_or_fails_typed(case: label_maps.LabelCase, tmp_path: Path) -> None:
    try:
        mapping = _mapping(case, tmp_path)
    except (InsufficientMetadataError, LabelMappingError) as error:
        assert error.reason in (FailureReason.INSUFFICIENT_METADATA, FailureReason.UNKNOWN_LABELS)
        assert str(error).startswith(f"{REPO_ID}: ")
        if isinstance(error, LabelMappingError):
            assert error.unmatched and "label_aliases" in str(error)
        assert case.expected in (None, error.reason.value), str(error)[:300]
        return
    except EvaluationError as error:  # any other typed failure would be a surprise here
        pytest.fail(f"unexpected {type(error).__name__}: {error}")
    config = load_config(REPO_ID, tmp_path)
    _check_mapping(mapping, MODULES[case.module], model_labels(REPO_ID, config.id2label))
    assert not isinstance(case.expected, str), f"mapped {mapping}, expected {case.expected}"
    assert case.expected in (None, mapping)
