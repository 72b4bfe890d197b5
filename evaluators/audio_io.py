"""Audio for speech tasks: decode a dataset's audio value to mono float32 at a model's rate.

Decoding goes through `soundfile` (libsndfile 1.2.2 here), never through ``datasets``' own
decoder: ``datasets`` 5.x decodes its ``Audio`` feature with torchcodec (FFmpeg), which evalbot
does not install. libsndfile reads WAV, FLAC, OGG (Vorbis and Opus), MP3 and AIFF, from bytes or
a file, detecting the format from its content; M4A/AAC and WMA it cannot read.

A dataset's audio column is read undecoded: `undecoded` casts an ``Audio`` column to
``Audio(decode=False)`` (an Arrow-level cast, no torchcodec needed), so every row is the stored
``{"bytes": ..., "path": ...}``; reading the dataset with ``with_format("arrow")`` (as
`evaluators.streaming.Column` does) yields the same dicts. `decode` takes that dict, raw bytes,
a local path, or an already decoded ``{"array": ..., "sampling_rate": ...}``.

Channels are averaged to mono. Resampling is polyphase (`scipy.signal.resample_poly`) by the
exact rational factor to_rate / from_rate reduced by their gcd (44.1 kHz → 16 kHz is up 160, down
441): a Kaiser-windowed (β = 5) low-pass FIR anti-aliasing filter applied at the intermediate
rate without computing the discarded samples, so it is exact for any pair of integer rates, does
not wrap around the ends as FFT resampling (`scipy.signal.resample`) does, and does not alias as
linear interpolation does. n samples become ``ceil(n * up / down)``. Matching rates are left
untouched.

Example:
    >>> ds = undecoded(ds, "audio")  # doctest: +SKIP
    >>> wave = decode(ds[0]["audio"], target_rate=16000, row=0)  # doctest: +SKIP
    >>> wave.dtype, wave.ndim  # doctest: +SKIP
    (dtype('float32'), 1)
"""

from __future__ import annotations

import io
import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import datasets
import numpy as np
import numpy.typing as npt
import soundfile as sf
from scipy import signal

Wave = npt.NDArray[np.float32]

READABLE = "WAV, FLAC, OGG (Vorbis, Opus), MP3 or AIFF"
_MAGIC = (
    (b"RIFF", "WAV"),
    (b"RF64", "WAV (RF64)"),
    (b"fLaC", "FLAC"),
    (b"OggS", "OGG"),
    (b"ID3", "MP3"),
    (b"FORM", "AIFF"),
    (b"\x30\x26\xb2\x75", "WMA"),
)
_BINARY = ("binary", "large_binary", "string", "large_string")


class AudioDecodeError(ValueError):
    """An audio value cannot be decoded, or a column does not hold audio.

    The message names the row (``row``) or the column (``column``), the format found, and what
    to do about it.
    """

    def __init__(self, message: str, *, row: int | None = None, column: str | None = None) -> None:
        where = f"row {row}: " if row is not None else f"column '{column}': " if column else ""
        super().__init__(where + message)
        self.row = row
        self.column = column


def decode(value: Any, *, target_rate: int, row: int | None = None) -> Wave:
    """One audio value as mono float32 samples at ``target_rate`` Hz.

    Args:
        value: ``{"bytes": ..., "path": ...}`` (an ``Audio(decode=False)`` row; the bytes if
            set, else the local file at ``path``), encoded ``bytes``, a local path, or
            ``{"array": ..., "sampling_rate": ...}`` (already decoded: 1-D, or 2-D with the
            shorter axis as channels; integer samples are scaled to [-1, 1)).
        target_rate: The model's sampling rate (its feature extractor's ``sampling_rate``).
        row: The dataset row, named in errors.

    Returns:
        A new 1-D float32 array (empty for a file of no frames).

    Raises:
        AudioDecodeError: undecodable bytes, a missing file, or non-finite samples.

    Example:
        >>> decode({"array": [0.0, 0.5, 0.0, -0.5], "sampling_rate": 8000}, target_rate=8000)
        array([ 0. ,  0.5,  0. , -0.5], dtype=float32)
    """
    samples, rate = load(value, row=row)
    return resample(samples, rate, target_rate)


