"""The speech part of the demo world: made-up speech synthesised with espeak-ng, and two tiny
speech models trained here on CPU.

- `demo/librispeech-mini` (config `clean`; splits train.100/validation/test, the columns of
  `openslr/librispeech_asr`: `file`, `audio`, `text`, `speaker_id`, `chapter_id`, `id`, plus
  `gender` and `accent` as Common Voice has them): short sentences from templates and a small
  vocabulary (numbers, colours, objects, places, names, days, simple verbs), upper case without
  punctuation as LibriSpeech writes them, spoken by 12 speakers: an espeak-ng voice (`en-us`,
  `en-gb`: the accent) with a variant (`m*` male, `f*` female) at a speed and a pitch of its own,
  three of each gender and accent, so results can be broken down by both. Every speaker reads
  in every split; the sentences are new draws. Audio is FLAC, 16 kHz mono, stored as the Hub
  stores an `Audio` feature in parquet (`{"bytes", "path"}`; the feature in the schema).
- `demo/speech-commands-mini` (config `v0.02`; splits train/validation/test, the columns of
  `google/speech_commands`: `file`, `audio`, `label`, `is_unknown`, `speaker_id`,
  `utterance_id`): ten command words, each clip one second of 16 kHz WAV with the word at a
  random offset and gain over faint noise. Speakers differ in voice, variant, speed and pitch,
  and no speaker appears in two splits, as in Speech Commands.
- `demo/tiny-wav2vec2-ctc`: a tiny `Wav2Vec2ForCTC` (a 3-layer convolutional feature encoder of
  total stride 320, 20 ms frames, under a 2-layer transformer) trained from scratch with CTC on
  train.100 over a character vocabulary, with its `Wav2Vec2Processor`. Its card declares WER and
  CER on test in percent, as many Hub speech cards do, for the claims audit.
- `demo/tiny-keyword-spotter`: the same encoder as a `Wav2Vec2ForSequenceClassification`,
  trained on speech-commands-mini; its labels are the words upper-cased in alphabetical order,
  not the dataset's order, so evaluating it needs label mapping. Its card declares accuracy
  (a fraction) on test.

Synthesis runs `espeak-ng --stdout` once per utterance in a pool of `recipe.workers` threads
(about 15 ms each); its 22,050 Hz output is resampled to 16 kHz with
`evaluators.audio_io.resample`. Nothing decodes audio through `datasets` (no torchcodec here).
Scores are measured after saving, through what was saved, with `evaluators.error_rates` on
greedy CTC decoding, and kept in `speech.json` beside `world.json` (`speech_scores`).
`sandbox.world.build_world` calls `build_speech` and caches the files.

Example:
    >>> splits = asr_splits()
    >>> [len(splits[s]) for s in ASR_SPLITS]
    [1500, 100, 100]
"""

from __future__ import annotations

import hashlib
import io
import json
import random
import shutil
import subprocess
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import soundfile as sf
import yaml

from evaluators.audio_io import Wave, resample
from evaluators.error_rates import error_rates
from sandbox.world_spans import _card_meta

if TYPE_CHECKING:
    import torch

    from sandbox.world import DatasetSpec, ModelSpec

ASR_DATASET_ID = "demo/librispeech-mini"
ASR_CONFIG = "clean"
ASR_SPLITS = ("train.100", "validation", "test")
KWS_DATASET_ID = "demo/speech-commands-mini"
KWS_CONFIG = "v0.02"
KWS_SPLITS = ("train", "validation", "test")
KWS_LABELS = ("yes", "no", "up", "down", "left", "right", "on", "off", "stop", "go")
ASR_MODEL_ID = "demo/tiny-wav2vec2-ctc"
KWS_MODEL_ID = "demo/tiny-keyword-spotter"
KWS_MODEL_LABELS = tuple(sorted(w.upper() for w in KWS_LABELS))  # another order and spelling
SAMPLING_RATE = 16_000
SCORES_FILE = "speech.json"
ESPEAK = "espeak-ng"
CTC_VOCAB = ("<pad>", "<unk>", "|", "'", *"ABCDEFGHIJKLMNOPQRSTUVWXYZ")  # <pad> is CTC's blank


class EspeakMissingError(FileNotFoundError):
    """espeak-ng is not installed: the speech part of the demo world cannot be synthesised."""

    def __init__(self) -> None:
        super().__init__(
            f"'{ESPEAK}' is not on PATH; install it (Debian/Ubuntu: apt-get install espeak-ng) "
            "to build the speech datasets of the demo world"
        )


@dataclass(frozen=True)
class SpeechTrainParams:
    """Hyperparameters of one training run (AdamW, linear warmup and decay)."""

    seed: int
    epochs: int
    lr: float
    batch_size: int = 8
    weight_decay: float = 0.01
    warmup_ratio: float = 0.1


