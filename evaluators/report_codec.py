"""What an evaluation sends back, as JSON: data that cannot run code where it is read.

The isolated child (and a Ray task) evaluates an uploaded model; the worker that reads the result
holds the Hub token, the signing key and the store. A pickle would let a subverted child run code
in the worker; this codec writes plain JSON with a few tags and reads back only evalbot's own
record types (the dataclasses of ``store.types``, the execution report and its metadata, the
child's failure), built through their constructors, field by field:

    ``{"$t": "EvaluationRecord", "f": {...}}``  a record; ``{"$u": [...]}`` a tuple;
    ``{"$b": "<base64>"}`` bytes; ``{"$dt": "<ISO 8601>"}`` a datetime; ``{"$td": s}`` a
    timedelta; ``{"$e": "FailureReason", "v": "..."}`` an enum member; ``{"$d": [[k, v], ...]}``
    a dict; ``{"$s": [...]}`` a set, ``{"$fs": [...]}`` a frozenset.

Anything else (a class not listed, an unknown field, a tag with the wrong shape, nesting deeper
than Python can parse, more bytes than allowed) is a :class:`ReportFormatError`.

Example:
    >>> decode(encode(ChildFailure("EvaluationError", "boom")))  # doctest: +SKIP
    ChildFailure(error='EvaluationError', detail='boom', reason=None, extra={})
"""

from __future__ import annotations

import base64
import dataclasses
import enum
import json
from datetime import datetime, timedelta
from typing import Any

import numpy as np

import store.types


class ReportFormatError(ValueError):
    """The bytes are not an evaluation result this codec writes."""


def _registry() -> tuple[dict[str, type], dict[str, type[enum.Enum]]]:
    from evaluators.executor import ExecutionReport
    from evaluators.isolation import ChildFailure
    from evaluators.metadata import ModelMetadata

    records: dict[str, type] = {}
    enums: dict[str, type[enum.Enum]] = {}
    for obj in vars(store.types).values():
        if not isinstance(obj, type) or obj.__module__ != store.types.__name__:
            continue
        if issubclass(obj, enum.Enum):
            enums[obj.__name__] = obj
        elif dataclasses.is_dataclass(obj):
            records[obj.__name__] = obj
    for cls in (ExecutionReport, ModelMetadata, ChildFailure):
        records[cls.__name__] = cls
    return records, enums


_REGISTRY: tuple[dict[str, type], dict[str, type[enum.Enum]]] | None = None


def _types() -> tuple[dict[str, type], dict[str, type[enum.Enum]]]:
    global _REGISTRY
    if _REGISTRY is None:
        _REGISTRY = _registry()
    return _REGISTRY


def _enc(value: Any) -> Any:
    if isinstance(value, enum.Enum):  # first: a StrEnum is a str too
        return {"$e": type(value).__name__, "v": value.value}
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, int | float):
        return value
    if isinstance(value, np.generic):
        return _enc(value.item())
    if isinstance(value, bytes | bytearray | memoryview):
        return {"$b": base64.b64encode(bytes(value)).decode("ascii")}
    if isinstance(value, datetime):
        return {"$dt": value.isoformat()}
    if isinstance(value, timedelta):
        return {"$td": value.total_seconds()}
    if isinstance(value, list):
        return [_enc(v) for v in value]
    if isinstance(value, tuple):
        return {"$u": [_enc(v) for v in value]}
    if isinstance(value, frozenset):
        return {"$fs": [_enc(v) for v in value]}
    if isinstance(value, set):
        return {"$s": [_enc(v) for v in value]}
    if isinstance(value, dict):
        return {"$d": [[_enc(k), _enc(v)] for k, v in value.items()]}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        name = type(value).__name__
        if _types()[0].get(name) is not type(value):
            raise TypeError(f"{type(value).__qualname__} is not an evaluation result type")
        fields = {f.name: _enc(getattr(value, f.name)) for f in dataclasses.fields(value)}
        return {"$t": name, "f": fields}
    raise TypeError(f"cannot send a {type(value).__qualname__} back from an evaluation")


def encode(value: object) -> bytes:
    """``value`` (a report, a failure, a record) as UTF-8 JSON.

    Raises:
        TypeError: it holds something that is not result data (a model object, a function ...).
    """
    return json.dumps(_enc(value), separators=(",", ":")).encode()


def _dec(value: Any) -> Any:
    if isinstance(value, list):
        return [_dec(v) for v in value]
    if not isinstance(value, dict):
        return value
    if len(value) == 1:
        ((tag, inner),) = value.items()
        if tag == "$u" and isinstance(inner, list):
            return tuple(_dec(v) for v in inner)
        if tag == "$b" and isinstance(inner, str):
            return base64.b64decode(inner, validate=True)
        if tag == "$dt" and isinstance(inner, str):
            return datetime.fromisoformat(inner)
        if tag == "$td" and isinstance(inner, int | float):
            return timedelta(seconds=inner)
        if tag == "$s" and isinstance(inner, list):
            return {_dec(v) for v in inner}
        if tag == "$fs" and isinstance(inner, list):
            return frozenset(_dec(v) for v in inner)
        if tag == "$d" and isinstance(inner, list):
            pairs = [_dec(p) for p in inner]
            if not all(isinstance(p, list) and len(p) == 2 for p in pairs):
                raise ReportFormatError("a dict entry is not a [key, value] pair")
            return {k: v for k, v in pairs}
    if set(value) == {"$e", "v"}:
        kind = _types()[1].get(str(value["$e"]))
        if kind is None:
            raise ReportFormatError(f"{value['$e']!r} is not an evaluation result enum")
        return kind(value["v"])
    if set(value) == {"$t", "f"} and isinstance(value["f"], dict):
        record = _types()[0].get(str(value["$t"]))
        if record is None:
            raise ReportFormatError(f"{value['$t']!r} is not an evaluation result type")
        cls: Any = record
        fields = {f.name: f for f in dataclasses.fields(cls)}
        unknown = set(value["f"]) - set(fields)
        if unknown:
            raise ReportFormatError(f"{cls.__name__} has no field {sorted(unknown)[0]!r}")
        data = {k: _dec(v) for k, v in value["f"].items()}
        later = {k: data.pop(k) for k in list(data) if not fields[k].init}
        obj = cls(**data)
        for key, item in later.items():
            object.__setattr__(obj, key, item)
        return obj
    raise ReportFormatError(f"an untagged object with keys {sorted(value)[:5]}")


def decode(data: bytes, *, max_bytes: int | None = None) -> object:
    """The value :func:`encode` wrote.

    Raises:
        ReportFormatError: not JSON, too large, too deep, or anything but result data.
    """
    if max_bytes is not None and len(data) > max_bytes:
        raise ReportFormatError(f"{len(data)} bytes, over the limit of {max_bytes}")
    try:
        return _dec(json.loads(data))
    except ReportFormatError:
        raise
    except RecursionError:
        raise ReportFormatError("nested too deeply") from None
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        raise ReportFormatError(f"{type(exc).__name__}: {exc}") from None
