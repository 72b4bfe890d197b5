"""Speech recognition and audio classification end to end on the sandbox Hub: tiny random
wav2vec2 models (CTC and a classification head) and two parquet datasets with an ``Audio``
column (FLAC at 16 kHz and WAV at 8 kHz, resampled by the evaluation), pushed with the real
client and evaluated by the Executor in process. Transcripts and predictions are checked against
the model run here on each clip alone; the error rates against jiwer."""

from __future__ import annotations

import io
import json
import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import datasets
import jiwer
import numpy as np
import pytest
import soundfile as sf
import torch
from huggingface_hub import HfApi
from transformers import (
    Wav2Vec2Config,
    Wav2Vec2CTCTokenizer,
    Wav2Vec2FeatureExtractor,
    Wav2Vec2ForCTC,
    Wav2Vec2ForSequenceClassification,
)

from bot.discovery import to_record
from evaluators.audio_io import resample
from evaluators.config import EvaluationModule
from evaluators.executor import ORIGINAL, ExecutionReport, Executor
from evaluators.speech import duration_label, normalize
from store.catalogue import SPEECH_RECOGNITION
from store.types import EvaluationRecord

LETTERS = "abcdefgh"
WORDS = ["bad", "cab", "dead", "face", "head", "bed", "fed", "age"]
KEYWORDS = ["yes", "no", "up"]


def _config(**extra: Any) -> Wav2Vec2Config:
    return Wav2Vec2Config(
        hidden_size=32,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=64,
        conv_dim=(16, 16),
        conv_stride=(5, 4),
        conv_kernel=(10, 4),
        num_conv_pos_embeddings=16,
        num_conv_pos_embedding_groups=2,
        feat_extract_norm="layer",
        do_stable_layer_norm=True,
        **extra,
    )


def _extractor() -> Wav2Vec2FeatureExtractor:
    return Wav2Vec2FeatureExtractor(
        feature_size=1,
        sampling_rate=16000,
        padding_value=0.0,
        do_normalize=True,
        return_attention_mask=True,
    )


def _ctc_model(folder: Path) -> None:
    vocab = {"<pad>": 0, "<unk>": 1, "|": 2, **{c: i + 3 for i, c in enumerate(LETTERS)}}
    (folder / "vocab.json").write_text(json.dumps(vocab))
    tokenizer = Wav2Vec2CTCTokenizer(
        str(folder / "vocab.json"), unk_token="<unk>", pad_token="<pad>", word_delimiter_token="|"
    )
    torch.manual_seed(3)
    model = Wav2Vec2ForCTC(_config(vocab_size=len(vocab), pad_token_id=0))
    with torch.no_grad():  # letters and word breaks, rarely blank: transcripts have words
        model.lm_head.weight.normal_(0.0, 2.0)
        model.lm_head.bias.zero_()
        model.lm_head.bias[0] = -3.0
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    _extractor().save_pretrained(folder)
    (folder / "README.md").write_text(
        "---\npipeline_tag: automatic-speech-recognition\nlibrary_name: transformers\n"
        "datasets: [speech-tiny]\n---\n# tiny CTC\n"
    )


def _classifier(folder: Path) -> None:
    torch.manual_seed(4)
    model = Wav2Vec2ForSequenceClassification(
        _config(
            num_labels=3,
            id2label=dict(enumerate(k.upper() for k in reversed(KEYWORDS))),
            label2id={k.upper(): i for i, k in enumerate(reversed(KEYWORDS))},
            classifier_proj_size=16,
        )
    )
    with torch.no_grad():
        model.classifier.weight.normal_(0.0, 3.0)
    model.save_pretrained(folder)
    _extractor().save_pretrained(folder)
    (folder / "README.md").write_text(
        "---\npipeline_tag: audio-classification\nlibrary_name: transformers\n"
        "datasets: [keywords-tiny]\n---\n# tiny keyword spotter\n"
    )


def _clip(rng: random.Random, rate: int, seconds: float) -> np.ndarray:
    t = np.arange(int(rate * seconds)) / rate
    tone = sum(np.sin(2 * np.pi * rng.uniform(100, 3000) * t) for _ in range(3))
    noise = np.random.default_rng(rng.randrange(1 << 30)).normal(0, 0.1, t.shape)
    return (0.2 * tone + noise).astype(np.float32)


def _encoded(wave: np.ndarray, rate: int, fmt: str) -> bytes:
    buffer = io.BytesIO()
    sf.write(buffer, wave, rate, format=fmt)
    return buffer.getvalue()


def _push(api: HfApi, columns: dict[str, list[Any]], name: str) -> str:
    ds = datasets.Dataset.from_dict(columns).cast_column("audio", datasets.Audio())
    if "label" in columns:
        ds = ds.cast_column("label", datasets.ClassLabel(names=KEYWORDS))
    repo_id = f"speech-tests/{name}-{uuid.uuid4().hex[:8]}"
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


