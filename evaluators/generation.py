"""Text generation (summarization, translation): the split, the model, decoding and scoring.

A split holds its input texts and reference texts in memory (CNN/DailyMail's test split, the
largest of the shipped modules, is 11,490 articles, about 50 MB). A perturbed variant perturbs
each input as its batch is read (``Perturbation.apply_texts``, item index = row index); the
references stay as they are: a summary of a text with typos is still that text's summary.

The model (:class:`Generator`) is a transformers encoder-decoder (``AutoModelForSeq2SeqLM``:
BART, T5, Pegasus, Marian, mBART...). Decoding never samples, so a result can be reproduced;
its settings come, in order, from the model's ``generation_config.json`` (or its config), from
``config.task_specific_params`` for the task (what transformers' summarization and translation
pipelines applied: T5's ``summarize:`` prefix, its beams and lengths), and from the module's
``generation:`` block, which wins. The settings used are stored with the result
(:meth:`GenerationSettings.as_settings`).

Inputs are batched by length (sorted by tokens, cut in ``batch_size`` rows), so a batch pads
little and its rows finish decoding at similar steps; ``generate`` runs under
``torch.inference_mode`` with the KV cache on.

Scores: summarization by ROUGE (:mod:`evaluators.rouge`, rouge-score's tokenizer and stemmer,
mean F-measure), translation by sacreBLEU and chrF (:mod:`evaluators.bleu`, corpus statistics,
the signature stored). Results are disaggregated by the input's length in words, in fixed
buckets (the task type's ``edges``: :mod:`evaluators.tasks.generation`): each bucket is scored as a
corpus of its own.

Example:
    >>> split = load_generation_split(module, revision)  # doctest: +SKIP
    >>> generator = Generator.load("org/bart", folder, torch.device("cpu"), "summarization")
    ... # doctest: +SKIP
    >>> generated = generator.generate(split, options, generator.settings(module))
    ... # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import torch

from evaluators.datasets_io import DatasetError, load_rows
from evaluators.errors import EvaluationError
from evaluators.loading import load_config, load_tokenizer, load_transformers_model
from evaluators.metadata import SNIPPET
from evaluators.predictions import Options, autocast
from evaluators.progress import tracked
from evaluators.text_classification import length_order
from store.types import ClassResult, DatasetExampleRecord, FailureReason

if TYPE_CHECKING:
    from evaluators.config import EvaluationModule
    from perturbations import Perturbation

EXAMPLES_PER_BUCKET = 5
# New tokens when neither the module nor the model says (transformers' own default of 20
# tokens in all would cut most summaries short)
DEFAULT_NEW_TOKENS = {"summarization": 128, "translation": 256}
MAX_INPUT_TOKENS = 1024  # input tokens when the model states no maximum


@dataclass(frozen=True)
class GenerationSplit:
    """A split of input texts and their references (one or more per row)."""

    dataset_id: str
    revision: str
    split: str
    inputs: Sequence[str]
    references: Sequence[tuple[str, ...]]
    edges: tuple[int, ...]
    perturbation: Perturbation | None = None
    seed: int = 0

    def __len__(self) -> int:
        return len(self.inputs)

    def perturbed(self, perturbation: Perturbation, *, seed: int) -> GenerationSplit:
        """This split as ``perturbation`` makes its inputs, read lazily."""
        return dataclasses.replace(self, perturbation=perturbation, seed=seed)

    def read(self, rows: Iterable[int]) -> list[str]:
        """The inputs at ``rows``, perturbed if this split is a variant."""
        if self.perturbation is None:
            return [self.inputs[i] for i in rows]
        return [
            self.perturbation.apply_texts([self.inputs[i]], seed=self.seed, start=i)[0]
            for i in rows
        ]

    def buckets(self) -> npt.NDArray[np.intp]:
        """Each row's length bucket (an index of :attr:`edges`), from its original input."""
        words = np.fromiter((len(t.split()) for t in self.inputs), np.int64, len(self.inputs))
        return np.searchsorted(np.asarray(self.edges), words, side="right") - 1


def bucket_label(edges: Sequence[int], index: int) -> str:
    """The name of bucket ``index``: ``50-99 words``, the last ``800+ words``."""
    low = edges[index]
    if index + 1 < len(edges):
        return f"{low}-{edges[index + 1] - 1} words"
    return f"{low}+ words"


