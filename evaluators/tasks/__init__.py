"""Task types, registered by name: see :mod:`evaluators.tasks.base`."""

from evaluators.tasks.base import (
    Context,
    Split,
    TaskType,
    all_processors,
    find,
    get,
    names,
    register,
    result,
)

__all__ = [
    "Context",
    "Split",
    "TaskType",
    "all_processors",
    "find",
    "get",
    "names",
    "register",
    "result",
]