@dataclass(frozen=True)
class SpeechRecipe:
    """Every parameter of the speech part; part of `sandbox.world.Recipe` and so of its digest.

    `version` changes whenever the templates, word lists, synthesis or training code change.
    """

    version: str = "1"
    seed: int = 20261208
    asr_sizes: tuple[int, ...] = (1500, 100, 100)  # utterances, in ASR_SPLITS order
    kws_sizes: tuple[int, ...] = (1200, 150, 150)  # clips, in KWS_SPLITS order
    kws_speakers: tuple[int, ...] = (24, 6, 6)  # speakers of each split, none shared
    kws_noise: float = 0.003  # standard deviation of the noise under each clip (full scale 1)
    asr: SpeechTrainParams = SpeechTrainParams(seed=11, epochs=5, lr=3e-3)
    kws: SpeechTrainParams = SpeechTrainParams(seed=12, epochs=4, lr=2e-3, batch_size=16)
    # Both models: conv feature encoder (total stride 320 = 20 ms) and a tiny transformer.
    conv_dim: tuple[int, ...] = (32, 64, 96)
    conv_kernel: tuple[int, ...] = (16, 8, 5)
    conv_stride: tuple[int, ...] = (8, 8, 5)
    hidden: int = 96
    layers: int = 2
    heads: int = 4
    intermediate: int = 192
    threads: int = 2
    workers: int = 2  # espeak-ng processes at once


SPEECH_RECIPE = SpeechRecipe()


@dataclass(frozen=True)
class Voice:
    """How espeak-ng speaks: a voice (its accent), a variant (its gender), speed and pitch."""

    voice: str  # "en-us" or "en-gb"
    variant: str  # "m1".."m7" (male) or "f1".."f5" (female)
    speed: int  # words per minute
    pitch: int  # 0..99

    @property
    def gender(self) -> str:
        return "male" if self.variant.startswith("m") else "female"

    @property
    def accent(self) -> str:
        return self.voice.removeprefix("en-")


@dataclass(frozen=True)
class SpeechScore:
    """A speech model's scores on its dataset's test split, measured after training through the
    saved files, and the seconds its training took."""

    metrics: dict[str, float]  # wer and cer (fractions) or accuracy
    split: str
    train_seconds: float


# --------------------------------------------------------------------------------------------
# Texts and speakers
# --------------------------------------------------------------------------------------------

# fmt: off
NUMBERS = (
    "ONE", "TWO", "THREE", "FOUR", "FIVE", "SIX", "SEVEN", "EIGHT", "NINE", "TEN", "ELEVEN",
    "TWELVE",
)
COLOURS = ("RED", "BLUE", "GREEN", "YELLOW", "BLACK", "WHITE", "BROWN", "ORANGE", "PURPLE", "GREY")
OBJECTS = (
    "BOOK", "CUP", "CHAIR", "LAMP", "PEN", "BAG", "COAT", "HAT", "SHOE", "BOTTLE", "CANDLE", "KEY",
    "PLATE", "SPOON",
)
PLACES = (
    "KITCHEN", "GARDEN", "OFFICE", "STATION", "MARKET", "LIBRARY", "BEDROOM", "SCHOOL", "PARK",
    "HALL",
)
VERBS = ("FIND", "BRING", "TAKE", "MOVE", "PAINT", "CLEAN", "OPEN", "CARRY", "WASH", "SELL")
NAMES = ("ANNA", "BEN", "CLARA", "DAVID", "EMMA", "FRANK", "GRACE", "HENRY", "LUCY", "PETER")
DAYS = ("MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY", "SUNDAY")
SENTENCES = (  # 3 to 12 words each
    "{verb} THE {object}",
    "WHERE IS THE {colour} {object}",
    "PLEASE {verb} THE {colour} {object}",
    "{name} CANNOT FIND THE {object}",
    "{name} HAS {number} {colour} {objects}",
    "THE {colour} {object} IS IN THE {place}",
    "WE NEED {number} {objects} FOR THE {place}",
    "THERE ARE {number} {objects} IN THE {place}",
    "I SAW A {colour} {object} NEAR THE {place}",
    "{name} WILL {verb} {number} {objects} TO THE {place} ON {day}",
    "ON {day} {name} AND {name2} WENT TO THE {place} WITH {number} {objects}",
)
# The 12 readers of librispeech-mini: three of each gender in each accent, in an order that keeps
# both balanced in any split of n * 4 utterances (the speakers take turns).
ASR_VOICES = (
    ("en-us", "m1"), ("en-gb", "f2"), ("en-us", "f1"), ("en-gb", "m2"), ("en-us", "m3"),
    ("en-gb", "f4"), ("en-us", "f3"), ("en-gb", "m4"), ("en-us", "m5"), ("en-gb", "f5"),
    ("en-us", "f5"), ("en-gb", "m7"),
)
VARIANTS = ("m1", "m2", "m3", "m4", "m5", "m6", "m7", "f1", "f2", "f3", "f4", "f5")
# fmt: on

AsrRow = dict[str, Any]
KwsRow = dict[str, Any]


def sentence(rng: random.Random) -> str:
    """One made-up sentence, upper case, no punctuation (LibriSpeech's transcript style)."""
    number, obj = rng.choice(NUMBERS), rng.choice(OBJECTS)
    name, name2 = rng.sample(NAMES, 2)
    return rng.choice(SENTENCES).format(
        verb=rng.choice(VERBS),
        object=obj,
        objects=obj if number == "ONE" else obj + "S",
        colour=rng.choice(COLOURS),
        number=number,
        place=rng.choice(PLACES),
        name=name,
        name2=name2,
        day=rng.choice(DAYS),
    )


