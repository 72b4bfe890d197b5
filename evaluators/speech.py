"""Speech: audio splits, speech recognition (CTC and sequence-to-sequence) and audio
classification models, and the scores of a transcribed split.

Audio is never decoded by ``datasets`` (its ``Audio`` feature needs torchcodec and FFmpeg): a
split keeps the stored values (``{"bytes", "path"}``, :func:`evaluators.audio_io.undecoded`) and
the model decodes them at its own sampling rate (:mod:`evaluators.audio_io`: libsndfile, then a
polyphase resampler) in the loader's worker processes, where a perturbed variant is also
perturbed (after resampling, so a low-pass cut-off is relative to what the model hears; item
index = row index, so a variant is the same whatever the batch).

Utterances are batched by duration (read from each file's header, nothing decoded), so a batch
pads little. Recognition: a CTC model (wav2vec2, HuBERT, ...: ``AutoModelForCTC``) is decoded
greedily, as transformers' pipeline decodes it without a language model; a sequence-to-sequence
model (Whisper: ``AutoModelForSpeechSeq2Seq``) generates without sampling, told the dataset's
language and to transcribe where it is multilingual.

Scores (:func:`score_transcripts`): word and character error rates as corpus rates
(:mod:`evaluators.error_rates`, equal to jiwer's), after the text normaliser the module names
(Whisper's English normaliser for English by default, its basic one for other languages; without
the British-to-American spelling map, which ships with Whisper checkpoints and not with the
library), and without any (``wer_raw``, ``cer_raw``): a card's claim computed either way can be
told apart. Groups: speaker gender and accent where the dataset has them, else utterance length.
"""

from __future__ import annotations

import dataclasses
import re
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import torch

from evaluators.audio_io import AudioDecodeError, decode, duration_seconds, undecoded
from evaluators.datasets_io import DatasetError, EvalSplit, drop_unlabelled, labels_of, load_rows
from evaluators.error_rates import chars, distance, words
from evaluators.errors import EvaluationError, InsufficientMetadataError
from evaluators.loading import load_config, load_transformers_model
from evaluators.metadata import SNIPPET
from evaluators.predictions import Options, Predictions, autocast
from evaluators.streaming import Loading, spans, stream
from store.types import ClassResult, DatasetExampleRecord, FailureReason

if TYPE_CHECKING:
    import datasets

    from evaluators.config import EvaluationModule
    from perturbations import Perturbation

# Lower edges of the utterance-length groups, in seconds (LibriSpeech test-clean: 1-35 s;
# Common Voice: 2-10 s; FLEURS: 5-30 s).
DURATION_BUCKETS = (0.0, 2.0, 5.0, 10.0, 20.0, 30.0)
EXAMPLES_PER_GROUP = 5
NORMALIZERS = ("whisper-english", "whisper-basic", "none")
MAX_NEW_TOKENS = 440  # Whisper's decoder has 448 positions, a few taken by its prompt
PROMPT_TOKENS = 4  # Whisper's: <|startoftranscript|> <|lang|> <|transcribe|> <|notimestamps|>


class AudioInputs(Sequence[Any]):
    """One audio column of a split, stored values read on access; ``perturbation`` (with
    ``seed``) is applied by :meth:`waves` after decoding.

    Picklable (its table is memory-mapped Arrow), so loader workers decode in parallel.
    """

    def __init__(
        self,
        ds: datasets.Dataset,
        column: str,
        *,
        perturbation: Perturbation | None = None,
        seed: int = 0,
    ) -> None:
        self._rows = undecoded(ds.select_columns([column]), column).with_format("arrow")
        self._column = column
        self._len = len(ds)
        self.perturbation = perturbation
        self.seed = seed
        # read once per split, shared with its perturbed copies (each variant orders by them)
        self._durations: list[npt.NDArray[np.float64]] = []

    def __len__(self) -> int:
        return self._len

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, int | np.integer):
            return self._rows[int(index)].column(self._column).to_pylist()[0]
        if isinstance(index, slice):
            return self._rows[index].column(self._column).to_pylist()
        rows = [int(i) for i in index]
        return self._rows[rows].column(self._column).to_pylist() if rows else []

    def perturbed(self, perturbation: Perturbation, *, seed: int) -> AudioInputs:
        other = object.__new__(AudioInputs)
        other.__dict__.update(self.__dict__)
        other.perturbation = perturbation
        other.seed = seed
        return other

    def durations(self) -> npt.NDArray[np.float64]:
        """Each row's length in seconds, from its header (0 where unreadable: it fails later,
        with its row named, when decoded); read once, then shared with the perturbed copies."""
        if self._durations:
            return self._durations[0]
        out = np.zeros(self._len, dtype=np.float64)
        chunk = 256
        for lo in range(0, self._len, chunk):
            for i, value in enumerate(self[lo : lo + chunk]):
                try:
                    out[lo + i] = duration_seconds(value, row=lo + i)
                except AudioDecodeError:
                    out[lo + i] = 0.0
        self._durations.append(out)
        return out


