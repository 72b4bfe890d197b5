"""Audio perturbations measured on synthetic tones: SNR, pitch and length, filter gains."""

from __future__ import annotations

import math
import re

import numpy as np
import numpy.typing as npt
import pytest

from perturbations import (
    AudioFormatError,
    ModalityError,
    PerturbationParamError,
    describe_all,
    from_spec,
    get,
    names,
)

AUDIO = ["noise", "speed", "lowpass"]
Wave = npt.NDArray[np.float32]


def tone(freq: float, *, rate: int = 16000, seconds: float = 2.0, amp: float = 0.5) -> Wave:
    t = np.arange(round(rate * seconds)) / rate
    return (amp * np.sin(2 * np.pi * freq * t + 0.3)).astype(np.float32)


def power(x: npt.NDArray[np.floating]) -> float:
    return float(np.mean(np.asarray(x, np.float64) ** 2))


def peak_hz(wave: Wave, rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(wave * np.hanning(len(wave))))
    return float(np.fft.rfftfreq(len(wave), 1 / rate)[np.argmax(spectrum)])


def gain_db(before: Wave, after: Wave, freq: float, rate: int) -> float:
    """The amplitude ratio at ``freq`` (least-squares fit of a sine and cosine), edges left out."""
    cut = slice(len(before) // 10, -len(before) // 10)
    t = (np.arange(len(before)) / rate)[cut]
    basis = np.stack([np.sin(2 * np.pi * freq * t), np.cos(2 * np.pi * freq * t)], axis=1)

    def amplitude(x: Wave) -> float:
        coef, *_ = np.linalg.lstsq(basis, x[cut].astype(np.float64), rcond=None)
        return float(np.hypot(*coef))

    return 20 * math.log10(amplitude(after) / amplitude(before))


def waves() -> list[Wave]:
    return [tone(440, seconds=0.5), tone(1000, seconds=0.3, amp=0.1), tone(250, seconds=1.0)]


def test_registered_as_audio() -> None:
    assert names("audio") == AUDIO
    by_name = {e["name"]: e for e in describe_all()}
    for name in AUDIO:
        entry = by_name[name]
        assert entry["modality"] == "audio" and entry["supports"] == ["audio"]
        assert entry["description"].endswith(".") and entry["method"]
        p = get(name)
        assert p.modality == "audio" and p.supports("audio") and not p.supports("image")
        assert from_spec(p.variant_id) == p
    assert by_name["noise"]["params"] == {
        "snr_db": {"type": "float", "default": 10.0, "min": -5.0, "max": 40.0}
    }
    assert by_name["speed"]["params"]["factor"] == {
        "type": "float",
        "default": 1.1,
        "min": 0.5,
        "max": 2.0,
    }
    assert by_name["lowpass"]["params"]["cutoff_hz"]["default"] == 2000.0
    assert [get(n).stochastic for n in AUDIO] == [True, False, False]
    assert get("noise").variant_id == "noise(snr_db=10.0)"
    assert get("noise", snr_db=5).description.endswith("(signal-to-noise ratio 5.0 dB).")
    assert not get("greyscale").supports("audio") and not get("typos").supports("audio")


@pytest.mark.parametrize("snr_db", [-5.0, 0.0, 10.0, 40.0])
def test_noise_has_the_asked_snr_and_is_white(snr_db: float) -> None:
    clean = tone(440, seconds=10.0)
    [noisy] = get("noise", snr_db=snr_db).apply_audio([clean], 16000, seed=0)
    added = noisy.astype(np.float64) - clean
    assert noisy.dtype == np.float32 and noisy.shape == clean.shape
    assert 10 * math.log10(power(clean) / power(added)) == pytest.approx(snr_db, abs=0.5)
    lag1 = np.corrcoef(added[:-1], added[1:])[0, 1]
    assert abs(lag1) < 0.02 and abs(added.mean()) < 0.01 * math.sqrt(power(added))


def test_noise_scales_with_each_waves_own_power() -> None:
    quiet, loud = tone(440, amp=0.01), tone(440, amp=0.8)
    out = get("noise", snr_db=20).apply_audio([quiet, loud], 16000, seed=1)
    for clean, noisy in zip((quiet, loud), out, strict=True):
        snr = 10 * math.log10(power(clean) / power(noisy.astype(np.float64) - clean))
        assert snr == pytest.approx(20, abs=0.5)


def test_noise_is_seeded_per_item() -> None:
    p = get("noise")
    batch = waves()
    out = p.apply_audio(batch, 16000, seed=3)
    again = p.apply_audio(batch, 16000, seed=3)
    assert all(np.array_equal(a, b) for a, b in zip(out, again, strict=True))
    # item 2 alone, as item 2, draws what it drew in the batch
    assert np.array_equal(p.apply_wave(batch[2], 16000, seed=3, index=2), out[2])
    assert np.array_equal(p.apply_audio(batch[1:], 16000, seed=3, start=1)[1], out[2])
    # the same wave as another item, or under another seed, gets other noise
    assert not np.array_equal(p.apply_wave(batch[2], 16000, seed=3, index=0), out[2])
    assert not np.array_equal(p.apply_wave(batch[2], 16000, seed=4, index=2), out[2])
    same = [batch[0], batch[0]]
    first, second = p.apply_audio(same, 16000, seed=3)
    assert not np.array_equal(first, second)


@pytest.mark.parametrize("name", ["speed", "lowpass"])
def test_deterministic_ones_ignore_the_seed(name: str) -> None:
    p = get(name)
    a = p.apply_audio(waves(), 16000, seed=0)
    b = p.apply_audio(waves(), 16000, seed=99, start=7)
    assert all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))