def asr_speakers(recipe: SpeechRecipe = SPEECH_RECIPE) -> dict[int, Voice]:
    """The readers of librispeech-mini by speaker id (LibriSpeech-like integers)."""
    rng = random.Random(f"{recipe.seed}-asr-speakers")
    ids = sorted(rng.sample(range(100, 9000), len(ASR_VOICES)))
    return {
        speaker: Voice(voice, variant, rng.randint(140, 180), rng.randint(35, 65))
        for speaker, (voice, variant) in zip(ids, ASR_VOICES, strict=True)
    }


def asr_splits(recipe: SpeechRecipe = SPEECH_RECIPE) -> dict[str, list[AsrRow]]:
    """The rows of every split without audio: `file`, `text`, `speaker_id`, `chapter_id`, `id`,
    `gender`, `accent`. Speakers take turns, so each split is balanced between them."""
    rng = random.Random(recipe.seed)
    speakers = asr_speakers(recipe)
    out: dict[str, list[AsrRow]] = {}
    for split, size in zip(ASR_SPLITS, recipe.asr_sizes, strict=True):
        chapters = {s: rng.randint(10_000, 199_999) for s in speakers}
        counts = dict.fromkeys(speakers, 0)
        rows = []
        for index in range(size):
            speaker = list(speakers)[index % len(speakers)]
            utterance_id = f"{speaker}-{chapters[speaker]}-{counts[speaker]:04d}"
            counts[speaker] += 1
            rows.append(
                {
                    "file": f"{utterance_id}.flac",
                    "text": sentence(rng),
                    "speaker_id": speaker,
                    "chapter_id": chapters[speaker],
                    "id": utterance_id,
                    "gender": speakers[speaker].gender,
                    "accent": speakers[speaker].accent,
                }
            )
        out[split] = rows
    return out


def kws_speakers(recipe: SpeechRecipe = SPEECH_RECIPE) -> dict[str, dict[str, Voice]]:
    """The speakers of each speech-commands-mini split by hex id (none in two splits)."""
    rng = random.Random(f"{recipe.seed}-kws-speakers")
    out: dict[str, dict[str, Voice]] = {}
    for split, count in zip(KWS_SPLITS, recipe.kws_speakers, strict=True):
        voices = {}
        for n in range(count):
            speaker = hashlib.sha256(f"{recipe.seed}-{split}-{n}".encode()).hexdigest()[:8]
            voices[speaker] = Voice(
                rng.choice(("en-us", "en-gb")),
                rng.choice(VARIANTS),
                rng.randint(120, 200),
                rng.randint(20, 80),
            )
        out[split] = voices
    return out


def kws_splits(recipe: SpeechRecipe = SPEECH_RECIPE) -> dict[str, list[KwsRow]]:
    """The rows of every split without audio: `file`, `label` (index of KWS_LABELS),
    `is_unknown`, `speaker_id`, `utterance_id`. Every word as often as the others; each speaker
    says each word `utterance_id` 0, 1, ... times in turn."""
    out: dict[str, list[KwsRow]] = {}
    for split, size in zip(KWS_SPLITS, recipe.kws_sizes, strict=True):
        speakers = list(kws_speakers(recipe)[split])
        rows = []
        for index in range(size):
            label = index % len(KWS_LABELS)
            turn = index // len(KWS_LABELS)
            speaker, utterance = speakers[turn % len(speakers)], turn // len(speakers)
            rows.append(
                {
                    "file": f"{KWS_LABELS[label]}/{speaker}_nohash_{utterance}.wav",
                    "label": label,
                    "is_unknown": False,
                    "speaker_id": speaker,
                    "utterance_id": utterance,
                }
            )
        out[split] = rows
    return out


# --------------------------------------------------------------------------------------------
# Audio
# --------------------------------------------------------------------------------------------


def synthesise(text: str, voice: Voice) -> Wave:
    """``text`` spoken by espeak-ng as mono float32 samples at 16 kHz.

    Raises:
        EspeakMissingError: espeak-ng is not installed.
        subprocess.CalledProcessError: espeak-ng failed (an unknown voice, say).
    """
    if shutil.which(ESPEAK) is None:
        raise EspeakMissingError
    command = [ESPEAK, "--stdout", "-v", f"{voice.voice}+{voice.variant}"]
    command += ["-s", str(voice.speed), "-p", str(voice.pitch), text]
    out = subprocess.run(command, capture_output=True, check=True).stdout
    samples, rate = sf.read(io.BytesIO(out), dtype="float32")
    return resample(samples, int(rate), SAMPLING_RATE)


def synthesise_all(jobs: Sequence[tuple[str, Voice]], workers: int) -> list[Wave]:
    """`synthesise` for every (text, voice), ``workers`` espeak-ng processes at a time."""
    with ThreadPoolExecutor(workers) as pool:
        return list(pool.map(lambda job: synthesise(*job), jobs))