@dataclass(frozen=True)
class _Decode:
    """The loader workers' transform: decode rows at ``rate`` Hz, then perturb them."""

    rate: int
    perturbation: Perturbation | None
    seed: int

    def __call__(self, values: list[Any], part: Any) -> list[npt.NDArray[np.float32]]:
        rows = _rows(part)
        waves = [decode(v, target_rate=self.rate, row=r) for v, r in zip(values, rows, strict=True)]
        if self.perturbation is None:
            return waves
        return [
            self.perturbation.apply_wave(w, self.rate, seed=self.seed, index=r)
            for w, r in zip(waves, rows, strict=True)
        ]


def _rows(part: Any) -> list[int]:
    if isinstance(part, slice):
        return list(range(part.start, part.stop))
    return [int(i) for i in part]


def _batches(
    inputs: AudioInputs,
    order: npt.NDArray[np.intp],
    size: int,
    rate: int,
    loading: Loading,
) -> Iterable[tuple[list[int], list[npt.NDArray[np.float32]]]]:
    """(rows, waves) per batch of ``size`` rows along ``order``, decoded (and perturbed) by the
    loader's workers; progress is reported as batches arrive."""
    parts = spans(len(inputs), size, order)
    transform = _Decode(rate, inputs.perturbation, inputs.seed)
    for part, waves in zip(
        parts, stream(inputs, parts, loading=loading, transform=transform), strict=True
    ):
        # a worker's numpy arrays come back as tensors (the loader's conversion)
        yield _rows(part), [np.asarray(w, dtype=np.float32) for w in waves]


@dataclass(frozen=True)
class SpeechSplit:
    """A split of utterances with their reference transcripts and speaker groups."""

    dataset_id: str
    revision: str
    split: str
    inputs: AudioInputs
    references: Sequence[str]
    groups: tuple[tuple[str, ...], ...]  # per row: its group labels ("gender: female", ...)
    durations: npt.NDArray[np.float64]
    language: str | None

    def __len__(self) -> int:
        return len(self.references)

    def perturbed(self, perturbation: Perturbation, *, seed: int) -> SpeechSplit:
        return dataclasses.replace(self, inputs=self.inputs.perturbed(perturbation, seed=seed))


def duration_label(seconds: float) -> str:
    """The utterance-length group of ``seconds``: ``2-5 s``, the last ``30+ s``."""
    index = int(np.searchsorted(np.asarray(DURATION_BUCKETS), seconds, side="right")) - 1
    index = max(index, 0)
    low = DURATION_BUCKETS[index]
    if index + 1 < len(DURATION_BUCKETS):
        return f"length: {low:g}-{DURATION_BUCKETS[index + 1]:g} s"
    return f"length: {low:g}+ s"


def _group_value(role: str, value: Any) -> str | None:
    text = str(value).strip().lower() if value is not None else ""
    if not text or text in {"none", "other", "unknown", "nan"}:
        return None
    return f"{role}: {text}"


def load_speech_split(module: EvaluationModule, revision: str) -> SpeechSplit:
    """The module's utterances (audio undecoded), transcripts and groups at ``revision``.

    Raises:
        DatasetError: a column is missing, or a transcript is not text or has no words.
    """
    ref = module.dataset
    ds = load_rows(module, revision)
    columns = ref.columns.roles()
    texts = ds[columns["target"]]
    for row, text in enumerate(texts):
        if not isinstance(text, str) or not text.strip():
            raise DatasetError(
                f"{ref.repo} row {row}: the transcript {str(text)[:40]!r} has no words; leave "
                f"such rows out of the split or fix dataset.columns.target in the module "
                f"'{module.id}'",
                module=module.id,
            )
    inputs = AudioInputs(ds, columns["input"])
    durations = inputs.durations()
    roles = [role for role in ("gender", "accent") if role in columns]
    by_role = {role: ds[columns[role]] for role in roles}
    groups: list[tuple[str, ...]] = []
    for row in range(len(ds)):
        found = tuple(
            g for role in roles if (g := _group_value(role, by_role[role][row])) is not None
        )
        groups.append(found if roles else (duration_label(float(durations[row])),))
    language = ref.language[0] if len(ref.language) == 1 else None
    return SpeechSplit(
        ref.repo, revision, ref.split, inputs, list(texts), tuple(groups), durations, language
    )


