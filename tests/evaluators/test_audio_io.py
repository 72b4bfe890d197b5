"""Audio decoding and resampling on files written by soundfile itself, and a real `datasets`
audio column read without torchcodec."""

from __future__ import annotations

import io
import math
from pathlib import Path

import datasets
import numpy as np
import numpy.typing as npt
import pytest
import soundfile as sf

from evaluators.audio_io import (
    AudioDecodeError,
    decode,
    decode_batch,
    duration_seconds,
    load,
    resample,
    undecoded,
)

F32 = npt.NDArray[np.float32]
PCM16_STEP = 1 / 32768


def sine(freq: float, rate: int, seconds: float = 1.0, amp: float = 0.5) -> F32:
    t = np.arange(round(rate * seconds)) / rate
    return (amp * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def encode(frames: F32, rate: int, fmt: str = "WAV", subtype: str = "PCM_16") -> bytes:
    buffer = io.BytesIO()
    sf.write(buffer, frames, rate, format=fmt, subtype=subtype)
    return buffer.getvalue()


def peak_hz(wave: F32, rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(wave * np.hanning(len(wave))))
    return float(np.fft.rfftfreq(len(wave), 1 / rate)[np.argmax(spectrum)])


def rms(x: npt.NDArray[np.floating]) -> float:
    return float(np.sqrt(np.mean(np.asarray(x, np.float64) ** 2)))


@pytest.mark.parametrize(
    ("fmt", "subtype", "tolerance"),
    [
        ("WAV", "PCM_16", PCM16_STEP),
        ("WAV", "FLOAT", 0.0),
        ("FLAC", "PCM_16", PCM16_STEP),
        ("FLAC", "PCM_24", PCM16_STEP / 256),
    ],
)
def test_lossless_round_trip(fmt: str, subtype: str, tolerance: float) -> None:
    wave = sine(440, 16000)
    out = decode(encode(wave, 16000, fmt, subtype), target_rate=16000)
    assert out.dtype == np.float32 and out.shape == wave.shape
    assert np.max(np.abs(out - wave)) <= tolerance


@pytest.mark.parametrize(("fmt", "subtype"), [("OGG", "VORBIS"), ("MP3", "MPEG_LAYER_III")])
def test_lossy_formats_decode(fmt: str, subtype: str) -> None:
    wave = sine(440, 16000, seconds=2.0)
    data = encode(wave, 16000, fmt, subtype)
    out, rate = load({"bytes": data, "path": f"clip.{fmt.lower()}"})
    assert rate == 16000 and len(out) == pytest.approx(len(wave), abs=1200)
    assert peak_hz(out, rate) == pytest.approx(440, abs=1)
    assert rms(out) == pytest.approx(rms(wave), rel=0.1)


def test_channels_are_averaged() -> None:
    left, right = sine(440, 16000), sine(1000, 16000, amp=0.25)
    out = decode(encode(np.stack([left, right], axis=1), 16000), target_rate=16000)
    assert out.ndim == 1 and np.max(np.abs(out - (left + right) / 2)) <= PCM16_STEP
    cancelled = decode(encode(np.stack([left, -left], axis=1), 16000, "FLAC"), target_rate=16000)
    assert np.max(np.abs(cancelled)) <= PCM16_STEP


@pytest.mark.parametrize(("from_rate", "n"), [(8000, 8000), (44100, 44100), (44100, 30001)])
def test_resampling_keeps_frequency_level_and_length(from_rate: int, n: int) -> None:
    wave = sine(1000, from_rate, seconds=n / from_rate)
    out = decode(encode(wave, from_rate), target_rate=16000)
    g = math.gcd(from_rate, 16000)
    assert len(out) == math.ceil(n * (16000 // g) / (from_rate // g))
    assert peak_hz(out, 16000) == pytest.approx(1000, abs=16000 / len(out))
    middle = slice(len(out) // 10, -len(out) // 10)  # edges taper as the filter fills
    assert rms(out[middle]) == pytest.approx(rms(wave), rel=0.01)


def test_resampling_down_filters_what_would_alias() -> None:
    high = sine(10000, 44100)  # above 16 kHz's Nyquist: would fold to 6 kHz
    assert rms(resample(high, 44100, 16000)) < 0.01 * rms(high)
    assert len(resample(sine(300, 16000), 16000, 8000)) == 8000


def test_resample_identity_and_errors() -> None:
    wave = sine(300, 16000)
    assert resample(wave, 16000, 16000) is wave
    assert resample(wave.astype(np.float64), 16000, 16000).dtype == np.float32
    with pytest.raises(ValueError, match="to_rate must be a positive int"):
        resample(wave, 16000, 0)
    with pytest.raises(ValueError, match="from_rate must be a positive int"):
        resample(wave, 16000.0, 8000)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="mono 1-D"):
        resample(np.zeros((2, 10), np.float32), 8000, 16000)


def test_paths_and_bytes_like(tmp_path: Path) -> None:
    wave = sine(300, 8000)
    data = encode(wave, 8000, "FLAC")
    file = tmp_path / "clip.flac"
    file.write_bytes(data)
    expected = decode(data, target_rate=16000)
    assert len(expected) == 16000
    for value in (
        file,
        str(file),
        {"bytes": None, "path": str(file)},
        {"bytes": data, "path": "elsewhere/clip.flac"},  # bytes win over the path
        bytearray(data),
        memoryview(data),
    ):
        assert np.array_equal(decode(value, target_rate=16000), expected)
    assert duration_seconds(str(file)) == 1.0
    assert duration_seconds({"bytes": encode(sine(300, 8000, 1.5), 8000), "path": None}) == 1.5


def test_already_decoded_arrays() -> None:
    wave = sine(300, 8000)
    assert np.array_equal(decode({"array": wave, "sampling_rate": 8000}, target_rate=8000), wave)
    as_list = decode({"array": wave.tolist(), "sampling_rate": 8000}, target_rate=16000)
    assert len(as_list) == 16000 and as_list.dtype == np.float32
    pcm = (wave * 32768).astype(np.int16)
    scaled = decode({"array": pcm, "sampling_rate": 8000}, target_rate=8000)
    assert np.max(np.abs(scaled - wave)) <= PCM16_STEP
    stereo = np.stack([wave, np.zeros_like(wave)])
    for layout in (stereo, stereo.T):  # (channels, samples) and (samples, channels)
        mono = decode({"array": layout, "sampling_rate": 8000}, target_rate=8000)
        assert np.allclose(mono, wave / 2)
    assert duration_seconds({"array": wave, "sampling_rate": 4000}) == 2.0
    with pytest.raises(AudioDecodeError, match=r"row 3: .*positive int 'sampling_rate'"):
        decode({"array": wave, "sampling_rate": None}, target_rate=8000, row=3)
    with pytest.raises(AudioDecodeError, match="1-D or 2-D"):
        decode({"array": np.zeros((2, 2, 2)), "sampling_rate": 8000}, target_rate=8000)
    with pytest.raises(AudioDecodeError, match="NaN or infinite"):
        decode({"array": [0.0, float("nan")], "sampling_rate": 8000}, target_rate=8000)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (b"not audio at all, just some bytes", r"row 7: .*unknown-format \(starts 6e6f7420"),
        (b"", r"row 7: libsndfile cannot decode unknown-format \(starts empty\)"),
        ({"bytes": b"\0\0\0\x20ftypM4A " + b"\0" * 64, "path": "a.m4a"}, r"MP4/M4A audio"),
        ({"bytes": b"\0" * 64, "path": "a.wma"}, r"cannot decode WMA audio \(64 bytes, a.wma\)"),
        ({"bytes": None, "path": "hf://datasets/x/y/a.wav"}, r"is not a local file"),
        (3, r"cannot read audio from int"),
    ],
)
def test_bad_values_raise_a_typed_error(value: object, message: str) -> None:
    with pytest.raises(AudioDecodeError, match=message) as info:
        decode(value, target_rate=16000, row=7)
    assert isinstance(info.value, ValueError) and info.value.row == 7


def test_corrupt_files_name_their_format_and_what_to_do() -> None:
    flac = encode(sine(440, 16000), 16000, "FLAC")
    with pytest.raises(AudioDecodeError, match=r"FLAC audio .*convert the dataset's audio"):
        decode(flac[: len(flac) // 2], target_rate=16000)
    garbled = encode(np.array([0.0, np.nan, 0.1], np.float32), 16000, "WAV", "FLOAT")
    with pytest.raises(AudioDecodeError, match=r"WAV audio .* NaN or infinite"):
        decode(garbled, target_rate=16000)
    wavs = [encode(sine(300, 8000), 8000), b"junk"]
    with pytest.raises(AudioDecodeError, match=r"^row 11: "):
        decode_batch(wavs, target_rate=16000, start=10)


def test_a_datasets_audio_column_is_read_undecoded(tmp_path: Path) -> None:
    clips = [encode(sine(f, 8000), 8000) for f in (300, 500)]
    clips.append(encode(sine(700, 44100, seconds=0.5), 44100, "FLAC"))
    rows = {"audio": [{"bytes": c, "path": None} for c in clips], "text": ["a", "b", "c"]}
    ds = datasets.Dataset.from_dict(rows).cast_column("audio", datasets.Audio())
    # as the Hub serves it: parquet with an Audio feature, which datasets would decode itself
    ds.to_parquet(str(tmp_path / "test.parquet"))
    hub = datasets.load_dataset("parquet", data_files=str(tmp_path / "test.parquet"), split="train")
    assert hub.features["audio"] == datasets.Audio()
    readable = undecoded(hub, "audio")
    assert readable.features["audio"] == datasets.Audio(decode=False)
    assert undecoded(readable, "audio") is readable
    values = [row["audio"] for row in readable]
    assert all(set(v) == {"bytes", "path"} for v in values)
    waves = decode_batch(values, target_rate=16000)
    assert [len(w) for w in waves] == [16000, 16000, 8000]
    assert [peak_hz(w, 16000) for w in waves] == pytest.approx([300, 500, 700], abs=2)
    arrow = readable.with_format("arrow")[0:3].column("audio").to_pylist()
    assert np.array_equal(decode(arrow[2], target_rate=16000), waves[2])


def test_other_audio_columns() -> None:
    wav = encode(sine(300, 8000), 8000)
    binary = datasets.Dataset.from_dict({"audio": [wav], "label": [1]})
    assert undecoded(binary, "audio") is binary
    assert len(decode(binary[0]["audio"], target_rate=16000)) == 16000
    decoded = datasets.Dataset.from_dict(
        {"audio": [{"array": sine(300, 8000).tolist(), "sampling_rate": 8000}]}
    )
    assert undecoded(decoded, "audio") is decoded
    assert len(decode(decoded[0]["audio"], target_rate=8000)) == 8000
    with pytest.raises(AudioDecodeError, match="column 'label': holds Value\\('int64'\\)"):
        undecoded(binary, "label")
    with pytest.raises(AudioDecodeError, match="column 'speech': no such column"):
        undecoded(binary, "speech")