def one_second_clip(wave: Wave, rng: np.random.Generator, noise: float) -> Wave:
    """The spoken part of ``wave`` (trimmed to 1 s if longer) at a random offset and peak gain in
    one second of Gaussian noise of standard deviation ``noise``, as Speech Commands clips are."""
    loud = np.flatnonzero(np.abs(wave) > 0.05 * float(np.abs(wave).max()))
    word = wave[loud[0] : loud[-1] + 1][:SAMPLING_RATE] if loud.size else wave[:0]
    word = word / max(float(np.abs(word).max(initial=0.0)), 1e-6) * rng.uniform(0.3, 0.9)
    clip = rng.normal(0.0, noise, SAMPLING_RATE)
    start = int(rng.integers(0, SAMPLING_RATE - len(word) + 1))
    clip[start : start + len(word)] += word
    return np.clip(clip, -1.0, 1.0).astype(np.float32)


def encode(wave: Wave, fmt: str) -> bytes:
    """16-bit ``fmt`` ("FLAC" or "WAV") bytes of 16 kHz samples."""
    buffer = io.BytesIO()
    sf.write(buffer, wave, SAMPLING_RATE, format=fmt, subtype="PCM_16")
    return buffer.getvalue()


def _asr_audio(splits: dict[str, list[AsrRow]], recipe: SpeechRecipe) -> dict[str, list[Wave]]:
    speakers = asr_speakers(recipe)
    return {
        split: synthesise_all(
            [(r["text"], speakers[r["speaker_id"]]) for r in rows], recipe.workers
        )
        for split, rows in splits.items()
    }


def _kws_audio(splits: dict[str, list[KwsRow]], recipe: SpeechRecipe) -> dict[str, list[Wave]]:
    speakers = kws_speakers(recipe)
    out = {}
    for number, (split, rows) in enumerate(splits.items()):
        rng = random.Random(f"{recipe.seed}-{split}-speed")
        jobs = []
        for row in rows:  # each take a little faster or slower than the speaker's habit
            voice = speakers[split][row["speaker_id"]]
            speed = voice.speed + rng.randint(-15, 15)
            jobs.append(
                (KWS_LABELS[row["label"]], Voice(voice.voice, voice.variant, speed, voice.pitch))
            )
        waves = synthesise_all(jobs, recipe.workers)
        out[split] = [
            one_second_clip(w, np.random.default_rng([recipe.seed, number, i]), recipe.kws_noise)
            for i, w in enumerate(waves)
        ]
    return out


# --------------------------------------------------------------------------------------------
# Dataset repos
# --------------------------------------------------------------------------------------------


def _write_audio_parquet(
    path: Path, config: str, splits: dict[str, list[dict[str, Any]]], features: Any
) -> dict[str, Any]:
    """`sandbox.world_spans._write_parquet` for rows with an ``audio`` column of
    ``{"bytes", "path"}``: the column is cast to the ``Audio`` feature (``Dataset.from_dict``
    cannot take it directly without torchcodec), so its schema metadata names it audio."""
    from datasets import Audio, Dataset, Features, Value

    plain = Features(
        {
            name: {"bytes": Value("binary"), "path": Value("string")}
            if isinstance(feature, Audio)
            else feature
            for name, feature in features.items()
        }
    )
    stats: dict[str, Any] = {"splits": [], "download_size": 0, "dataset_size": 0}
    for split, rows in splits.items():
        dataset = Dataset.from_dict({n: [r[n] for r in rows] for n in features}, features=plain)
        dataset = dataset.cast(features)
        file = path / config / f"{split}-00000-of-00001.parquet"
        dataset.to_parquet(str(file))
        size = dataset.data.nbytes
        stats["splits"].append({"name": split, "num_bytes": size, "num_examples": len(rows)})
        stats["download_size"] += file.stat().st_size
        stats["dataset_size"] += size
    return stats


def _features_yaml(features: Any) -> list[dict[str, Any]]:
    """The features as a card's `dataset_info` lists them (`datasets`' own YAML form)."""
    from datasets import DatasetInfo

    listed: list[dict[str, Any]] = DatasetInfo(features=features)._to_yaml_dict()["features"]
    return listed


def _asr_features() -> Any:
    from datasets import Audio, Features, Value

    return Features(
        {
            "file": Value("string"),
            "audio": Audio(sampling_rate=SAMPLING_RATE),
            "text": Value("string"),
            "speaker_id": Value("int64"),
            "chapter_id": Value("int64"),
            "id": Value("string"),
            "gender": Value("string"),
            "accent": Value("string"),
        }
    )


def _kws_features() -> Any:
    from datasets import Audio, ClassLabel, Features, Value

    return Features(
        {
            "file": Value("string"),
            "audio": Audio(sampling_rate=SAMPLING_RATE),
            "label": ClassLabel(names=list(KWS_LABELS)),
            "is_unknown": Value("bool"),
            "speaker_id": Value("string"),
            "utterance_id": Value("int8"),
        }
    )


