"""Audio perturbations of one mono waveform at a time (float32, 1-D, any length).

Every function takes ``(wave, rng, sampling_rate, **params)`` and returns a new float32 array
(never a view of ``wave``); ``rng`` is the item's seeded `numpy.random.Generator` and only the
random ones (``noise``) read it. Computation is in float64, the result cast back to float32.

- ``noise``: white Gaussian noise at a signal-to-noise ratio. The noise is drawn, then scaled so
  that its power *in this waveform* is exactly the signal's power / 10^(snr_db / 10): the asked
  SNR holds for every clip, however short (torchaudio's ``add_noise`` scales given noise the same
  way). A silent (all-zero) or empty waveform has no power to measure against and is returned
  unchanged. Outputs are not clipped to [-1, 1]: clipping would change the SNR, and models take
  floats.
- ``speed``: played ``factor`` times faster, pitch rising with it (sox's ``speed``, not
  ``tempo``): the waveform is resampled by 1 / factor with `scipy.signal.resample_poly` (a
  Kaiser-windowed polyphase FIR, which also removes what would fold above Nyquist), so its length
  becomes ``ceil(n / factor)``. ``factor`` is taken as the nearest fraction p / q with q ≤ 1000.
- ``lowpass``: a zero-phase low-pass filter: a 4th-order Butterworth (`scipy.signal.butter`,
  second-order sections) run forwards and backwards (`scipy.signal.sosfiltfilt`), so no delay,
  no echo and no change of length; the response is |H|², -6 dB at the cutoff and falling 48 dB
  per octave above it. A cutoff at or above Nyquist (sampling_rate / 2) leaves nothing to remove:
  the waveform is returned unchanged.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import numpy.typing as npt
from scipy import signal

from perturbations.base import FloatWave, Wave

LOWPASS_ORDER = 4  # Butterworth order per pass; sosfiltfilt runs it twice
SPEED_MAX_DENOMINATOR = 1000


def _out(x: npt.NDArray[np.floating]) -> Wave:
    return np.ascontiguousarray(x, dtype=np.float32)


def noise(wave: FloatWave, rng: np.random.Generator, sampling_rate: int, *, snr_db: float) -> Wave:
    x = wave.astype(np.float64)
    power = float(np.mean(x * x)) if x.size else 0.0
    if power == 0.0:
        return wave.astype(np.float32)
    drawn = rng.standard_normal(x.size)
    drawn_power = float(np.mean(drawn * drawn))
    if drawn_power == 0.0:  # only for a one-sample wave drawing exactly 0.0
        return wave.astype(np.float32)
    target = power / 10.0 ** (snr_db / 10.0)
    return _out(x + drawn * np.sqrt(target / drawn_power))


def speed(wave: FloatWave, rng: np.random.Generator, sampling_rate: int, *, factor: float) -> Wave:
    ratio = Fraction(factor).limit_denominator(SPEED_MAX_DENOMINATOR)
    if ratio == 1:
        return wave.astype(np.float32)
    # faster by p/q = fewer samples by q/p: resample up by q, down by p
    return _out(signal.resample_poly(wave.astype(np.float64), ratio.denominator, ratio.numerator))


def lowpass(
    wave: FloatWave, rng: np.random.Generator, sampling_rate: int, *, cutoff_hz: float
) -> Wave:
    if cutoff_hz >= sampling_rate / 2 or wave.size < 2:
        return wave.astype(np.float32)
    sos = signal.butter(LOWPASS_ORDER, cutoff_hz, btype="lowpass", fs=sampling_rate, output="sos")
    padlen = min(3 * (2 * len(sos) + 1), wave.size - 1)  # sosfiltfilt's default, if it fits
    return _out(signal.sosfiltfilt(sos, wave.astype(np.float64), padlen=padlen))