def sampling_rate_of(repo_id: str, extractor: Any) -> int:
    rate = getattr(extractor, "sampling_rate", None)
    if not isinstance(rate, int) or rate <= 0:
        raise InsufficientMetadataError(
            repo_id, "the feature extractor states no sampling_rate (preprocessor_config.json)"
        )
    return rate


def _load_processor(repo_id: str, path: Path) -> tuple[Any, Any]:
    """The repo's feature extractor and its tokenizer (None where it has none)."""
    from transformers import AutoFeatureExtractor, AutoProcessor, AutoTokenizer

    try:
        if (path / "preprocessor_config.json").is_file() or not (
            path / "processor_config.json"
        ).is_file():
            extractor = AutoFeatureExtractor.from_pretrained(path, trust_remote_code=False)
        else:  # transformers 5 saves a processor's feature extractor inside processor_config.json
            extractor = AutoProcessor.from_pretrained(
                path, trust_remote_code=False
            ).feature_extractor
    except (OSError, ValueError, TypeError, KeyError, AttributeError) as exc:
        raise InsufficientMetadataError(
            repo_id,
            f"no usable feature extractor (preprocessor_config.json or processor_config.json): "
            f"{exc}",
        ) from exc
    try:
        tokenizer = AutoTokenizer.from_pretrained(path, trust_remote_code=False)
    except (OSError, ValueError, TypeError, KeyError, AttributeError):
        tokenizer = None
    return extractor, tokenizer


@dataclass(frozen=True)
class Transcribed:
    texts: list[str]
    seconds: float
    batch_size: int
    settings: dict[str, str | int | float | bool | None]