def _asr_card(stats: dict[str, Any], recipe: SpeechRecipe) -> str:
    meta = _card_meta(
        pretty_name="LibriSpeech mini (evalbot synthetic, LibriSpeech schema)",
        task="automatic-speech-recognition",
        task_id="speaker-identification",  # as librispeech_asr's card lists it
        config=ASR_CONFIG,
        features=_features_yaml(_asr_features()),
        stats=stats,
        eval_index={  # as Evaluation on the Hub wrote it for librispeech_asr
            "task": "automatic-speech-recognition",
            "task_id": "speech_recognition",
            "splits": {"train_split": "train.100", "eval_split": "test"},
            "col_mapping": {"file": "path", "audio": "audio", "text": "text"},
            "metrics": [{"type": "wer", "name": "WER"}, {"type": "cer", "name": "CER"}],
        },
    )
    speakers = asr_speakers(recipe)
    table = "\n".join(
        f"| {s} | {v.gender} | {v.accent} | {v.voice}+{v.variant} | {v.speed} | {v.pitch} |"
        for s, v in speakers.items()
    )
    front = yaml.safe_dump(meta, sort_keys=False, allow_unicode=True)
    sizes = ", ".join(f"{n} {s}" for s, n in zip(ASR_SPLITS, recipe.asr_sizes, strict=True))
    return f"""---
{front}---

# LibriSpeech mini (synthetic)

English speech recognition in the schema of
[librispeech_asr](https://huggingface.co/datasets/openslr/librispeech_asr), generated by evalbot
(`sandbox/world_speech.py`) with the espeak-ng speech synthesiser for its demo and tests. Short
made-up sentences (3 to 12 words from a vocabulary of about a hundred: numbers, colours,
objects, places, names, days, simple verbs), read by {len(speakers)} synthetic speakers. Utterances: {sizes}.
Every speaker reads in every split, taking turns; the sentences differ.

## Dataset structure

- `file` (string), `id` (string: speaker-chapter-utterance), `speaker_id`, `chapter_id` (int64).
- `audio`: 16 kHz mono FLAC.
- `text` (string): the transcript, upper case without punctuation, as LibriSpeech's.
- `gender` ("male", "female") and `accent` ("us", "gb"): the speaker's, as Common Voice has
  them, to break results down by.

## Speakers

| speaker_id | gender | accent | espeak-ng voice | words per minute | pitch |
|---|---|---|---|---|---|
{table}

Results on this dataset are not results on LibriSpeech.
"""


def _kws_card(stats: dict[str, Any], recipe: SpeechRecipe) -> str:
    meta = _card_meta(
        pretty_name="Speech Commands mini (evalbot synthetic, Speech Commands schema)",
        task="audio-classification",
        task_id="keyword-spotting",
        config=KWS_CONFIG,
        features=_features_yaml(_kws_features()),
        stats=stats,
        eval_index={  # as Evaluation on the Hub wrote it for superb's keyword spotting
            "task": "audio-classification",
            "task_id": "keyword_spotting",
            "splits": {"train_split": "train", "eval_split": "test"},
            "col_mapping": {"audio": "audio", "label": "target"},
            "metrics": [{"type": "accuracy", "name": "Accuracy"}],
        },
    )
    front = yaml.safe_dump(meta, sort_keys=False, allow_unicode=True)
    sizes = zip(KWS_SPLITS, recipe.kws_sizes, recipe.kws_speakers, strict=True)
    return f"""---
{front}---

# Speech Commands mini (synthetic)

Keyword spotting in the schema of
[speech_commands](https://huggingface.co/datasets/google/speech_commands) (config `v0.02`),
generated by evalbot (`sandbox/world_speech.py`) with the espeak-ng speech synthesiser for its
demo and tests: one-second clips of ten command words ({", ".join(KWS_LABELS)}), the word at a
random offset and loudness over faint noise. Sizes:
{"; ".join(f"{n} {s} clips by {k} speakers" for s, n, k in sizes)}; no speaker is in two
splits. There are no unknown words and no background-noise clips (`is_unknown` is false).

## Dataset structure

- `file` (string: `<word>/<speaker>_nohash_<n>.wav`), `audio` (16 kHz mono WAV, 1 s).
- `label` (class label): {", ".join(f"{i} = {n}" for i, n in enumerate(KWS_LABELS))}.
- `is_unknown` (bool), `speaker_id` (string), `utterance_id` (int8).

Results on this dataset are not results on Speech Commands.
"""


def _write_datasets(
    root: Path,
    recipe: SpeechRecipe,
    asr: dict[str, list[AsrRow]],
    kws: dict[str, list[KwsRow]],
) -> tuple[DatasetSpec, ...]:
    from sandbox.world import DatasetSpec

    specs = []
    for repo_id, config, splits, features, card in (
        (ASR_DATASET_ID, ASR_CONFIG, asr, _asr_features(), _asr_card),
        (KWS_DATASET_ID, KWS_CONFIG, kws, _kws_features(), _kws_card),
    ):
        path = root / "datasets" / repo_id
        stats = _write_audio_parquet(path, config, splits, features)
        (path / "README.md").write_text(card(stats, recipe), encoding="utf-8")
        specs.append(DatasetSpec(repo_id, path))
    return tuple(specs)


# --------------------------------------------------------------------------------------------
# Models
# --------------------------------------------------------------------------------------------