def field_path(column: str) -> tuple[str, ...]:
    """A role's column as a path: ``translation.en`` is field ``en`` of column ``translation``."""
    return tuple(column.split("."))


def _value(row_value: Any, path: Sequence[str], where: str, module: EvaluationModule) -> Any:
    value = row_value
    for name in path:
        if not isinstance(value, Mapping) or name not in value:
            raise DatasetError(
                f"{where}: no field '{name}' in {str(value)[:80]}; fix dataset.columns in the "
                f"module '{module.id}'",
                module=module.id,
            )
        value = value[name]
    return value


def _texts(ds: Any, column: str, module: EvaluationModule) -> list[Any]:
    root, *path = field_path(column)
    values = ds[root]
    if not path:
        return list(values)
    where = f"{module.dataset.repo} column {root}"
    return [_value(v, path, where, module) for v in values]


def load_generation_split(
    module: EvaluationModule, revision: str, edges: tuple[int, ...]
) -> GenerationSplit:
    """The module's inputs and references at ``revision`` (``limit`` rows at most).

    ``dataset.columns.input`` and ``.target`` name a column, or a field of a struct column
    (``translation.en``). A target may be a list of references (several per input).

    Raises:
        DatasetError: a column or field is missing, a value is not text, or every reference
            of a row is blank.
    """
    ref = module.dataset
    ds = load_rows(module, revision)
    inputs = _texts(ds, ref.columns.role("input"), module)
    targets = _texts(ds, ref.columns.role("target"), module)
    references: list[tuple[str, ...]] = []
    for row, (text, target) in enumerate(zip(inputs, targets, strict=True)):
        where = f"{ref.repo} row {row}"
        options = tuple(target) if isinstance(target, list | tuple) else (target,)
        if not isinstance(text, str) or not all(isinstance(t, str) for t in options):
            raise DatasetError(
                f"{where}: input and target must be text (got {type(text).__name__} and "
                f"{type(target).__name__}); name text columns in dataset.columns of the module "
                f"'{module.id}'",
                module=module.id,
            )
        kept = tuple(t for t in options if t.strip())
        if not kept:
            raise DatasetError(
                f"{where}: the reference is blank; fix the dataset or leave the row out "
                f"(limit) in the module '{module.id}'",
                module=module.id,
            )
        references.append(kept)
    return GenerationSplit(
        ref.repo, revision, ref.split, [str(t) for t in inputs], references, edges
    )


@dataclass(frozen=True)
class GenerationSettings:
    """How texts are generated: never sampled, so a run is reproducible.

    Attributes:
        prefix: Put before each input (T5's ``summarize: ``), from ``task_specific_params``.
        max_new_tokens: Tokens generated at most per text.
        min_new_tokens: Tokens generated at least (0: none asked).
        num_beams: Beam search width (1: greedy).
        length_penalty: Beam search's length exponent.
        no_repeat_ngram_size: No n-gram of this size twice (0: off).
        early_stopping: Beam search stops when ``num_beams`` hypotheses are finished.
        max_input_tokens: Input tokens kept (longer inputs are cut at the end).
        source: Where the settings came from, in order of precedence.
    """

    prefix: str = ""
    max_new_tokens: int = 128
    min_new_tokens: int = 0
    num_beams: int = 1
    length_penalty: float = 1.0
    no_repeat_ngram_size: int = 0
    early_stopping: bool = False
    max_input_tokens: int = MAX_INPUT_TOKENS
    source: str = "defaults"

    def generate_kwargs(self) -> dict[str, Any]:
        """``model.generate`` keyword arguments."""
        return {
            "max_new_tokens": self.max_new_tokens,
            "min_new_tokens": self.min_new_tokens or None,
            "num_beams": self.num_beams,
            "length_penalty": self.length_penalty,
            "no_repeat_ngram_size": self.no_repeat_ngram_size or None,
            "early_stopping": self.early_stopping,
            "do_sample": False,
            "use_cache": True,
        }

    def as_settings(self) -> dict[str, str | int | float | bool | None]:
        """What a result stores of them (``EvaluationRecord.settings``)."""
        return {
            "decoding": "beam search" if self.num_beams > 1 else "greedy",
            "num_beams": self.num_beams,
            "max_new_tokens": self.max_new_tokens,
            "min_new_tokens": self.min_new_tokens,
            "length_penalty": self.length_penalty,
            "no_repeat_ngram_size": self.no_repeat_ngram_size,
            "early_stopping": self.early_stopping,
            "prefix": self.prefix,
            "max_input_tokens": self.max_input_tokens,
            "settings_from": self.source,
        }


