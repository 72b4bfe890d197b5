"""Whisper (a speech sequence-to-sequence model) end to end on the sandbox Hub.

Two tiny random Whispers built here (:func:`bench.speech.build_whisper`: d_model 64, 2 + 2
layers, a small byte-level BPE vocabulary with Whisper's special tokens, a generation config that
writes exactly eight whole words): a multilingual one and an English-only one (as
``whisper-tiny.en``: no languages). Two parquet datasets of eight sine-and-noise clips stored as
16-bit FLAC in an ``Audio`` column, one English (``language: [en]``) and one German
(``language: [de]``), are pushed with the real client and evaluated by the Executor in process,
each in batches of four and one at a time.

Every transcript is checked against ``model.generate`` run here on each clip alone, on the
stored FLAC decoded (the quantised samples the evaluation hears), with the feature extractor's
defaults (Whisper's 30-second window) and the language the dataset states; the error rates
against jiwer's on those transcripts, raw and after Whisper's English (``en``) or basic (``de``)
normaliser.
"""

from __future__ import annotations

import io
import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jiwer
import numpy as np
import numpy.typing as npt
import pytest
import soundfile as sf
import torch
from huggingface_hub import HfApi
from transformers import AutoFeatureExtractor, AutoModelForSpeechSeq2Seq, AutoTokenizer

from bot.discovery import to_record
from evaluators.config import EvaluationModule
from evaluators.executor import ExecutionReport, Executor
from evaluators.predictions import Options
from evaluators.speech import AudioInputs, SpeechRecognizer, SpeechSplit, normalize
from sandbox.tiny_whisper import ENGLISH, GERMAN, audio_dataset, build_whisper, clip, flac
from store.types import EvaluationRecord

LANGUAGES = ("en", "de")
NORMALIZER = {"en": "whisper-english", "de": "whisper-basic"}
CLIPS = 8
NEW_TOKENS = 8
Wave = npt.NDArray[np.float32]


@dataclass(frozen=True)
class Generated:
    """What ``model.generate`` gives for each clip alone: the text and its prompt tokens."""

    texts: list[str]
    prompts: list[list[int]]  # the decoder's forced tokens: <|sot|> [<|lang|> <|task|>] ...


def generate_alone(folder: Path, waves: list[Wave], language: str | None) -> Generated:
    """Each clip transcribed by itself, as the model's documentation shows (features with the
    extractor's defaults: padded to 30 s), greedily."""
    model = AutoModelForSpeechSeq2Seq.from_pretrained(folder).eval()
    tokenizer = AutoTokenizer.from_pretrained(folder)
    extractor = AutoFeatureExtractor.from_pretrained(folder)
    told = {"language": language, "task": "transcribe"} if language else {}
    texts, prompts = [], []
    with torch.inference_mode():
        for wave in waves:
            features = extractor(wave, sampling_rate=16000, return_tensors="pt")
            out = model.generate(
                **features, do_sample=False, num_beams=1, return_dict_in_generate=True, **told
            )
            ids = out.sequences[0].tolist()
            prompts.append(ids[: len(ids) - NEW_TOKENS])
            texts.append(str(tokenizer.decode(ids, skip_special_tokens=True)).strip())
    return Generated(texts, prompts)


@dataclass(frozen=True)
class Corpus:
    """One dataset: its clips as stored and as heard, references, and its two modules."""

    language: str
    files: list[bytes]  # FLAC
    waves: list[Wave]  # the FLAC decoded: 16-bit samples at 16 kHz
    references: list[str]
    batched: EvaluationModule  # batch_size 4
    single: EvaluationModule  # batch_size 1


def _push_dataset(api: HfApi, files: list[bytes], references: list[str]) -> str:
    ds = audio_dataset(files).add_column("text", references)
    repo_id = f"speech-tests/whisper-data-{uuid.uuid4().hex[:8]}"
    api.create_repo(repo_id, repo_type="dataset")
    buffer = io.BytesIO()
    ds.to_parquet(buffer)
    api.upload_file(
        path_or_fileobj=buffer.getvalue(),
        path_in_repo="data/test-00000-of-00001.parquet",
        repo_id=repo_id,
        repo_type="dataset",
    )
    return repo_id