def _encoder_config(recipe: SpeechRecipe) -> dict[str, Any]:
    """The Wav2Vec2Config arguments both models share: no dropout, no masking (they only slow
    training this short), layer-normed conv layers so padded batches read attention masks."""
    return {
        "conv_dim": recipe.conv_dim,
        "conv_kernel": recipe.conv_kernel,
        "conv_stride": recipe.conv_stride,
        "hidden_size": recipe.hidden,
        "num_hidden_layers": recipe.layers,
        "num_attention_heads": recipe.heads,
        "intermediate_size": recipe.intermediate,
        "num_conv_pos_embeddings": 16,
        "num_conv_pos_embedding_groups": 4,
        "feat_extract_norm": "layer",
        "do_stable_layer_norm": True,
        "hidden_dropout": 0.0,
        "activation_dropout": 0.0,
        "attention_dropout": 0.0,
        "feat_proj_dropout": 0.0,
        "final_dropout": 0.0,
        "layerdrop": 0.0,
        "mask_time_prob": 0.0,
    }


def _feature_extractor() -> Any:
    from transformers import Wav2Vec2FeatureExtractor

    return Wav2Vec2FeatureExtractor(
        feature_size=1,
        sampling_rate=SAMPLING_RATE,
        padding_value=0.0,
        do_normalize=True,
        return_attention_mask=True,
    )


def _fit(
    model: Any,
    waves: Sequence[Wave],
    collate: Callable[[list[int]], dict[str, torch.Tensor]],
    params: SpeechTrainParams,
) -> None:
    """Trains ``model`` on batches of similar length (``collate`` turns row indices into model
    inputs with targets), visiting the batches in a seeded random order every epoch."""
    import torch

    torch.manual_seed(params.seed)
    by_length = sorted(range(len(waves)), key=lambda i: (len(waves[i]), i))
    batches = [
        by_length[i : i + params.batch_size] for i in range(0, len(by_length), params.batch_size)
    ]
    optimizer = torch.optim.AdamW(
        model.parameters(), lr=params.lr, weight_decay=params.weight_decay
    )
    steps = params.epochs * len(batches)
    warmup = max(1, int(steps * params.warmup_ratio))
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: min((s + 1) / warmup, max(0.0, (steps - s) / (steps - warmup)))
    )
    generator = torch.Generator().manual_seed(params.seed)
    model.train()
    for _ in range(params.epochs):
        for b in torch.randperm(len(batches), generator=generator).tolist():
            model(**collate(batches[b])).loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad()
    model.eval()


def transcribe(
    model: Any, processor: Any, waves: Sequence[Wave], batch_size: int = 16
) -> list[str]:
    """Greedy CTC transcripts of 16 kHz ``waves`` (``processor.batch_decode`` of the argmax)."""
    import torch

    texts: list[str] = []
    for start in range(0, len(waves), batch_size):
        batch = list(waves[start : start + batch_size])
        inputs = processor(batch, sampling_rate=SAMPLING_RATE, return_tensors="pt", padding=True)
        with torch.no_grad():
            logits = model(**inputs).logits
        texts += processor.batch_decode(logits.argmax(-1))
    return texts


def classify(model: Any, extractor: Any, waves: Sequence[Wave], batch_size: int = 32) -> list[str]:
    """The label name that ``model`` gives each of the 16 kHz ``waves``."""
    import torch

    names: list[str] = []
    for start in range(0, len(waves), batch_size):
        batch = list(waves[start : start + batch_size])
        inputs = extractor(batch, sampling_rate=SAMPLING_RATE, return_tensors="pt", padding=True)
        with torch.no_grad():
            predicted = model(**inputs).logits.argmax(-1).tolist()
        names += [model.config.id2label[i] for i in predicted]
    return names


def _model_card(card_data: Any, body: str) -> str:
    return f"---\n{card_data.to_yaml()}\n---\n\n{body.strip()}\n"


def _training_line(params: SpeechTrainParams, n_train: int, recipe: SpeechRecipe) -> str:
    return (
        f"Trained from scratch on {n_train} training examples on CPU with PyTorch: a"
        f" {len(recipe.conv_dim)}-layer convolutional feature encoder (channels"
        f" {list(recipe.conv_dim)}, kernels {list(recipe.conv_kernel)}, strides"
        f" {list(recipe.conv_stride)}: 20 ms frames) under {recipe.layers} transformer layers"
        f" (hidden size {recipe.hidden}, {recipe.heads} heads), no dropout; AdamW (learning rate"
        f" {params.lr}, weight decay {params.weight_decay}), batch size {params.batch_size},"
        f" {params.epochs} epochs, linear warmup ({params.warmup_ratio}) and decay, seed"
        f" {params.seed}."
    )