_SETTING_NAMES = (
    "max_new_tokens",
    "min_new_tokens",
    "num_beams",
    "length_penalty",
    "no_repeat_ngram_size",
    "early_stopping",
)


def resolve_settings(
    task: str,
    config: Any,
    generation_config: Any,
    overrides: Mapping[str, Any],
    *,
    task_key: str,
    file_settings: frozenset[str] = frozenset(),
) -> GenerationSettings:
    """The decoding settings of one model on one module.

    Args:
        task: ``summarization`` or ``translation`` (its default of new tokens).
        config: The model's config (``task_specific_params``, ``max_position_embeddings``).
        generation_config: The model's ``GenerationConfig``.
        overrides: The module's ``generation:`` block (set keys only).
        task_key: The key of ``task_specific_params`` (``summarization``,
            ``translation_en_to_de``).
        file_settings: The names set in the repo's ``generation_config.json`` (a
            ``max_length`` transformers fills in by default is not the author's choice).
    """
    values: dict[str, Any] = {}
    sources: list[str] = []
    gen = generation_config
    if gen is not None:
        for name in _SETTING_NAMES:
            value = getattr(gen, name, None)
            if value is not None and (name in file_settings or name != "max_new_tokens"):
                values[name] = value
        max_length = getattr(gen, "max_length", None)
        if "max_new_tokens" not in values and "max_length" in file_settings and max_length:
            values["max_new_tokens"] = max(1, int(max_length) - 1)  # less the start token
        if file_settings:
            sources.append("generation_config.json")
    params = (getattr(config, "task_specific_params", None) or {}).get(task_key) or {}
    prefix = str(params.get("prefix") or "")
    if params:
        for name in _SETTING_NAMES:
            if name in params:
                values[name] = params[name]
        if "max_length" in params and "max_new_tokens" not in params:
            values["max_new_tokens"] = max(1, int(params["max_length"]) - 1)
        if "min_length" in params and "min_new_tokens" not in params:
            values["min_new_tokens"] = max(0, int(params["min_length"]) - 1)
        sources.append(f"task_specific_params.{task_key}")
    for name, value in overrides.items():
        if value is not None:
            values[name] = value
    if overrides:
        sources.append("the module")
    positions = getattr(config, "max_position_embeddings", None)
    max_input = positions if isinstance(positions, int) and positions > 0 else MAX_INPUT_TOKENS
    return GenerationSettings(
        prefix=prefix,
        max_new_tokens=int(values.get("max_new_tokens") or DEFAULT_NEW_TOKENS[task]),
        min_new_tokens=int(values.get("min_new_tokens") or 0),
        num_beams=int(values.get("num_beams") or 1),
        length_penalty=float(values.get("length_penalty", 1.0)),
        no_repeat_ngram_size=int(values.get("no_repeat_ngram_size") or 0),
        early_stopping=bool(values.get("early_stopping") is True),
        max_input_tokens=min(max_input, MAX_INPUT_TOKENS),
        source=", then ".join(sources) or "defaults",
    )


@dataclass(frozen=True)
class Generated:
    """A split's generated texts, in split order."""

    texts: list[str]
    lengths: npt.NDArray[np.int64]  # generated tokens per text, special tokens out
    seconds: float  # reading, perturbing, tokenising and decoding
    batch_size: int