def _corpus(api: HfApi, folder: Path, language: str, rng: random.Random) -> Corpus:
    files = [flac(clip(rng, rng.uniform(0.5, 6.0))) for _ in range(CLIPS)]
    waves = [sf.read(io.BytesIO(b), dtype="float32")[0] for b in files]
    own = generate_alone(folder, waves, language).texts
    lexicon = ENGLISH if language == "en" else GERMAN
    # half the references are the model's own words, capitalised and punctuated (the
    # normalisers undo that), half random words of the language
    references = [
        (own[i].capitalize() + "." if i % 2 == 0 else " ".join(rng.sample(lexicon, 5)))
        for i in range(CLIPS)
    ]
    module: dict[str, Any] = {
        "id": f"whisper-{language}",
        "task": "automatic-speech-recognition",
        "version": 1,
        "dataset": {
            "repo": _push_dataset(api, files, references),
            "name": f"Tiny speech ({language})",
            "split": "test",
            "columns": {"input": "audio", "target": "text"},
            "language": [language],
        },
        "trained_on": ["speech-tiny"],
        "batch_size": 4,
        "perturbations": [],
    }
    batched = EvaluationModule.model_validate(module)
    single = batched.model_copy(update={"id": f"whisper-{language}-single", "batch_size": 1})
    return Corpus(language, files, waves, references, batched, single)


@dataclass(frozen=True)
class World:
    multilingual: Path
    english_only: Path
    corpora: dict[str, Corpus]
    reports: dict[str, ExecutionReport]  # by model: "multilingual", "english-only"


def _evaluate(
    demo_api: HfApi, bot_api: HfApi, folder: Path, modules: list[EvaluationModule]
) -> ExecutionReport:
    repo_id = f"speech-tests/whisper-{uuid.uuid4().hex[:8]}"
    demo_api.create_repo(repo_id)
    demo_api.upload_folder(folder_path=folder, repo_id=repo_id)
    model = to_record(bot_api.model_info(repo_id))
    return Executor(modules, api=bot_api, device="cpu").evaluate(model)