def _asr_model_card(score: SpeechScore, recipe: SpeechRecipe, n_train: int) -> str:
    from huggingface_hub import EvalResult, ModelCardData

    results = [
        EvalResult(
            task_type="automatic-speech-recognition",
            task_name="Automatic Speech Recognition",
            dataset_type=ASR_DATASET_ID,
            dataset_name="LibriSpeech mini (clean)",
            dataset_config=ASR_CONFIG,
            dataset_split="test",
            metric_type=metric,
            metric_value=round(100 * score.metrics[metric], 1),  # in percent, as many cards
            metric_name=f"Test {metric.upper()}",
        )
        for metric in ("wer", "cer")
    ]
    data = ModelCardData(
        language=["en"],
        license="apache-2.0",
        library_name="transformers",
        pipeline_tag="automatic-speech-recognition",
        datasets=[ASR_DATASET_ID],
        tags=["audio", "automatic-speech-recognition", "ctc"],
        model_name=ASR_MODEL_ID,
        eval_results=results,
    )
    wer, cer = (round(100 * score.metrics[m], 1) for m in ("wer", "cer"))
    body = f"""
# tiny-wav2vec2-ctc

A tiny `Wav2Vec2ForCTC` that transcribes short English sentences (16 kHz audio) into upper-case
letters, greedy CTC over a character vocabulary. Test WER {wer} %, CER {cer} % on
[{ASR_DATASET_ID}](https://huggingface.co/datasets/{ASR_DATASET_ID}) (config `clean`, split
test), without a language model.

## Training procedure

{_training_line(recipe.asr, n_train, recipe)} Loss: CTC (mean over the batch). Dataset:
{ASR_DATASET_ID}, split train.100.

## How to use

```python
import torch
from transformers import AutoModelForCTC, AutoProcessor

model = AutoModelForCTC.from_pretrained("{ASR_MODEL_ID}")
processor = AutoProcessor.from_pretrained("{ASR_MODEL_ID}")
inputs = processor(samples, sampling_rate=16000, return_tensors="pt")  # samples: 16 kHz mono
with torch.no_grad():
    logits = model(**inputs).logits
print(processor.batch_decode(logits.argmax(-1)))
```
"""
    return _model_card(data, body)


def _kws_model_card(score: SpeechScore, recipe: SpeechRecipe, n_train: int) -> str:
    from huggingface_hub import EvalResult, ModelCardData

    accuracy = round(score.metrics["accuracy"], 4)
    data = ModelCardData(
        language=["en"],
        license="apache-2.0",
        library_name="transformers",
        pipeline_tag="audio-classification",
        datasets=[KWS_DATASET_ID],
        tags=["audio", "audio-classification", "keyword-spotting"],
        model_name=KWS_MODEL_ID,
        eval_results=[
            EvalResult(
                task_type="audio-classification",
                task_name="Keyword Spotting",
                dataset_type=KWS_DATASET_ID,
                dataset_name="Speech Commands mini",
                dataset_config=KWS_CONFIG,
                dataset_split="test",
                metric_type="accuracy",
                metric_value=accuracy,
            )
        ],
    )
    body = f"""
# tiny-keyword-spotter

A tiny `Wav2Vec2ForSequenceClassification` that tells which of ten command words a one-second
16 kHz clip holds: {", ".join(KWS_MODEL_LABELS)}. Test accuracy {accuracy} on
[{KWS_DATASET_ID}](https://huggingface.co/datasets/{KWS_DATASET_ID}).

## Training procedure

{_training_line(recipe.kws, n_train, recipe)} Dataset: {KWS_DATASET_ID}, split train.
"""
    return _model_card(data, body)


def _build_asr(
    root: Path, rows: dict[str, list[AsrRow]], waves: dict[str, list[Wave]], recipe: SpeechRecipe
) -> tuple[ModelSpec, SpeechScore]:
    import torch
    from transformers import (
        AutoModelForCTC,
        AutoProcessor,
        Wav2Vec2Config,
        Wav2Vec2CTCTokenizer,
        Wav2Vec2ForCTC,
        Wav2Vec2Processor,
    )

    from sandbox.world import ModelSpec

    start = time.perf_counter()
    path = root / "models" / ASR_MODEL_ID
    path.mkdir(parents=True, exist_ok=True)
    vocab_file = path / "vocab.json"
    vocab_file.write_text(json.dumps({c: i for i, c in enumerate(CTC_VOCAB)}), encoding="utf-8")
    tokenizer = Wav2Vec2CTCTokenizer(
        str(vocab_file), unk_token="<unk>", pad_token="<pad>", word_delimiter_token="|"
    )
    processor = Wav2Vec2Processor(feature_extractor=_feature_extractor(), tokenizer=tokenizer)
    config = Wav2Vec2Config(
        vocab_size=len(CTC_VOCAB),
        pad_token_id=tokenizer.pad_token_id,
        ctc_loss_reduction="mean",
        ctc_zero_infinity=True,
        **_encoder_config(recipe),
    )
    torch.manual_seed(recipe.asr.seed)
    model = Wav2Vec2ForCTC(config)
    train, texts = waves[ASR_SPLITS[0]], [r["text"] for r in rows[ASR_SPLITS[0]]]
    labels = [tokenizer(t).input_ids for t in texts]

    def collate(indices: list[int]) -> dict[str, torch.Tensor]:
        inputs = processor(
            [train[i] for i in indices],
            sampling_rate=SAMPLING_RATE,
            return_tensors="pt",
            padding=True,
        )
        width = max(len(labels[i]) for i in indices)
        inputs["labels"] = torch.tensor(
            [labels[i] + [-100] * (width - len(labels[i])) for i in indices]
        )
        return dict(inputs)

    _fit(model, train, collate, recipe.asr)
    seconds = time.perf_counter() - start
    model.save_pretrained(path)
    processor.save_pretrained(path)
    # Measured through what was saved, as any user of the repo loads it.
    hypotheses = transcribe(
        AutoModelForCTC.from_pretrained(path), AutoProcessor.from_pretrained(path), waves["test"]
    )
    rates = error_rates([r["text"] for r in rows["test"]], hypotheses)
    score = SpeechScore(
        {"wer": round(rates.wer, 6), "cer": round(rates.cer, 6)}, "test", round(seconds, 1)
    )
    card = _asr_model_card(score, recipe, len(train))
    (path / "README.md").write_text(card, encoding="utf-8")
    spec = ModelSpec(
        ASR_MODEL_ID, path, "speech recognition (CTC), WER in percent on its card", None
    )
    return spec, score