@dataclass
class SpeechRecognizer:
    """A CTC or sequence-to-sequence speech recognition model with its processor."""

    repo_id: str
    model: torch.nn.Module
    extractor: Any
    tokenizer: Any
    device: torch.device
    kind: str  # "ctc" or "seq2seq"
    sampling_rate: int
    id2label: dict[int, str] = field(default_factory=dict)  # no classes: nothing to map

    @classmethod
    def load(cls, repo_id: str, path: Path, device: torch.device) -> SpeechRecognizer:
        """Load from a local snapshot; safetensors only, never remote code.

        Raises:
            InsufficientMetadataError: no usable config, feature extractor or tokenizer.
            IncompatibleLibraryError: neither a CTC nor a speech sequence-to-sequence model.
            EvaluationError: any other load failure (reason ``load error``).
        """
        from transformers import AutoModelForCTC, AutoModelForSpeechSeq2Seq

        config = load_config(repo_id, path)
        extractor, tokenizer = _load_processor(repo_id, path)
        if tokenizer is None:
            raise InsufficientMetadataError(
                repo_id, "no tokenizer: transcripts cannot be decoded (add its vocabulary)"
            )
        seq2seq = bool(getattr(config, "is_encoder_decoder", False))
        model = load_transformers_model(
            repo_id,
            AutoModelForSpeechSeq2Seq if seq2seq else AutoModelForCTC,
            path,
            config,
            kind="a speech sequence-to-sequence model" if seq2seq else "a CTC speech model",
            device=device,
        )
        return cls(
            repo_id,
            model,
            extractor,
            tokenizer,
            device,
            "seq2seq" if seq2seq else "ctc",
            sampling_rate_of(repo_id, extractor),
        )

    def _generate_kwargs(self, language: str | None) -> dict[str, Any]:
        kwargs: dict[str, Any] = {"do_sample": False, "num_beams": 1}
        gen = getattr(self.model, "generation_config", None)
        if getattr(gen, "is_multilingual", False) and language:
            kwargs.update(language=language, task="transcribe")
        if getattr(gen, "max_new_tokens", None) is None:
            # what the decoder's positions leave after the prompt (448 in OpenAI's checkpoints)
            positions = getattr(self.model.config, "max_target_positions", None)
            room = positions - PROMPT_TOKENS if isinstance(positions, int) else MAX_NEW_TOKENS
            kwargs["max_new_tokens"] = max(1, min(MAX_NEW_TOKENS, room))
        return kwargs

    @torch.inference_mode()
    def transcribe(self, split: SpeechSplit, options: Options) -> Transcribed:
        """A transcript of every utterance, ``options.batch_size`` of similar length at a time."""
        order = np.argsort(split.durations, kind="stable")
        texts: list[str] = [""] * len(split)
        kwargs = self._generate_kwargs(split.language) if self.kind == "seq2seq" else {}
        start = time.perf_counter()
        with autocast(self.device, options.precision):
            for rows, waves in _batches(
                split.inputs, order, options.batch_size, self.sampling_rate, options.loading
            ):
                for row, text in zip(rows, self._batch(waves, kwargs), strict=True):
                    texts[row] = text
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
        settings: dict[str, str | int | float | bool | None] = {
            "decoding": "greedy CTC" if self.kind == "ctc" else "greedy",
            "sampling_rate": self.sampling_rate,
        }
        if "language" in kwargs:
            settings["language"] = kwargs["language"]
        return Transcribed(texts, time.perf_counter() - start, options.batch_size, settings)

    def _padding(self) -> dict[str, Any]:
        """How a batch is padded: to its longest utterance, except where the extractor has a
        fixed window (Whisper's ``n_samples``, 30 s): there every utterance is padded to the
        window alone, as the model was trained and as it transcribes the utterance alone
        (``generate`` would pad shorter features with zeros, not with the features of
        silence, and a batch would change them), and cut there (long-form generation, with
        timestamps, is not done)."""
        window = getattr(self.extractor, "n_samples", None)
        if self.kind == "seq2seq" and isinstance(window, int):
            return {"padding": "max_length", "truncation": True}
        return {"padding": True}

    def _batch(self, waves: list[npt.NDArray[np.float32]], kwargs: dict[str, Any]) -> list[str]:
        features = self.extractor(
            waves,
            sampling_rate=self.sampling_rate,
            return_attention_mask=True,
            return_tensors="pt",
            **self._padding(),
        ).to(self.device)
        try:
            if self.kind == "ctc":
                logits = self.model(**features).logits
                ids = logits.argmax(dim=-1).cpu()
                mask = features.get("attention_mask")
                frames = getattr(self.model, "_get_feat_extract_output_lengths", None)
                if mask is not None and frames is not None:
                    # frames of the padding are not the utterance's: CTC decodes its own only
                    lengths = frames(mask.sum(dim=-1)).cpu().tolist()
                    return [
                        str(self.tokenizer.decode(row[: int(n)])).strip()
                        for row, n in zip(ids, lengths, strict=True)
                    ]
                return [str(t).strip() for t in self.tokenizer.batch_decode(ids)]
            ids = self.model.generate(**features, **kwargs)  # type: ignore[operator]
        except (ValueError, TypeError, RuntimeError) as exc:
            raise EvaluationError(
                self.repo_id, f"transcription failed: {exc}", reason=FailureReason.LOAD_ERROR
            ) from exc
        return [str(t).strip() for t in self.tokenizer.batch_decode(ids, skip_special_tokens=True)]


# -- normalisers and scores ------------------------------------------------------------------


def normalizer_for(module: EvaluationModule) -> str:
    """The module's text normaliser: its own, else Whisper's English one for an English
    dataset and Whisper's basic one for any other."""
    if module.normalizer is not None:
        return module.normalizer
    return "whisper-english" if module.dataset.language == ["en"] else "whisper-basic"


def normalize(texts: Sequence[str], name: str) -> list[str]:
    """``texts`` after the normaliser ``name`` (one of :data:`NORMALIZERS`)."""
    if name == "none":
        return list(texts)
    from transformers.models.whisper.english_normalizer import (
        BasicTextNormalizer,
        EnglishTextNormalizer,
    )

    fn = EnglishTextNormalizer({}) if name == "whisper-english" else BasicTextNormalizer()
    return [_SPACES.sub(" ", fn(t)).strip() for t in texts]