@pytest.mark.parametrize("name", AUDIO)
def test_silence_empty_and_input_untouched(name: str) -> None:
    p = get(name)
    silent, empty, one = np.zeros(4000, np.float32), np.zeros(0, np.float32), np.ones(1, np.float32)
    wave = tone(300).astype(np.float64)  # float64 in, float32 out
    kept = wave.copy()
    out = p.apply_audio([silent, empty, one, wave], 16000, seed=0)
    assert not np.any(out[0]) and np.isfinite(out[2]).all() and out[1].size == 0
    assert all(o.dtype == np.float32 and o.ndim == 1 for o in out)
    assert np.array_equal(wave, kept)
    assert not any(np.shares_memory(o, w) for o, w in zip(out, [silent, wave], strict=False))


@pytest.mark.parametrize(("factor", "rate"), [(1.25, 16000), (0.8, 16000), (1.1, 44100)])
def test_speed_changes_length_and_pitch_together(factor: float, rate: int) -> None:
    clean = tone(1000, rate=rate, seconds=3.0)
    [fast] = get("speed", factor=factor).apply_audio([clean], rate, seed=0)
    assert len(fast) == math.ceil(len(clean) / factor)
    bin_hz = rate / len(fast)
    assert peak_hz(fast, rate) == pytest.approx(1000 * factor, abs=bin_hz)
    assert power(fast) == pytest.approx(power(clean), rel=0.02)  # no gain, no aliasing loss


def test_speed_one_is_identity_and_high_tones_do_not_alias() -> None:
    clean = tone(440)
    assert np.array_equal(get("speed", factor=1.0).apply_wave(clean, 16000, seed=0), clean)
    # at 2x, 6 kHz would land at 12 kHz, above Nyquist: it is filtered out, not folded to 4 kHz
    [fast] = get("speed", factor=2.0).apply_audio([tone(6000)], 16000, seed=0)
    assert power(fast) < 1e-4 * power(tone(6000))


def test_lowpass_cuts_highs_and_keeps_lows() -> None:
    p = get("lowpass", cutoff_hz=2000)
    low, high, edge = tone(500), tone(6000), tone(2000)
    out_low, out_high, out_edge = p.apply_audio([low, high, edge], 16000, seed=0)
    assert gain_db(high, out_high, 6000, 16000) < -20
    assert abs(gain_db(low, out_low, 500, 16000)) < 1
    assert gain_db(edge, out_edge, 2000, 16000) == pytest.approx(-6.02, abs=0.5)
    assert len(out_low) == len(low)
    middle = slice(1000, -1000)  # zero phase: the kept tone is in place, not delayed
    assert np.max(np.abs(out_low[middle] - low[middle])) < 0.01


def test_lowpass_uses_the_waves_sampling_rate() -> None:
    p = get("lowpass", cutoff_hz=4000)
    [at_48k] = p.apply_audio([tone(3000, rate=48000)], 48000, seed=0)
    assert abs(gain_db(tone(3000, rate=48000), at_48k, 3000, 48000)) < 1.5
    [at_8k] = p.apply_audio([tone(3000, rate=8000)], 8000, seed=0)  # cutoff at Nyquist
    assert np.array_equal(at_8k, tone(3000, rate=8000))
    [cut] = get("lowpass", cutoff_hz=1000).apply_audio([tone(3000, rate=48000)], 48000, seed=0)
    assert gain_db(tone(3000, rate=48000), cut, 3000, 48000) < -20


@pytest.mark.parametrize(
    ("name", "params", "message"),
    [
        ("noise", {"snr_db": -6}, "noise: snr_db must be a number -5.0–40.0 (got -6)"),
        ("noise", {"snr_db": "10"}, "snr_db must be a number -5.0–40.0 (got '10')"),
        ("speed", {"factor": 2.5}, "speed: factor must be a number 0.5–2.0 (got 2.5)"),
        ("speed", {"factor": 0}, "factor must be a number 0.5–2.0 (got 0)"),
        ("lowpass", {"cutoff_hz": 50}, "cutoff_hz must be a number 100.0–8000.0 (got 50)"),
        ("noise", {"snr": 3}, "unknown parameter 'snr' — did you mean 'snr_db'?"),
        ("lowpass", {"cutoff": 3}, "did you mean 'cutoff_hz'?"),
    ],
)
def test_bad_params(name: str, params: dict[str, object], message: str) -> None:
    with pytest.raises(PerturbationParamError, match=re.escape(message)):
        get(name, **params)


def test_bad_inputs() -> None:
    p = get("noise")
    stereo = np.zeros((2, 100), np.float32)
    with pytest.raises(AudioFormatError, match=r"item 4: expected a 1-D float array .*\(2, 100\)"):
        p.apply_wave(stereo, 16000, seed=0, index=4)
    with pytest.raises(AudioFormatError, match="dtype int16"):
        p.apply_audio([tone(300), np.zeros(10, np.int16)], 16000, seed=0)
    with pytest.raises(AudioFormatError, match="numpy array"):
        p.apply_audio([[0.0, 0.1]], 16000, seed=0)  # type: ignore[list-item]
    with pytest.raises(TypeError, match="use apply_wave"):
        p.apply_audio(tone(300), 16000, seed=0)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="sampling_rate must be positive"):
        p.apply_audio([tone(300)], 0, seed=0)
    with pytest.raises(TypeError, match="sampling_rate must be an int"):
        p.apply_audio([tone(300)], 16000.0, seed=0)  # type: ignore[arg-type]
    with pytest.raises(ModalityError, match="'noise' is for audio, not text"):
        p.apply_texts(["a"], seed=0)
    with pytest.raises(ModalityError, match="'greyscale' is for image, not audio"):
        get("greyscale").apply_audio([tone(300)], 16000, seed=0)
