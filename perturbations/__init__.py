"""Pure, seeded perturbations of images, texts and boxes, registered by name.

Example:
    >>> from perturbations import get, from_spec
    >>> get("mirrored").description
    'Mirrored: each image is flipped left to right.'
    >>> from_spec({"name": "gaussian_noise", "severity": 3}).variant_id
    'gaussian_noise(severity=3)'
"""

from perturbations.errors import (
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

__all__ = [
    "ImageFormatError",
    "ModalityError",
    "Perturbation",
    "PerturbationParamError",
    "UnknownPerturbationError",
    "describe_all",
    "from_spec",
    "get",
    "names",
    "suggest",
]