_SPACES = re.compile(r"\s+")


@dataclass(frozen=True)
class SpeechScores:
    metrics: dict[str, float | None]
    classes: tuple[ClassResult, ...]
    settings: dict[str, str | int | float | bool | None]


def _edits(references: Sequence[str], hypotheses: Sequence[str]) -> npt.NDArray[np.int64]:
    """Per utterance: word edits, reference words, character edits, reference characters."""
    out = np.zeros((len(references), 4), dtype=np.int64)
    for i, (ref, hyp) in enumerate(zip(references, hypotheses, strict=True)):
        ref_words, ref_chars = words(ref), chars(ref)
        out[i] = (
            distance(ref_words, words(hyp)),
            len(ref_words),
            distance(ref_chars, chars(hyp)),
            len(ref_chars),
        )
    return out


def _rates(table: npt.NDArray[np.int64]) -> tuple[float | None, float | None]:
    w_edits, w_ref, c_edits, c_ref = (int(x) for x in table.sum(axis=0))
    return (w_edits / w_ref if w_ref else None, c_edits / c_ref if c_ref else None)


def score_transcripts(
    split: SpeechSplit, transcribed: Transcribed, *, normalizer: str
) -> SpeechScores:
    """WER and CER after ``normalizer`` and without it, per group too. An utterance whose
    normalised reference is empty (a transcript of only fillers) counts only in the raw rates."""
    raw = _edits(split.references, transcribed.texts)
    refs = normalize(split.references, normalizer)
    hyps = normalize(transcribed.texts, normalizer)
    kept = np.array([bool(words(r)) for r in refs], dtype=bool)
    normed = _edits(
        [r for r, k in zip(refs, kept, strict=True) if k],
        [h for h, k in zip(hyps, kept, strict=True) if k],
    )
    full = np.zeros_like(raw)
    full[kept] = normed
    wer, cer = _rates(full)
    wer_raw, cer_raw = _rates(raw)
    labels = sorted({g for groups in split.groups for g in groups})
    classes = []
    for class_id, label in enumerate(labels):
        rows = [i for i, groups in enumerate(split.groups) if label in groups]
        g_wer, g_cer = _rates(full[rows])
        classes.append(
            ClassResult(
                class_id=class_id,
                label=label,
                tp=0,
                fp=0,
                fn=0,
                support=len(rows),
                precision=None,
                recall=None,
                f1=None,
                metrics={"wer": g_wer, "cer": g_cer},
            )
        )
    return SpeechScores(
        {"wer": wer, "cer": cer, "wer_raw": wer_raw, "cer_raw": cer_raw},
        tuple(classes),
        {**transcribed.settings, "normalizer": _describe(normalizer)},
    )


def _describe(name: str) -> str:
    if name == "whisper-english":
        return "Whisper's English normaliser (transformers), without its spelling map"
    if name == "whisper-basic":
        return "Whisper's basic normaliser (transformers): lower case, no punctuation or marks"
    return "none"


def speech_examples(
    split: SpeechSplit, rows: Iterable[int] | None = None
) -> list[DatasetExampleRecord]:
    """Reference transcripts (default: the first few of each group) as examples."""
    labels = sorted({g for groups in split.groups for g in groups})
    if rows is None:
        taken: dict[str, int] = {}
        chosen = []
        for row, groups in enumerate(split.groups):
            group = groups[0] if groups else ""
            if group and taken.get(group, 0) < EXAMPLES_PER_GROUP:
                taken[group] = taken.get(group, 0) + 1
                chosen.append(row)
        rows = chosen
    out = []
    for row in sorted(set(rows)):
        group = split.groups[row][0] if split.groups[row] else ""
        out.append(
            DatasetExampleRecord(
                dataset_id=split.dataset_id,
                split=split.split,
                class_id=labels.index(group) if group in labels else -1,
                label=group,
                example_id=row,
                text=f"({split.durations[row]:.1f} s) {split.references[row]}"[:SNIPPET],
            )
        )
    return out


# -- audio classification --------------------------------------------------------------------


