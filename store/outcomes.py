"""Per-example outcomes, packed: bits for right or wrong, small integers for classes, uint16 for
confidences (see :class:`store.types.Outcomes`).

Pure numpy, no pymongo: the bot writes them, the results dataset carries them, and the Space
reads them to compare two models on the same examples.

Example:
    >>> import numpy as np
    >>> packed = pack(truth=np.array([0, 1, 2]), predicted=np.array([0, 2, 2]),
    ...               confidence=np.array([0.9, 0.6, 1.0]))
    >>> packed.count, correct(packed).tolist(), predicted(packed).tolist()
    (3, [True, False, True], [0, 2, 2])
    >>> [round(float(c), 4) for c in confidence(packed)]
    [0.9, 0.6, 1.0]
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from store.types import Outcomes

CONFIDENCE_SCALE = 65535  # a confidence is kept as round(p * 65535): within 7.7e-6 of p


class OutcomesError(ValueError):
    """Outcomes that do not fit together (lengths, class ids, confidences out of range)."""


def _ids(values: npt.ArrayLike, count: int, name: str) -> bytes:
    array = np.asarray(values, dtype=np.int64)
    if array.shape != (count,):
        raise OutcomesError(f"{name}: {array.shape[0]} values for {count} examples")
    if array.size and (array.min() < -1 or array.max() > np.iinfo(np.int32).max):
        raise OutcomesError(f"{name}: class ids must lie in [-1, 2**31)")
    small = not array.size or array.max() <= np.iinfo(np.int16).max
    return array.astype("<i2" if small else "<i4").tobytes()


def pack(
    *,
    right: npt.ArrayLike | None = None,
    truth: npt.ArrayLike | None = None,
    predicted: npt.ArrayLike | None = None,
    confidence: npt.ArrayLike | None = None,
) -> Outcomes:
    """Pack per-example outcomes; ``right`` (a bool per example) defaults to ``predicted == truth``.

    Raises:
        OutcomesError: On arrays of different lengths, class ids below -1, or confidences
            outside [0, 1].
    """
    if right is None:
        if truth is None or predicted is None:
            raise OutcomesError("give right, or both truth and predicted")
        hits = np.asarray(truth, dtype=np.int64) == np.asarray(predicted, dtype=np.int64)
    else:
        hits = np.asarray(right, dtype=bool)
    count = int(hits.shape[0])
    packed_confidence = b""
    if confidence is not None:
        conf = np.asarray(confidence, dtype=np.float64)
        if conf.shape != (count,):
            raise OutcomesError(f"confidence: {conf.shape[0]} values for {count} examples")
        if conf.size and (not np.isfinite(conf).all() or conf.min() < 0 or conf.max() > 1):
            raise OutcomesError("confidence: values must lie in [0, 1]")
        packed_confidence = np.rint(conf * CONFIDENCE_SCALE).astype("<u2").tobytes()
    return Outcomes(
        count=count,
        correct=np.packbits(hits, bitorder="little").tobytes(),
        truth=b"" if truth is None else _ids(truth, count, "truth"),
        predicted=b"" if predicted is None else _ids(predicted, count, "predicted"),
        confidence=packed_confidence,
    )


def correct(outcomes: Outcomes) -> npt.NDArray[np.bool_]:
    """One bool per example: was it right."""
    bits = np.frombuffer(outcomes.correct, dtype=np.uint8)
    return np.unpackbits(bits, count=outcomes.count, bitorder="little").astype(bool)


def _unpack_ids(data: bytes, count: int) -> npt.NDArray[np.int64] | None:
    if not data:
        return None
    if len(data) == 2 * count:
        return np.frombuffer(data, dtype="<i2").astype(np.int64)
    if len(data) == 4 * count:
        return np.frombuffer(data, dtype="<i4").astype(np.int64)
    raise OutcomesError(f"{len(data)} bytes of class ids for {count} examples")


def truth(outcomes: Outcomes) -> npt.NDArray[np.int64] | None:
    """The dataset's class per example, or None when the task has none."""
    return _unpack_ids(outcomes.truth, outcomes.count)


def predicted(outcomes: Outcomes) -> npt.NDArray[np.int64] | None:
    """The predicted dataset class per example (-1: none), or None when not kept."""
    return _unpack_ids(outcomes.predicted, outcomes.count)


def confidence(outcomes: Outcomes) -> npt.NDArray[np.float64] | None:
    """The predicted class's probability per example, or None when not kept."""
    if not outcomes.confidence:
        return None
    if len(outcomes.confidence) != 2 * outcomes.count:
        raise OutcomesError(
            f"{len(outcomes.confidence)} bytes of confidences for {outcomes.count} examples"
        )
    return np.frombuffer(outcomes.confidence, dtype="<u2").astype(np.float64) / CONFIDENCE_SCALE
