"""Pure, seeded perturbations of images, texts, audio and boxes, and of tagged words and QA
answer spans (kept aligned, see `perturbations.spans`), registered by name.

Example:
    >>> from perturbations import get, from_spec
    >>> get("mirrored").description
    'Mirrored: each image is flipped left to right.'
    >>> from_spec({"name": "gaussian_noise", "severity": 3}).variant_id
    'gaussian_noise(severity=3)'
"""

from perturbations.errors import (
    AlignmentError,
    AudioFormatError,
    ImageFormatError,
    ModalityError,
    PerturbationParamError,
    UnknownPerturbationError,
)
from perturbations.registry import (
    Perturbation,
    describe_all,
    from_spec,
    get,
    names,
    suggest,
)
from perturbations.spans import QA_TARGETS, QAExample, QATarget

__all__ = [
    "QA_TARGETS",
    "AlignmentError",
    "AudioFormatError",
    "ImageFormatError",
    "ModalityError",
    "Perturbation",
    "PerturbationParamError",
    "QAExample",
    "QATarget",
    "UnknownPerturbationError",
    "describe_all",
    "from_spec",
    "get",
    "names",
    "suggest",
]
