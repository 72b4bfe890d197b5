"""Speech recognition with Whisper: evalbot's ``SpeechRecognizer.transcribe`` against its
ceiling, ``model.generate`` on features computed beforehand.

The model is a Whisper of whisper-tiny's layout scaled down for two CPU cores (d_model 256,
4 + 4 layers, 4 heads, 80 mel bins, 1,500 encoder positions: every utterance is padded to Whisper's
30-second window, so the encoder's work does not depend on the clip) with random weights and a
small byte-level BPE vocabulary plus Whisper's special tokens (:func:`sandbox.tiny_whisper.build_whisper`, which
``tests/evaluators/test_whisper.py`` uses too). What it writes changes none of the work: its
generation config suppresses every token but whole words and sets ``min_new_tokens`` =
``max_new_tokens`` = ``NEW_TOKENS``, so every contender decodes the same steps. The data are
sine-and-noise clips of 2-20 s stored as 16-bit FLAC in an in-memory ``datasets`` ``Audio``
column (32 on the CPU, 200 on CUDA), batches of 8 in evalbot's order (by duration), greedy
decoding, English, ``task="transcribe"``.

- bare generate: the clips decoded and their log-mel features computed beforehand (Whisper's
  feature extractor, its default 30-second padding), the same batches, ``model.generate`` only;
- evalbot: ``SpeechRecognizer.transcribe`` on each batch (reads the FLAC bytes, decodes them,
  computes the features, generates, decodes the tokens).

``BENCH asr_vs_generate`` = evalbot ÷ bare generate (examples/s; target ≥ 0.9). A note gives the
feature extractor's own time per clip, the part of evalbot's work the bare contender skips.
"""

from __future__ import annotations

import io
import random
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt
import soundfile as sf
import torch

from bench.common import Report, fastest, quiet, timed
from evaluators.predictions import Options
from evaluators.speech import AudioInputs, SpeechRecognizer, SpeechSplit
from evaluators.streaming import Loading
from sandbox.tiny_whisper import RATE, audio_dataset, build_whisper, clip, flac

NEW_TOKENS = 24


def main(report: Report, *, count: int | None = None, batch_size: int = 8) -> None:
    """``count`` clips: by default 200 on CUDA, 32 on the CPU."""
    if count is None:
        count = 200 if torch.cuda.is_available() else 32
    with tempfile.TemporaryDirectory(prefix="evalbot-bench-asr-") as folder:
        _run(report, Path(folder), count=count, batch_size=batch_size)


def _run(report: Report, folder: Path, *, count: int, batch_size: int) -> None:
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    rng = random.Random(2022)
    files = [flac(clip(rng, rng.uniform(2.0, 20.0))) for _ in range(count)]
    ds = audio_dataset(files)
    build_whisper(folder, d_model=256, layers=4, heads=4, new_tokens=NEW_TOKENS)
    recognizer = SpeechRecognizer.load("bench/whisper", folder, device)
    model, extractor = recognizer.model, recognizer.extractor
    inputs = AudioInputs(ds, "audio")
    durations = inputs.durations()
    options = Options(batch_size=batch_size, loading=Loading.for_device(device))
    kwargs = {"do_sample": False, "num_beams": 1, "language": "en", "task": "transcribe"}
    print(
        f"asr: Whisper d256 4+4 layers (random), {count} clips of 2-20 s, batch size "
        f"{batch_size}, {NEW_TOKENS} new tokens, greedy, {device.type}",
        flush=True,
    )

    def split_of(rows: Sequence[int]) -> SpeechSplit:
        part = ds.select(rows)
        return SpeechSplit(
            "bench/asr",
            "0" * 40,
            "test",
            AudioInputs(part, "audio"),
            ["ref"] * len(rows),
            tuple(() for _ in rows),
            durations[list(rows)],
            "en",
        )

    def waves_of(rows: Sequence[int]) -> list[npt.NDArray[np.float32]]:
        return [sf.read(io.BytesIO(files[i]), dtype="float32")[0] for i in rows]

    def bare_unit(rows: Sequence[int]) -> Callable[[], float]:
        features = extractor(
            waves_of(rows), sampling_rate=RATE, return_attention_mask=True, return_tensors="pt"
        ).to(device)

        def run() -> float:
            start = time.perf_counter()
            with torch.inference_mode():
                model.generate(**features, **kwargs).cpu()  # type: ignore[operator]
            if device.type == "cuda":
                torch.cuda.synchronize(device)
            return time.perf_counter() - start

        return run

    def ours_unit(rows: Sequence[int]) -> Callable[[], float]:
        split = split_of(rows)
        return timed(lambda: recognizer.transcribe(split, options))

    def extract_unit(rows: Sequence[int]) -> Callable[[], float]:
        waves = waves_of(rows)
        return timed(lambda: extractor(waves, sampling_rate=RATE, return_tensors="pt"))

    order = np.argsort(durations, kind="stable")
    batches = [order[i : i + batch_size].tolist() for i in range(0, count, batch_size)]
    best = fastest(
        {
            "bare": [bare_unit(rows) for rows in batches],
            "ours": [ours_unit(rows) for rows in batches],
            "extract": [extract_unit(rows) for rows in batches],
        },
        repeats=2,
        budget_s=240,
    )
    bare_rate = report.row(
        "asr", "bare generate (features computed beforehand)", count, best["bare"]
    )
    ours_rate = report.row("asr", "evalbot SpeechRecognizer.transcribe", count, best["ours"])
    per_clip = 1000 * best["extract"] / count
    report.note(
        f"asr: Whisper's feature extractor (30 s padding) takes {per_clip:.1f} ms a clip, "
        f"{best['extract'] / best['bare']:.0%} of bare generate's time"
    )
    report.add("asr_vs_generate", ours_rate / bare_rate)


if __name__ == "__main__":
    quiet()
    r = Report()
    main(r)
    r.print()