def decode_batch(values: Sequence[Any], *, target_rate: int, start: int = 0) -> list[Wave]:
    """`decode` for rows ``start``, ``start + 1``, ... (the numbers errors name)."""
    return [decode(v, target_rate=target_rate, row=start + i) for i, v in enumerate(values)]


def load(value: Any, *, row: int | None = None) -> tuple[Wave, int]:
    """One audio value (as `decode` takes it) as mono float32 samples at its own rate."""
    if isinstance(value, Mapping) and "array" in value:
        return _from_array(value, row)
    data, name = _source(value, row)
    try:
        frames, rate = sf.read(data, dtype="float32", always_2d=True)
    except sf.SoundFileError as exc:
        raise _unreadable(name, exc, row) from None
    wave = np.ascontiguousarray(frames.mean(axis=1, dtype=np.float32))
    if not np.isfinite(wave).all():
        raise AudioDecodeError(f"{name} holds NaN or infinite samples; fix the file", row=row)
    return wave, int(rate)


def duration_seconds(value: Any, *, row: int | None = None) -> float:
    """The length of one audio value in seconds, from the file's header (nothing is decoded)."""
    if isinstance(value, Mapping) and "array" in value:
        samples, rate = _from_array(value, row)
        return len(samples) / rate
    data, name = _source(value, row)
    try:
        return float(sf.info(data).duration)
    except sf.SoundFileError as exc:
        raise _unreadable(name, exc, row) from None