def _build_kws(
    root: Path, rows: dict[str, list[KwsRow]], waves: dict[str, list[Wave]], recipe: SpeechRecipe
) -> tuple[ModelSpec, SpeechScore]:
    import torch
    from transformers import (
        AutoFeatureExtractor,
        AutoModelForAudioClassification,
        Wav2Vec2Config,
        Wav2Vec2ForSequenceClassification,
    )

    from sandbox.world import ModelSpec

    start = time.perf_counter()
    extractor = _feature_extractor()
    id2label = dict(enumerate(KWS_MODEL_LABELS))
    config = Wav2Vec2Config(
        id2label=id2label,
        label2id={n: i for i, n in id2label.items()},
        classifier_proj_size=recipe.hidden,
        **_encoder_config(recipe),
    )
    torch.manual_seed(recipe.kws.seed)
    model = Wav2Vec2ForSequenceClassification(config)
    train = waves[KWS_SPLITS[0]]
    # the model's class of each row: its word upper-cased, in the model's order
    targets = [KWS_MODEL_LABELS.index(KWS_LABELS[r["label"]].upper()) for r in rows["train"]]

    def collate(indices: list[int]) -> dict[str, torch.Tensor]:
        inputs = extractor(
            [train[i] for i in indices], sampling_rate=SAMPLING_RATE, return_tensors="pt"
        )
        inputs["labels"] = torch.tensor([targets[i] for i in indices])
        return dict(inputs)

    _fit(model, train, collate, recipe.kws)
    seconds = time.perf_counter() - start
    path = root / "models" / KWS_MODEL_ID
    model.save_pretrained(path)
    extractor.save_pretrained(path)
    predicted = classify(
        AutoModelForAudioClassification.from_pretrained(path),
        AutoFeatureExtractor.from_pretrained(path),
        waves["test"],
    )
    hits = sum(
        name.casefold() == KWS_LABELS[row["label"]]
        for name, row in zip(predicted, rows["test"], strict=True)
    )
    score = SpeechScore({"accuracy": round(hits / len(predicted), 6)}, "test", round(seconds, 1))
    (path / "README.md").write_text(_kws_model_card(score, recipe, len(train)), encoding="utf-8")
    spec = ModelSpec(KWS_MODEL_ID, path, "keyword spotting, labels in another order", None)
    return spec, score


def speech_scores(root: Path) -> dict[str, SpeechScore]:
    """The scores that `build_speech` measured after training, by model repo id, read from
    `root/speech.json` (FileNotFoundError if the world there was not built with them)."""
    data = json.loads((root / SCORES_FILE).read_text(encoding="utf-8"))
    return {repo_id: SpeechScore(**score) for repo_id, score in data["models"].items()}


def build_speech(
    root: Path, recipe: SpeechRecipe = SPEECH_RECIPE
) -> tuple[tuple[DatasetSpec, ...], tuple[ModelSpec, ...]]:
    """Synthesises `demo/librispeech-mini` and `demo/speech-commands-mini`, trains
    `demo/tiny-wav2vec2-ctc` and `demo/tiny-keyword-spotter` under `root`, and records their
    scores and the seconds each step took in `root/speech.json` (`speech_scores`).

    Called by `sandbox.world.build_world`, which caches the result and sets torch's thread count
    to `recipe.threads` around this call; a few minutes on two CPU cores.

    Raises:
        EspeakMissingError: espeak-ng is not installed.

    Returns:
        The dataset specs and the model specs.
    """
    if shutil.which(ESPEAK) is None:
        raise EspeakMissingError
    timings: dict[str, float] = {}
    start = time.perf_counter()
    asr, kws = asr_splits(recipe), kws_splits(recipe)
    asr_waves, kws_waves = _asr_audio(asr, recipe), _kws_audio(kws, recipe)
    timings["synthesis"] = round(time.perf_counter() - start, 1)
    for rows, waves, fmt in ((asr, asr_waves, "FLAC"), (kws, kws_waves, "WAV")):
        for split, split_rows in rows.items():
            for row, wave in zip(split_rows, waves[split], strict=True):
                row["audio"] = {"bytes": encode(wave, fmt), "path": row["file"]}
    datasets = _write_datasets(root, recipe, asr, kws)
    timings["datasets"] = round(time.perf_counter() - start - timings["synthesis"], 1)
    asr_model, asr_score = _build_asr(root, asr, asr_waves, recipe)
    kws_model, kws_score = _build_kws(root, kws, kws_waves, recipe)
    timings["total"] = round(time.perf_counter() - start, 1)
    scores = {
        "models": {asr_model.repo_id: asdict(asr_score), kws_model.repo_id: asdict(kws_score)},
        "seconds": timings,
    }
    (root / SCORES_FILE).write_text(json.dumps(scores, indent=2) + "\n", encoding="utf-8")
    return datasets, (asr_model, kws_model)