@pytest.fixture(scope="module")
def world(
    demo_api: HfApi, bot_api: HfApi, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[World]:
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    multilingual = tmp_path_factory.mktemp("tiny-whisper")
    build_whisper(multilingual, new_tokens=NEW_TOKENS, seed=1)
    english_only = tmp_path_factory.mktemp("tiny-whisper-en")
    build_whisper(english_only, multilingual=False, new_tokens=NEW_TOKENS, seed=2)
    rng = random.Random(16)
    corpora = {lang: _corpus(demo_api, multilingual, lang, rng) for lang in LANGUAGES}
    modules = [m for c in corpora.values() for m in (c.batched, c.single)]
    reports = {
        "multilingual": _evaluate(demo_api, bot_api, multilingual, modules),
        "english-only": _evaluate(demo_api, bot_api, english_only, [corpora["en"].single]),
    }
    yield World(multilingual, english_only, corpora, reports)
    torch.set_num_threads(threads)


def _record(world: World, model: str, module: EvaluationModule) -> EvaluationRecord:
    (record,) = [r for r in world.reports[model].records if r.module_id == module.id]
    return record


def _assert_jiwer_rates(record: EvaluationRecord, corpus: Corpus, hypotheses: list[str]) -> None:
    references = corpus.references
    assert record.num_examples == CLIPS
    assert record.metrics["wer_raw"] == pytest.approx(jiwer.wer(references, hypotheses), abs=1e-12)
    assert record.metrics["cer_raw"] == pytest.approx(jiwer.cer(references, hypotheses), abs=1e-12)
    refs = normalize(references, NORMALIZER[corpus.language])
    hyps = normalize(hypotheses, NORMALIZER[corpus.language])
    assert record.metrics["wer"] == pytest.approx(jiwer.wer(refs, hyps), abs=1e-12)
    assert record.metrics["cer"] == pytest.approx(jiwer.cer(refs, hyps), abs=1e-12)


@pytest.mark.parametrize("language", LANGUAGES)
def test_transcripts_are_whisper_generate_on_each_clip_alone(world: World, language: str) -> None:
    corpus = world.corpora[language]
    record = _record(world, "multilingual", corpus.single)
    alone = generate_alone(world.multilingual, corpus.waves, language)
    _assert_jiwer_rates(record, corpus, alone.texts)
    # the model's own words, capitalised and punctuated: only the normaliser makes them right
    wer, wer_raw = record.metrics["wer"], record.metrics["wer_raw"]
    assert wer is not None and wer_raw is not None
    assert 0.0 < wer < wer_raw
    assert record.settings["decoding"] == "greedy"
    assert record.settings["sampling_rate"] == 16000
    described = "English normaliser" if language == "en" else "basic normaliser"
    assert described in str(record.settings["normalizer"])


@pytest.mark.parametrize("language", LANGUAGES)
def test_batches_of_four_transcribe_as_one_at_a_time(world: World, language: str) -> None:
    corpus = world.corpora[language]
    batched = _record(world, "multilingual", corpus.batched)
    single = _record(world, "multilingual", corpus.single)
    # every clip is padded to Whisper's 30-second window: a batch changes no clip's features
    for key in ("wer", "cer", "wer_raw", "cer_raw"):
        assert batched.metrics[key] == pytest.approx(single.metrics[key], abs=1e-12), key


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_multilingual_whisper_is_told_the_dataset_language(world: World, language: str) -> None:
    corpus = world.corpora[language]
    for module in (corpus.batched, corpus.single):
        record = _record(world, "multilingual", module)
        assert record.settings["language"] == language
    tokenizer = AutoTokenizer.from_pretrained(world.multilingual)
    told = generate_alone(world.multilingual, corpus.waves, language)
    forced = tokenizer.convert_tokens_to_ids(
        ["<|startoftranscript|>", f"<|{language}|>", "<|transcribe|>", "<|notimestamps|>"]
    )
    assert told.prompts == [forced] * CLIPS
    # the language token matters: the other language's transcripts score otherwise
    other = generate_alone(world.multilingual, corpus.waves, "de" if language == "en" else "en")
    assert told.texts != other.texts
    record = _record(world, "multilingual", corpus.single)
    assert record.metrics["cer_raw"] != pytest.approx(
        jiwer.cer(corpus.references, other.texts), abs=1e-9
    )


def test_an_english_only_whisper_is_told_no_language(world: World) -> None:
    corpus = world.corpora["en"]
    record = _record(world, "english-only", corpus.single)
    assert "language" not in record.settings
    alone = generate_alone(world.english_only, corpus.waves, None)
    tokenizer = AutoTokenizer.from_pretrained(world.english_only)
    forced = tokenizer.convert_tokens_to_ids(["<|startoftranscript|>", "<|notimestamps|>"])
    assert alone.prompts == [forced] * CLIPS
    _assert_jiwer_rates(record, corpus, alone.texts)


def _split(corpus: Corpus) -> SpeechSplit:
    """The corpus as an in-memory split (no Hub)."""
    inputs = AudioInputs(audio_dataset(corpus.files), "audio")
    return SpeechSplit(
        f"tiny/whisper-{corpus.language}",
        "0" * 40,
        "test",
        inputs,
        corpus.references,
        tuple(() for _ in corpus.files),
        inputs.durations(),
        corpus.language,
    )


@pytest.mark.parametrize("batch_size", [1, 4])
def test_transcribe_writes_what_generate_writes_for_each_clip(
    world: World, batch_size: int
) -> None:
    """The recogniser itself, on an in-memory split: the very same transcripts, in row order."""
    corpus = world.corpora["de"]
    recognizer = SpeechRecognizer.load("tiny/whisper", world.multilingual, torch.device("cpu"))
    transcribed = recognizer.transcribe(_split(corpus), Options(batch_size=batch_size))
    assert transcribed.texts == generate_alone(world.multilingual, corpus.waves, "de").texts
    assert transcribed.settings["language"] == "de"


def test_a_whisper_with_fewer_decoder_positions_is_asked_for_what_fits(
    world: World, tmp_path: Path
) -> None:
    """A generation config without a length (as a real checkpoint's) and a decoder of 64
    positions: the new tokens asked for leave room for the 4 prompt tokens."""
    build_whisper(tmp_path, new_tokens=None, decoder_positions=64, seed=3)
    recognizer = SpeechRecognizer.load("tiny/whisper-64", tmp_path, torch.device("cpu"))
    transcribed = recognizer.transcribe(_split(world.corpora["en"]), Options(batch_size=4))
    assert len(transcribed.texts) == CLIPS
    assert all(len(text.split()) <= 64 - 4 for text in transcribed.texts)