def resample(samples: npt.ArrayLike, from_rate: int, to_rate: int) -> Wave:
    """Mono ``samples`` at ``from_rate`` Hz resampled to ``to_rate`` Hz (polyphase, see above).

    ``samples`` itself, as float32, when the rates match.

    Example:
        >>> len(resample(np.zeros(44100, np.float32), 44100, 16000))
        16000
    """
    for name, rate in (("from_rate", from_rate), ("to_rate", to_rate)):
        if isinstance(rate, bool) or not isinstance(rate, int | np.integer) or rate <= 0:
            raise ValueError(f"{name} must be a positive int (got {rate!r})")
    x = np.asarray(samples, dtype=np.float32)
    if x.ndim != 1:
        raise ValueError(f"resample takes mono 1-D samples (got shape {x.shape})")
    if from_rate == to_rate:
        return x
    g = math.gcd(int(from_rate), int(to_rate))
    out = signal.resample_poly(x, int(to_rate) // g, int(from_rate) // g)
    return np.ascontiguousarray(out, dtype=np.float32)


def undecoded(ds: datasets.Dataset, column: str) -> datasets.Dataset:
    """``ds`` with ``column`` readable by `decode` without ``datasets`` decoding it.

    An ``Audio`` column is cast to ``Audio(decode=False)``: rows become ``{"bytes", "path"}``.
    A binary column (encoded files), a string column (local paths), a struct of ``bytes`` and
    ``path``, or one of ``array`` and ``sampling_rate`` is returned as it is.

    Raises:
        AudioDecodeError: no such column, or a column of another type.

    Example:
        >>> ds = datasets.Dataset.from_dict({"audio": [{"bytes": b"RIFF...", "path": None}]})
        >>> undecoded(ds.cast_column("audio", datasets.Audio()), "audio").features["audio"].decode
        False
    """
    if column not in ds.features:
        raise AudioDecodeError(
            f"no such column (columns: {', '.join(ds.column_names)}); fix columns.input in the "
            "module YAML",
            column=column,
        )
    feature = ds.features[column]
    if isinstance(feature, datasets.Audio):
        return ds if not feature.decode else ds.cast_column(column, datasets.Audio(decode=False))
    if isinstance(feature, datasets.Value) and feature.dtype in _BINARY:
        return ds
    if isinstance(feature, dict) and ({"bytes", "path"} & set(feature) or "array" in feature):
        return ds
    raise AudioDecodeError(
        f"holds {feature}, not audio; name a column of encoded audio (an Audio feature, bytes or "
        "paths) in columns.input",
        column=column,
    )


def _source(value: Any, row: int | None) -> tuple[io.BytesIO | str, str]:
    """The file-like object or local path to read, and a name for it in errors."""
    path: str | None = None
    if isinstance(value, Mapping) and ("bytes" in value or "path" in value):
        path = value.get("path")
        value = value["bytes"] if value.get("bytes") is not None else path
    if isinstance(value, bytes | bytearray | memoryview):
        data = bytes(value)
        fmt = _sniff(data, path)
        return io.BytesIO(data), f"{fmt} audio ({len(data)} bytes{f', {path}' if path else ''})"
    if isinstance(value, str | os.PathLike):
        local = Path(value)
        if not local.is_file():
            raise AudioDecodeError(
                f"audio file '{value}' is not a local file (a path inside a dataset repo or a "
                "URL is not read); use a dataset with the audio embedded as bytes (a parquet "
                "export, or push_to_hub with an Audio feature embeds them)",
                row=row,
            )
        return str(local), f"{local.suffix.lstrip('.').upper() or 'audio'} file {local.name}"
    raise AudioDecodeError(
        f"cannot read audio from {type(value).__name__}; expected {{'bytes', 'path'}} (read the "
        "column through undecoded()), bytes, a path, or {'array', 'sampling_rate'}",
        row=row,
    )


def _sniff(data: bytes, path: str | None) -> str:
    for magic, fmt in _MAGIC:
        if data.startswith(magic):
            return fmt
    if len(data) > 1 and data[0] == 0xFF and data[1] & 0xE0 == 0xE0:
        return "MP3"  # an MPEG frame sync
    if data[4:8] == b"ftyp":
        return "MP4/M4A"
    suffix = Path(path).suffix.lstrip(".").upper() if path else ""
    return suffix or f"unknown-format (starts {data[:8].hex() or 'empty'})"


def _unreadable(name: str, exc: sf.SoundFileError, row: int | None) -> AudioDecodeError:
    reason = getattr(exc, "error_string", None) or str(exc)
    return AudioDecodeError(
        f"libsndfile cannot decode {name}: {reason}; it reads {READABLE}: convert the dataset's "
        "audio to FLAC or WAV (e.g. ffmpeg -i in.m4a out.flac)",
        row=row,
    )


def _from_array(value: Mapping[str, Any], row: int | None) -> tuple[Wave, int]:
    rate = value.get("sampling_rate")
    if isinstance(rate, bool) or not isinstance(rate, int | np.integer) or rate <= 0:
        raise AudioDecodeError(
            f"decoded audio needs a positive int 'sampling_rate' beside its 'array' (got {rate!r})",
            row=row,
        )
    array = np.asarray(value["array"])
    is_int = np.issubdtype(array.dtype, np.signedinteger)
    if array.ndim not in (1, 2) or not (is_int or np.issubdtype(array.dtype, np.floating)):
        raise AudioDecodeError(
            f"decoded audio 'array' must be 1-D or 2-D floats or signed ints (got shape "
            f"{array.shape}, dtype {array.dtype})",
            row=row,
        )
    if is_int:  # PCM: int16 full scale is 32768
        array = array / float(-np.iinfo(array.dtype).min)
    if array.ndim == 2:  # datasets: (channels, samples); soundfile: (samples, channels)
        array = array.mean(axis=int(np.argmin(array.shape)))
    wave = np.array(array, dtype=np.float32)
    if not np.isfinite(wave).all():
        raise AudioDecodeError("decoded audio 'array' holds NaN or infinite samples", row=row)
    return wave, int(rate)