def _own_transcripts(folder: Path, waves: list[np.ndarray]) -> list[str]:
    model = Wav2Vec2ForCTC.from_pretrained(folder).eval()
    tokenizer = Wav2Vec2CTCTokenizer.from_pretrained(folder)
    extractor = Wav2Vec2FeatureExtractor.from_pretrained(folder)
    out = []
    with torch.inference_mode():
        for wave in waves:
            features = extractor(wave, sampling_rate=16000, return_tensors="pt")
            ids = model(**features).logits.argmax(-1)
            out.append(str(tokenizer.batch_decode(ids)[0]).strip())
    return out


@dataclass(frozen=True)
class World:
    ctc: Path
    waves: list[np.ndarray]  # at 16 kHz, as the model hears them
    references: list[str]
    genders: list[str]
    asr: EvaluationModule
    classifier: Path
    clips: list[np.ndarray]  # at 16 kHz
    keywords: list[int]
    kws: EvaluationModule
    reports: dict[str, ExecutionReport]


@pytest.fixture(scope="module")
def world(
    demo_api: HfApi, bot_api: HfApi, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[World]:
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    rng = random.Random(11)
    ctc = tmp_path_factory.mktemp("tiny-ctc")
    _ctc_model(ctc)
    # as stored: 16-bit FLAC (the model hears the quantised samples)
    flacs = [_encoded(_clip(rng, 16000, rng.uniform(0.5, 6.0)), 16000, "FLAC") for _ in range(14)]
    waves = [sf.read(io.BytesIO(b), dtype="float32")[0] for b in flacs]
    own = _own_transcripts(ctc, waves)
    # half the references are the model's own transcripts (upper case, as LibriSpeech)
    references = [
        (own[i] if i % 2 == 0 and own[i].strip() else " ".join(rng.sample(WORDS, 3))).upper()
        for i in range(len(waves))
    ]
    genders = ["female" if i % 3 else "male" for i in range(len(waves))]
    asr = EvaluationModule.model_validate(
        {
            "id": "tiny-asr",
            "task": "automatic-speech-recognition",
            "version": 1,
            "dataset": {
                "repo": _push(
                    demo_api,
                    {
                        "audio": [{"bytes": b, "path": f"{i}.flac"} for i, b in enumerate(flacs)],
                        "text": references,
                        "gender": genders,
                    },
                    "asr",
                ),
                "name": "Tiny speech",
                "split": "test",
                "columns": {"input": "audio", "target": "text", "gender": "gender"},
                "language": ["en"],
            },
            "trained_on": ["speech-tiny"],
            "batch_size": 4,
            "perturbations": [{"name": "noise", "snr_db": 5}],
        }
    )
    classifier = tmp_path_factory.mktemp("tiny-kws")
    _classifier(classifier)
    wavs = [_encoded(_clip(rng, 8000, 1.0), 8000, "WAV") for _ in range(12)]
    clips8k = [sf.read(io.BytesIO(b), dtype="float32")[0] for b in wavs]
    keywords = [i % 3 for i in range(12)]
    kws = EvaluationModule.model_validate(
        {
            "id": "tiny-kws",
            "task": "audio-classification",
            "version": 1,
            "dataset": {
                "repo": _push(
                    demo_api,
                    {
                        "audio": [{"bytes": b, "path": f"{i}.wav"} for i, b in enumerate(wavs)],
                        "label": keywords,
                    },
                    "kws",
                ),
                "name": "Tiny keywords",
                "split": "test",
                "columns": {"input": "audio", "label": "label"},
                "labels": KEYWORDS,
            },
            "trained_on": ["keywords-tiny"],
            "batch_size": 5,
            "perturbations": [{"name": "lowpass", "cutoff_hz": 1000}],
        }
    )
    # one utterance per batch: no padding, so the transcripts are exactly the model's own
    single = asr.model_copy(update={"id": "tiny-asr-single", "batch_size": 1, "perturbations": []})
    reports = {}
    for modules, folder, name in (([asr, single], ctc, "ctc"), ([kws], classifier, "kws")):
        repo_id = f"speech-tests/{name}-{uuid.uuid4().hex[:8]}"
        demo_api.create_repo(repo_id)
        demo_api.upload_folder(folder_path=folder, repo_id=repo_id)
        model = to_record(bot_api.model_info(repo_id))
        reports[modules[0].task] = Executor(modules, api=bot_api, device="cpu").evaluate(model)
    clips = [resample(c, 8000, 16000) for c in clips8k]
    yield World(ctc, waves, references, genders, asr, classifier, clips, keywords, kws, reports)
    torch.set_num_threads(threads)


def _record(
    world: World, task: str, variant: str = ORIGINAL, module: str | None = None
) -> EvaluationRecord:
    (record,) = [
        r
        for r in world.reports[task].records
        if r.variant == variant and module in (None, r.module_id)
    ]
    return record


def test_transcripts_are_scored_as_jiwer_scores_them(world: World) -> None:
    record = _record(world, "automatic-speech-recognition", module="tiny-asr-single")
    hypotheses = _own_transcripts(world.ctc, world.waves)
    assert record.num_examples == len(world.waves)
    raw = jiwer.process_words(world.references, hypotheses)
    assert record.metrics["wer_raw"] == pytest.approx(raw.wer, abs=1e-12)
    assert record.metrics["cer_raw"] == pytest.approx(
        jiwer.cer(world.references, hypotheses), abs=1e-12
    )
    refs = normalize(world.references, "whisper-english")
    hyps = normalize(hypotheses, "whisper-english")
    assert record.metrics["wer"] == pytest.approx(jiwer.wer(refs, hyps), abs=1e-12)
    assert record.metrics["wer"] < record.metrics["wer_raw"]  # case no longer counts
    assert "English normaliser" in str(record.settings["normalizer"])
    assert record.settings["decoding"] == "greedy CTC"
    assert record.settings["sampling_rate"] == 16000
    assert not SPEECH_RECOGNITION.headline.higher_is_better


def test_batches_of_utterances_padded_to_the_longest_transcribe_alike(world: World) -> None:
    batched = _record(world, "automatic-speech-recognition", module="tiny-asr")
    single = _record(world, "automatic-speech-recognition", module="tiny-asr-single")
    # only the frames at an utterance's end see its padding through the convolutions
    for key in ("wer", "cer", "wer_raw", "cer_raw"):
        assert batched.metrics[key] == pytest.approx(single.metrics[key], abs=0.02), key


def test_transcripts_are_grouped_by_speaker_gender(world: World) -> None:
    record = _record(world, "automatic-speech-recognition", module="tiny-asr-single")
    assert {c.label: c.support for c in record.classes} == {
        "gender: female": world.genders.count("female"),
        "gender: male": world.genders.count("male"),
    }
    hypotheses = _own_transcripts(world.ctc, world.waves)
    female = [i for i, g in enumerate(world.genders) if g == "female"]
    refs = normalize([world.references[i] for i in female], "whisper-english")
    hyps = normalize([hypotheses[i] for i in female], "whisper-english")
    (group,) = [c for c in record.classes if c.label == "gender: female"]
    assert group.metrics["wer"] == pytest.approx(jiwer.wer(refs, hyps), abs=1e-12)


def test_noise_makes_another_transcript(world: World) -> None:
    noisy = _record(world, "automatic-speech-recognition", "noise(snr_db=5.0)")
    original = _record(world, "automatic-speech-recognition", module="tiny-asr")
    assert noisy.num_examples == original.num_examples
    assert noisy.metrics["cer_raw"] != original.metrics["cer_raw"]


def test_clips_are_resampled_and_classified_with_mapped_labels(world: World) -> None:
    record = _record(world, "audio-classification")
    model = Wav2Vec2ForSequenceClassification.from_pretrained(world.classifier).eval()
    extractor = Wav2Vec2FeatureExtractor.from_pretrained(world.classifier)
    with torch.inference_mode():
        logits = [
            model(**extractor(c, sampling_rate=16000, return_tensors="pt")).logits[0]
            for c in world.clips
        ]
    # the model's labels are the dataset's in reverse order, in upper case
    predicted = [2 - int(torch.argmax(x)) for x in logits]
    accuracy = float(np.mean([p == k for p, k in zip(predicted, world.keywords, strict=True)]))
    assert record.metrics["accuracy"] == pytest.approx(accuracy, abs=1e-12)
    assert record.label_mapping == {"UP": "up", "NO": "no", "YES": "yes"}
    assert [c.support for c in record.classes] == [4, 4, 4]
    lowpass = _record(world, "audio-classification", "lowpass(cutoff_hz=1000.0)")
    assert lowpass.num_examples == 12


def test_durations_name_the_length_groups() -> None:
    assert duration_label(0.4) == "length: 0-2 s"
    assert duration_label(7.0) == "length: 5-10 s"
    assert duration_label(45.0) == "length: 30+ s"


def test_a_processor_saved_by_transformers_5_gives_its_feature_extractor(tmp_path: Path) -> None:
    """transformers 5 saves a Wav2Vec2Processor's feature extractor inside processor_config.json
    (no preprocessor_config.json): the recognizer finds it there."""
    from transformers import Wav2Vec2Processor

    from evaluators.speech import SpeechRecognizer

    _ctc_model(tmp_path)
    (tmp_path / "preprocessor_config.json").unlink()
    tokenizer = Wav2Vec2CTCTokenizer.from_pretrained(tmp_path)
    Wav2Vec2Processor(feature_extractor=_extractor(), tokenizer=tokenizer).save_pretrained(tmp_path)
    assert (tmp_path / "processor_config.json").is_file()
    assert not (tmp_path / "preprocessor_config.json").is_file()
    recognizer = SpeechRecognizer.load("o/ctc", tmp_path, torch.device("cpu"))
    assert (recognizer.kind, recognizer.sampling_rate) == ("ctc", 16000)
    assert type(recognizer.extractor).__name__ == "Wav2Vec2FeatureExtractor"