@dataclass
class Generator:
    """An encoder-decoder model and its tokenizer."""

    repo_id: str
    model: torch.nn.Module
    tokenizer: Any
    device: torch.device
    task: str
    file_settings: frozenset[str] = frozenset()
    id2label: dict[int, str] = field(default_factory=dict)  # no classes: nothing to map

    @classmethod
    def load(cls, repo_id: str, path: Path, device: torch.device, task: str) -> Generator:
        """Load from a local snapshot; safetensors only, never remote code.

        Raises:
            InsufficientMetadataError: no usable config or tokenizer.
            IncompatibleLibraryError: not an encoder-decoder (a decoder-only model has no
                ``AutoModelForSeq2SeqLM`` class).
            EvaluationError: any other load failure (reason ``load error``).
        """
        from transformers import AutoModelForSeq2SeqLM

        config = load_config(repo_id, path)
        tokenizer = load_tokenizer(repo_id, path)
        model = load_transformers_model(
            repo_id,
            AutoModelForSeq2SeqLM,
            path,
            config,
            kind="an encoder-decoder text generator",
            device=device,
        )
        return cls(
            repo_id=repo_id,
            model=model,
            tokenizer=tokenizer,
            device=device,
            task=task,
            file_settings=_file_settings(path),
        )

    def settings(self, module: EvaluationModule, task_key: str) -> GenerationSettings:
        """The decoding settings for ``module`` (see :func:`resolve_settings`)."""
        overrides = module.generation.model_dump(exclude_none=True) if module.generation else {}
        return resolve_settings(
            self.task,
            getattr(self.model, "config", None),
            getattr(self.model, "generation_config", None),
            overrides,
            task_key=task_key,
            file_settings=self.file_settings,
        )

    @torch.inference_mode()
    def generate(
        self, split: GenerationSplit, options: Options, settings: GenerationSettings
    ) -> Generated:
        """Generate a text for every input of ``split``, ``options.batch_size`` inputs of
        similar length at a time."""
        order = length_order(split.inputs)
        size = options.batch_size
        texts: list[str] = [""] * len(split)
        lengths = np.zeros(len(split), dtype=np.int64)
        special = set(getattr(self.tokenizer, "all_special_ids", ()) or ())
        kwargs = settings.generate_kwargs()
        start = time.perf_counter()
        with autocast(self.device, options.precision), tracked(len(split)) as advance:
            for lo in range(0, len(split), size):
                rows = order[lo : lo + size].tolist()
                inputs = [settings.prefix + text for text in split.read(rows)]
                batch = self.tokenizer(
                    inputs,
                    padding=True,
                    truncation=True,
                    max_length=settings.max_input_tokens,
                    return_tensors="pt",
                ).to(self.device)
                batch.pop("token_type_ids", None)
                try:
                    output = self.model.generate(**batch, **kwargs)  # type: ignore[operator]
                except (ValueError, TypeError) as exc:
                    raise EvaluationError(
                        self.repo_id,
                        f"generation failed: {exc}",
                        reason=FailureReason.INCOMPATIBLE_LIBRARY,
                    ) from exc
                ids = output.cpu().tolist()
                decoded = self.tokenizer.batch_decode(
                    ids, skip_special_tokens=True, clean_up_tokenization_spaces=True
                )
                for row, text, token_ids in zip(rows, decoded, ids, strict=True):
                    texts[row] = text.strip()
                    lengths[row] = sum(1 for t in token_ids if t not in special)
                advance(len(rows))
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
        return Generated(texts, lengths, time.perf_counter() - start, size)


def _file_settings(path: Path) -> frozenset[str]:
    """The keys the repo's ``generation_config.json`` sets (empty: no such file, or one that
    cannot be read within its cap)."""
    from evaluators.limits import load_json

    try:
        data = load_json(path / "generation_config.json")
    except (OSError, ValueError):
        return frozenset()
    return frozenset(data) if isinstance(data, dict) else frozenset()


@dataclass(frozen=True)
class GenerationScores:
    """What a result stores: metrics (catalogue keys), buckets and settings."""

    metrics: dict[str, float | None]
    classes: tuple[ClassResult, ...]
    settings: dict[str, str | int | float | bool | None]


def _bucket_results(
    split: GenerationSplit, score: Any, keys: Sequence[str]
) -> tuple[ClassResult, ...]:
    """One result per non-empty bucket: ``score(rows)`` -> {key: value}."""
    buckets = split.buckets()
    out = []
    for index in range(len(split.edges)):
        rows = np.flatnonzero(buckets == index)
        if not len(rows):
            continue
        values = score(rows)
        out.append(
            ClassResult(
                class_id=index,
                label=bucket_label(split.edges, index),
                tp=0,
                fp=0,
                fn=0,
                support=len(rows),
                precision=None,
                recall=None,
                f1=None,
                metrics={key: values[key] for key in keys},
            )
        )
    return tuple(out)


