"""The speech part of the demo world: texts and speakers, espeak-ng synthesis at 16 kHz, parquet
files that `datasets` reads back as Audio, the cards (WER in percent, Evaluation on the Hub's
train-eval-index), and a small build whose two models load with the Auto classes."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import datasets
import numpy as np
import pytest
import torch
import yaml
from huggingface_hub import ModelCard, ModelCardData

from evaluators.audio_io import decode, undecoded
from sandbox.world_speech import (
    ASR_CONFIG,
    ASR_DATASET_ID,
    ASR_MODEL_ID,
    ASR_SPLITS,
    KWS_DATASET_ID,
    KWS_LABELS,
    KWS_MODEL_ID,
    KWS_MODEL_LABELS,
    KWS_SPLITS,
    SAMPLING_RATE,
    SPEECH_RECIPE,
    SpeechRecipe,
    SpeechScore,
    SpeechTrainParams,
    Voice,
    _asr_card,
    _asr_features,
    _asr_model_card,
    _kws_card,
    _write_audio_parquet,
    asr_speakers,
    asr_splits,
    build_speech,
    classify,
    encode,
    kws_speakers,
    kws_splits,
    one_second_clip,
    speech_scores,
    synthesise,
    synthesise_all,
    transcribe,
)


def test_asr_texts_are_deterministic_and_librispeech_shaped() -> None:
    splits = asr_splits()
    assert splits == asr_splits()
    assert [len(splits[s]) for s in ASR_SPLITS] == list(SPEECH_RECIPE.asr_sizes)
    for rows in splits.values():
        for row in rows:
            assert re.fullmatch(r"[A-Z]+( [A-Z]+){2,11}", row["text"]), row["text"]
            assert row["id"] == f"{row['speaker_id']}-{row['chapter_id']}-{row['id'][-4:]}"
            assert row["file"] == f"{row['id']}.flac"
    train = splits["train.100"]
    assert len({r["text"] for r in train}) > 0.8 * len(train)  # few sentences twice
    assert len({r["id"] for r in train}) == len(train)


def test_asr_speakers_balance_gender_and_accent() -> None:
    speakers = asr_speakers()
    assert Counter((v.gender, v.accent) for v in speakers.values()) == {
        ("male", "us"): 3,
        ("female", "us"): 3,
        ("male", "gb"): 3,
        ("female", "gb"): 3,
    }
    test = asr_splits()["test"]
    per_speaker = Counter(r["speaker_id"] for r in test)
    assert set(per_speaker) == set(speakers)
    assert max(per_speaker.values()) - min(per_speaker.values()) <= 1
    assert Counter(r["gender"] for r in test) == {"male": 50, "female": 50}
    assert Counter(r["accent"] for r in test) == {"us": 50, "gb": 50}


def test_keyword_rows_balance_words_and_keep_speakers_apart() -> None:
    splits = kws_splits()
    assert splits == kws_splits()
    assert [len(splits[s]) for s in KWS_SPLITS] == list(SPEECH_RECIPE.kws_sizes)
    for split, rows in splits.items():
        counts = Counter(r["label"] for r in rows)
        assert set(counts.values()) == {len(rows) // len(KWS_LABELS)}, split
        assert all(r["is_unknown"] is False for r in rows)
        word, speaker, n = rows[-1]["file"].removesuffix(".wav").replace("_nohash_", "/").split("/")
        assert (word, speaker, int(n)) == (
            KWS_LABELS[rows[-1]["label"]],
            rows[-1]["speaker_id"],
            rows[-1]["utterance_id"],
        )
    speakers = kws_speakers()
    assert not set(speakers["train"]) & (set(speakers["validation"]) | set(speakers["test"]))
    assert not set(speakers["validation"]) & set(speakers["test"])
    assert sorted(KWS_MODEL_LABELS) == sorted(w.upper() for w in KWS_LABELS)
    assert list(KWS_MODEL_LABELS) != [w.upper() for w in KWS_LABELS]  # another order


def test_synthesis_gives_16khz_mono_float_speech_of_plausible_length() -> None:
    texts = ["WHERE IS THE RED CUP", "PLEASE OPEN THE BOOK", "ANNA HAS TWELVE GREEN SPOONS"]
    slow, fast = Voice("en-us", "f3", 120, 50), Voice("en-gb", "m2", 200, 40)
    waves = synthesise_all([(texts[0], slow), (texts[1], fast), (texts[2], slow)], workers=2)
    for text, wave in zip(texts, waves, strict=True):
        assert wave.dtype == np.float32 and wave.ndim == 1
        assert 0.05 < float(np.abs(wave).max()) <= 1.0
        words = len(text.split())
        assert 0.5 * words / 200 * 60 < len(wave) / SAMPLING_RATE < 2.5 * words / 120 * 60
    assert len(waves[0]) > len(synthesise(texts[0], fast))  # slower speech lasts longer
    clip = one_second_clip(waves[2], np.random.default_rng(0), noise=0.003)
    assert clip.shape == (SAMPLING_RATE,) and clip.dtype == np.float32
    back = decode({"bytes": encode(clip, "WAV"), "path": "a.wav"}, target_rate=SAMPLING_RATE)
    np.testing.assert_allclose(back, clip, atol=1 / 32768)


def test_parquet_files_carry_the_audio_feature(tmp_path: Path) -> None:
    waves = [np.sin(np.arange(n) / 5).astype(np.float32) * 0.5 for n in (8000, 12000, 4000)]
    rows = [
        {
            "file": f"1-2-{i:04d}.flac",
            "audio": {"bytes": encode(w, "FLAC"), "path": f"1-2-{i:04d}.flac"},
            "text": "ONE TWO THREE",
            "speaker_id": 1,
            "chapter_id": 2,
            "id": f"1-2-{i:04d}",
            "gender": "male",
            "accent": "us",
        }
        for i, w in enumerate(waves)
    ]
    stats = _write_audio_parquet(tmp_path, ASR_CONFIG, {"test": rows}, _asr_features())
    assert stats["splits"] == [
        {"name": "test", "num_bytes": stats["dataset_size"], "num_examples": 3}
    ]
    file = tmp_path / ASR_CONFIG / "test-00000-of-00001.parquet"
    ds = datasets.load_dataset("parquet", data_files={"test": str(file)}, split="test")
    assert isinstance(ds.features["audio"], datasets.Audio)
    assert ds.features["audio"].sampling_rate == SAMPLING_RATE
    ds = undecoded(ds, "audio")
    for row, wave in zip(ds, waves, strict=True):
        assert row["audio"]["path"] == row["file"]
        np.testing.assert_allclose(decode(row["audio"], target_rate=16000), wave, atol=1e-4)


def _front(card: str) -> dict[str, object]:
    front: dict[str, object] = yaml.safe_load(card.split("---\n")[1])
    return front


def test_dataset_cards_declare_audio_and_the_train_eval_index() -> None:
    stats = {"splits": [{"name": "test", "num_bytes": 1, "num_examples": 1}]}
    asr = _front(_asr_card({**stats, "download_size": 1, "dataset_size": 1}, SPEECH_RECIPE))
    assert asr["task_categories"] == ["automatic-speech-recognition"]
    assert asr["language"] == ["en"]
    assert asr["train-eval-index"] == [
        {
            "config": "clean",
            "task": "automatic-speech-recognition",
            "task_id": "speech_recognition",
            "splits": {"train_split": "train.100", "eval_split": "test"},
            "col_mapping": {"file": "path", "audio": "audio", "text": "text"},
            "metrics": [{"type": "wer", "name": "WER"}, {"type": "cer", "name": "CER"}],
        }
    ]
    info = asr["dataset_info"]
    assert isinstance(info, dict)
    assert {"name": "audio", "dtype": {"audio": {"sampling_rate": 16000}}} in info["features"]
    kws = _front(_kws_card({**stats, "download_size": 1, "dataset_size": 1}, SPEECH_RECIPE))
    kws_index = kws["train-eval-index"]
    assert isinstance(kws_index, list)
    (index,) = kws_index
    assert (index["task"], index["task_id"]) == ("audio-classification", "keyword_spotting")
    assert index["col_mapping"] == {"audio": "audio", "label": "target"}


def test_the_asr_model_card_writes_wer_in_percent() -> None:
    score = SpeechScore({"wer": 0.23412, "cer": 0.0871}, "test", 1.0)
    data = ModelCard(_asr_model_card(score, SPEECH_RECIPE, 1500)).data
    assert isinstance(data, ModelCardData) and data.eval_results
    assert data.pipeline_tag == "automatic-speech-recognition"
    assert data.datasets == [ASR_DATASET_ID] and data.language == ["en"]
    wer, cer = data.eval_results
    assert (wer.metric_type, wer.metric_value, wer.metric_name) == ("wer", 23.4, "Test WER")
    assert (cer.metric_type, cer.metric_value) == ("cer", 8.7)
    assert (wer.dataset_type, wer.dataset_config, wer.dataset_split) == (
        ASR_DATASET_ID,
        "clean",
        "test",
    )
    assert wer.task_type == "automatic-speech-recognition"


SMALL = SpeechRecipe(
    asr_sizes=(96, 12, 12),
    kws_sizes=(60, 10, 10),
    kws_speakers=(3, 1, 1),
    asr=SpeechTrainParams(seed=11, epochs=1, lr=3e-3),
    kws=SpeechTrainParams(seed=12, epochs=1, lr=2e-3, batch_size=16),
)


@pytest.mark.slow
def test_a_small_build_loads_with_the_auto_classes(tmp_path: Path) -> None:
    from transformers import (
        AutoFeatureExtractor,
        AutoModelForAudioClassification,
        AutoModelForCTC,
        AutoProcessor,
    )

    torch.set_num_threads(1)
    dataset_specs, model_specs = build_speech(tmp_path, SMALL)
    assert [d.repo_id for d in dataset_specs] == [ASR_DATASET_ID, KWS_DATASET_ID]
    assert [m.repo_id for m in model_specs] == [ASR_MODEL_ID, KWS_MODEL_ID]
    asr_path, kws_path = (m.path for m in model_specs)
    assert (asr_path / "model.safetensors").is_file() and (kws_path / "model.safetensors").is_file()

    files = sorted(p.name for p in (dataset_specs[0].path / "clean").iterdir())
    assert files == [f"{s}-00000-of-00001.parquet" for s in ("test", "train.100", "validation")]
    test = datasets.load_dataset(str(dataset_specs[0].path), "clean", split="test")
    assert test.column_names == [
        "file",
        "audio",
        "text",
        "speaker_id",
        "chapter_id",
        "id",
        "gender",
        "accent",
    ]
    waves = [decode(a, target_rate=16000) for a in undecoded(test, "audio")["audio"][:5]]
    texts = transcribe(
        AutoModelForCTC.from_pretrained(asr_path), AutoProcessor.from_pretrained(asr_path), waves
    )
    assert len(texts) == 5 and all(set(t) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZ' ") for t in texts)

    commands = datasets.load_dataset(str(dataset_specs[1].path), "v0.02", split="test")
    assert commands.features["label"].names == list(KWS_LABELS)
    clips = [decode(a, target_rate=16000) for a in undecoded(commands, "audio")["audio"][:5]]
    assert {len(c) for c in clips} == {SAMPLING_RATE}
    model = AutoModelForAudioClassification.from_pretrained(kws_path)
    assert list(model.config.id2label.values()) == list(KWS_MODEL_LABELS)
    names = classify(model, AutoFeatureExtractor.from_pretrained(kws_path), clips)
    assert len(names) == 5 and set(names) <= set(KWS_MODEL_LABELS)

    scores = speech_scores(tmp_path)
    assert set(scores[ASR_MODEL_ID].metrics) == {"wer", "cer"}
    for path, metric, value in (
        (asr_path, "wer", round(100 * scores[ASR_MODEL_ID].metrics["wer"], 1)),
        (kws_path, "accuracy", round(scores[KWS_MODEL_ID].metrics["accuracy"], 4)),
    ):
        data = ModelCard.load(path / "README.md").data
        assert isinstance(data, ModelCardData) and data.eval_results
        assert (data.eval_results[0].metric_type, data.eval_results[0].metric_value) == (
            metric,
            value,
        )
    assert json.loads((tmp_path / "speech.json").read_text())["seconds"]["total"] > 0