@dataclass
class AudioClassifier:
    """An audio classification model with its feature extractor."""

    repo_id: str
    model: torch.nn.Module
    extractor: Any
    id2label: dict[int, str]
    device: torch.device
    sampling_rate: int

    @classmethod
    def load(cls, repo_id: str, path: Path, device: torch.device) -> AudioClassifier:
        """Load from a local snapshot; safetensors only, never remote code.

        Raises:
            InsufficientMetadataError: no usable config, labels or feature extractor.
            IncompatibleLibraryError: not an audio classifier.
            EvaluationError: any other load failure (reason ``load error``).
        """
        from transformers import AutoModelForAudioClassification

        from evaluators.labels import model_labels

        config = load_config(repo_id, path)
        id2label = model_labels(repo_id, getattr(config, "id2label", None))
        extractor, _ = _load_processor(repo_id, path)
        model = load_transformers_model(
            repo_id,
            AutoModelForAudioClassification,
            path,
            config,
            kind="an audio classifier",
            device=device,
        )
        return cls(
            repo_id, model, extractor, id2label, device, sampling_rate_of(repo_id, extractor)
        )

    @torch.inference_mode()
    def predict(self, inputs: Sequence[Any], options: Options) -> Predictions:
        """Predict every clip of ``inputs`` (an :class:`AudioInputs`), clips of similar length
        batched together."""
        if not isinstance(inputs, AudioInputs):
            raise TypeError("audio classification reads an AudioInputs column")
        order = np.argsort(inputs.durations(), kind="stable")
        labels = np.empty(len(inputs), dtype=np.int64)
        confidences = np.empty(len(inputs), dtype=np.float32)
        start = time.perf_counter()
        with autocast(self.device, options.precision):
            for rows, waves in _batches(
                inputs, order, options.batch_size, self.sampling_rate, options.loading
            ):
                features = self.extractor(
                    waves,
                    sampling_rate=self.sampling_rate,
                    padding=True,
                    return_tensors="pt",
                ).to(self.device)
                logits = self.model(**features).logits.float()
                conf, pred = torch.softmax(logits, dim=-1).max(dim=-1)
                labels[rows] = pred.cpu().numpy()
                confidences[rows] = conf.cpu().numpy()
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
        return Predictions(
            labels=labels, confidences=confidences, seconds=time.perf_counter() - start
        )


@dataclass(frozen=True)
class AudioEvalSplit(EvalSplit):
    """A classification split of audio clips: ``inputs`` is an :class:`AudioInputs`, perturbed
    by the model's loader after decoding (not by :class:`evaluators.streaming.Perturbed`)."""

    def perturbed(self, perturbation: Perturbation, *, seed: int) -> AudioEvalSplit:
        assert isinstance(self.inputs, AudioInputs)
        return dataclasses.replace(
            self,
            inputs=self.inputs.perturbed(perturbation, seed=seed),
            perturbation=perturbation,
        )


def load_audio_split(module: EvaluationModule, revision: str) -> AudioEvalSplit:
    """The module's clips (undecoded) and labels at ``revision``; unlabelled rows left out.

    Raises:
        DatasetError: a column is missing or a label is not in ``dataset.labels``.
    """
    ref = module.dataset
    ds = load_rows(module, revision)
    labels = labels_of(module, ds)
    ds, labels = drop_unlabelled(module, ds, labels, revision)
    return AudioEvalSplit(
        ref.repo, revision, ref.split, AudioInputs(ds, ref.columns.role("input")), labels
    )


def clip_examples(
    module: EvaluationModule, split: EvalSplit, rows: Iterable[int] | None = None
) -> list[DatasetExampleRecord]:
    """Clips as examples (default: the first few of each class): their file name and length."""
    labels = module.dataset.labels
    if rows is None:
        taken: dict[int, int] = {}
        chosen = []
        for row, label in enumerate(split.labels.tolist()):
            if taken.get(label, 0) < EXAMPLES_PER_GROUP:
                taken[label] = taken.get(label, 0) + 1
                chosen.append(row)
        rows = chosen
    inputs = split.inputs
    out = []
    for row in sorted(set(rows)):
        value = inputs[row]
        name = value.get("path") if isinstance(value, dict) else None
        try:
            seconds = f"{duration_seconds(value, row=row):.1f} s"
        except AudioDecodeError:
            seconds = "unreadable"
        label = int(split.labels[row])
        out.append(
            DatasetExampleRecord(
                dataset_id=split.dataset_id,
                split=split.split,
                class_id=label,
                label=labels[label],
                example_id=row,
                text=f"audio clip, {seconds}" + (f" ({name})" if name else ""),
            )
        )
    return out