def score_summaries(
    split: GenerationSplit, generated: Generated, *, use_stemmer: bool
) -> GenerationScores:
    """ROUGE of the generated summaries, overall and per input-length bucket. Sentences are
    put on lines of their own for ROUGE-Lsum (:func:`evaluators.rouge.split_sentences`)."""
    from evaluators.rouge import RougeSettings, corpus_rouge, rouge_scores, split_sentences

    settings = RougeSettings(use_stemmer=use_stemmer)
    predictions = [split_sentences(t) for t in generated.texts]
    references = [tuple(split_sentences(r) for r in refs) for refs in split.references]
    single = all(len(r) == 1 for r in references)
    scores = rouge_scores(
        predictions, [r[0] for r in references] if single else references, settings
    )
    keys = ("rouge1", "rouge2", "rougeL", "rougeLsum")
    metrics: dict[str, float | None] = {
        k: float(v) for k, v in corpus_rouge(scores).items() if k in keys
    }
    metrics["gen_len"] = float(generated.lengths.mean()) if len(generated.lengths) else None
    classes = _bucket_results(split, lambda rows: corpus_rouge(scores, rows), keys)
    return GenerationScores(metrics, classes, {"rouge": settings.describe(), **_rouge(settings)})


def _rouge(settings: Any) -> dict[str, str | int | float | bool | None]:
    return {f"rouge_{k}": v for k, v in settings.as_dict().items()}


def score_translations(
    split: GenerationSplit, generated: Generated, *, target_language: str | None
) -> GenerationScores:
    """sacreBLEU's BLEU and chrF of the translations, overall and per source-length bucket
    (each bucket a corpus of its own), with the signatures that say how."""
    from evaluators.bleu import (
        bleu_signature,
        chrf_signature,
        corpus_bleu,
        corpus_chrf,
        sentence_stats,
        tokenizer_for,
    )

    tokenize = tokenizer_for(target_language)
    nrefs = max((len(r) for r in split.references), default=1)
    references: list[Sequence[str]] = [
        list(r) + [r[0]] * (nrefs - len(r)) for r in split.references
    ]
    stats = sentence_stats(generated.texts, references, tokenize=tokenize)
    metrics: dict[str, float | None] = {
        "bleu": corpus_bleu(stats),
        "chrf": corpus_chrf(stats),
        "gen_len": float(generated.lengths.mean()) if len(generated.lengths) else None,
    }
    classes = _bucket_results(
        split,
        lambda rows: {"bleu": corpus_bleu(stats, rows), "chrf": corpus_chrf(stats, rows)},
        ("bleu", "chrf"),
    )
    return GenerationScores(
        metrics,
        classes,
        {
            "sacrebleu_bleu": bleu_signature(tokenize=tokenize, nrefs=nrefs),
            "sacrebleu_chrf": chrf_signature(nrefs=nrefs),
        },
    )


def generation_examples(
    split: GenerationSplit, rows: Iterable[int] | None = None
) -> list[DatasetExampleRecord]:
    """The inputs at ``rows`` (default: the first few of each length bucket) as snippets,
    in their bucket."""
    buckets = split.buckets()
    if rows is None:
        taken: dict[int, int] = {}
        chosen = []
        for row, bucket in enumerate(buckets.tolist()):
            if taken.get(bucket, 0) < EXAMPLES_PER_BUCKET:
                taken[bucket] = taken.get(bucket, 0) + 1
                chosen.append(row)
        rows = chosen
    out = []
    for row in sorted(set(rows)):
        bucket = int(buckets[row])
        text = f"{split.inputs[row]} → {split.references[row][0]}"
        out.append(
            DatasetExampleRecord(
                dataset_id=split.dataset_id,
                split=split.split,
                class_id=bucket,
                label=bucket_label(split.edges, bucket),
                example_id=row,
                text=text[:SNIPPET],
            )
        )
    return out
