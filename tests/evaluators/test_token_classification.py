"""Token classification end to end on the sandbox Hub: a conll-shaped parquet dataset and tiny
random BERT token classifiers pushed with the real client, evaluated by the Executor in process;
the entity scores equal seqeval's on word predictions computed here, sentence by sentence, from
the model's own logits."""

from __future__ import annotations

import json
import random
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from huggingface_hub import HfApi
from seqeval.metrics import (
    accuracy_score,
    classification_report,
    f1_score,
    precision_score,
    recall_score,
)
from transformers import AutoTokenizer, BertConfig, BertForTokenClassification

from bot.discovery import to_record
from bot.worker import save_report
from evaluators.config import EvaluationModule, load_module
from evaluators.datasets_io import DatasetError
from evaluators.errors import LabelMappingError
from evaluators.executor import ExecutionReport, Executor
from evaluators.ner import spans
from evaluators.ner_align import map_tags
from evaluators.token_classification import (
    TokenClassifier,
    check_tags,
    load_tagged_split,
    marked,
    type_aliases,
)
from evaluators.variants import SEED
from perturbations import get as perturbation
from sandbox.world import minilm_path
from store.db import Store
from store.types import EvaluationRecord, ModelRecord

ROOT = Path(__file__).resolve().parents[2]
TYPES = ["PER", "ORG", "LOC", "MISC"]
TAGS = ["O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC", "B-MISC", "I-MISC"]
WORDS = [
    "the",
    "a",
    "met",
    "in",
    "said",
    "on",
    "Ada",
    "Lovelace",
    "Paris",
    "London",
    "Reuters",
    "IBM",
    "Monday",
    "euro",
    "goal",
]
SENTENCES = 40


def _sentences() -> tuple[list[list[str]], list[list[int]]]:
    """Seeded conll-like sentences: 1 to 14 words, valid IOB2 entities of up to 3 words."""
    rng = random.Random(7)
    words, tags = [], []
    for _ in range(SENTENCES):
        n = rng.randint(1, 14)
        sentence_tags: list[int] = []
        while len(sentence_tags) < n:
            if rng.random() < 0.6:
                sentence_tags.append(0)
                continue
            begin = rng.choice([1, 3, 5, 7])
            length = min(rng.randint(1, 3), n - len(sentence_tags))
            sentence_tags += [begin] + [begin + 1] * (length - 1)
        words.append([rng.choice(WORDS) for _ in range(n)])
        tags.append(sentence_tags)
    return words, tags


@pytest.fixture(scope="module")
def dataset(sandbox: Any, demo_api: HfApi, tmp_path_factory: pytest.TempPathFactory) -> str:
    from datasets import ClassLabel, Dataset, Features, List, Value

    repo_id = f"ner{uuid.uuid4().hex[:8]}/conll-mini"
    words, tags = _sentences()
    features = Features({"tokens": List(Value("string")), "ner_tags": List(ClassLabel(names=TAGS))})
    path = tmp_path_factory.mktemp("ner-data") / "test.parquet"
    Dataset.from_dict({"tokens": words, "ner_tags": tags}, features=features).to_parquet(str(path))
    demo_api.create_repo(repo_id, repo_type="dataset")
    demo_api.upload_file(
        path_or_fileobj=path,
        path_in_repo="data/test-00000-of-00001.parquet",
        repo_id=repo_id,
        repo_type="dataset",
    )
    return repo_id


@pytest.fixture(scope="module")
def module(dataset: str) -> EvaluationModule:
    base = load_module(ROOT / "config" / "tasks" / "token-classification" / "conll2003.yaml")
    return base.model_copy(
        update={
            "dataset": base.dataset.model_copy(
                update={"repo": dataset, "format": "datasets", "config": None}
            ),
            "perturbations": ["lowercase", {"name": "word_dropout", "rate": 0.3}],
            "batch_size": 8,
        }
    )


@pytest.fixture(scope="module")
def weights(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny random BERT token classifier with the real MiniLM tokenizer, tags as conll's."""
    tokenizer = AutoTokenizer.from_pretrained(minilm_path())
    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=len(tokenizer),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        id2label=dict(enumerate(TAGS)),
        label2id={t: i for i, t in enumerate(TAGS)},
        pad_token_id=tokenizer.pad_token_id,
    )
    model = BertForTokenClassification(config)
    with torch.no_grad():  # a livelier head: random tags of every kind, few near-ties
        model.classifier.weight.mul_(40)
    path = tmp_path_factory.mktemp("ner-model")
    model.save_pretrained(path, safe_serialization=True)
    tokenizer.save_pretrained(path)
    return path


def push(api: HfApi, folder: Path, id2label: dict[int, str] | None = None) -> ModelRecord:
    """The model in ``folder`` (its id2label replaced) on the sandbox, as discovery records it."""
    repo_id = f"ner{uuid.uuid4().hex[:8]}/tiny-ner"
    api.create_repo(repo_id)
    api.upload_folder(repo_id=repo_id, folder_path=folder)
    card = "---\ndatasets:\n- conll2003\npipeline_tag: token-classification\n---\n# NER\n"
    api.upload_file(path_or_fileobj=card.encode(), path_in_repo="README.md", repo_id=repo_id)
    if id2label is not None:
        config = BertConfig.from_pretrained(folder)
        config.id2label, config.label2id = id2label, {v: k for k, v in id2label.items()}
        api.upload_file(
            path_or_fileobj=config.to_json_string().encode(),
            path_in_repo="config.json",
            repo_id=repo_id,
        )
    return to_record(api.model_info(repo_id))


@pytest.fixture(scope="module")
def executor(module: EvaluationModule, bot_api: HfApi) -> Executor:
    return Executor([module], api=bot_api)


@pytest.fixture(scope="module")
def originals(module: EvaluationModule, bot_api: HfApi) -> Executor:
    """An executor of the original split only."""
    return Executor([module.model_copy(update={"perturbations": []})], api=bot_api)


@pytest.fixture(scope="module")
def report(executor: Executor, demo_api: HfApi, weights: Path) -> ExecutionReport:
    return executor.evaluate(push(demo_api, weights))


@pytest.fixture(scope="module")
def reference(weights: Path) -> Callable[[list[list[str]]], list[list[str]]]:
    """Each sentence on its own (no batch, no padding): each word's first sub-token's argmax."""
    tokenizer = AutoTokenizer.from_pretrained(weights)
    model = BertForTokenClassification.from_pretrained(weights).eval()
    return lambda words: _predict(tokenizer, model, words)


def _predict(tokenizer: Any, model: Any, words: list[list[str]]) -> list[list[str]]:
    out = []
    for sentence in words:
        encoding = tokenizer(sentence, is_split_into_words=True, return_tensors="pt")
        with torch.no_grad():
            ids = model(**encoding).logits[0].argmax(-1).tolist()
        first: dict[int, int] = {}
        for position, word in enumerate(encoding.word_ids()):
            if word is not None:
                first.setdefault(word, ids[position])
        out.append([TAGS[first[w]] if w in first else "O" for w in range(len(sentence))])
    return out


def assert_seqeval(record: EvaluationRecord, true: list[list[str]], pred: list[list[str]]) -> None:
    metrics = record.metrics
    assert metrics["overall_f1"] == pytest.approx(f1_score(true, pred), abs=1e-12)
    assert metrics["overall_precision"] == pytest.approx(precision_score(true, pred), abs=1e-12)
    assert metrics["overall_recall"] == pytest.approx(recall_score(true, pred), abs=1e-12)
    assert metrics["overall_accuracy"] == pytest.approx(accuracy_score(true, pred), abs=1e-12)
    report = classification_report(true, pred, output_dict=True, zero_division=0)
    assert metrics["macro_f1"] == pytest.approx(report["macro avg"]["f1-score"], abs=1e-12)
    assert metrics["weighted_f1"] == pytest.approx(report["weighted avg"]["f1-score"], abs=1e-12)
    by_type = {c.label: c for c in record.classes}
    assert [c.label for c in record.classes] == TYPES
    assert [c.class_id for c in record.classes] == [0, 1, 2, 3]
    for type_, row in report.items():
        if type_ in by_type:
            c = by_type[type_]
            assert c.support == row["support"]
            assert c.tp + c.fn == c.support
            assert (c.recall or 0.0) == pytest.approx(row["recall"], abs=1e-12)
            assert (c.f1 or 0.0) == pytest.approx(row["f1-score"], abs=1e-12)
            assert (c.precision or 0.0) == pytest.approx(row["precision"], abs=1e-12)


def test_scores_equal_seqeval_on_the_models_own_predictions(
    report: ExecutionReport, reference: Callable[[list[list[str]]], list[list[str]]]
) -> None:
    words, tags = _sentences()
    true = [[TAGS[t] for t in sentence] for sentence in tags]
    pred = reference(words)
    original = next(r for r in report.records if r.variant == "original")
    assert original.task == "token-classification" and original.num_examples == SENTENCES
    assert f1_score(true, pred) > 0  # the model gets some entities right: a real comparison
    assert_seqeval(original, true, pred)
    # the span confusion: rows true types, columns predicted, "no entity" last
    confusion = np.array(original.confusion)
    assert confusion.shape == (5, 5)
    assert [int(confusion[i, i]) for i in range(4)] == [c.tp for c in original.classes]
    assert confusion[:4].sum(axis=1).tolist() == [c.support for c in original.classes]
    assert original.label_mapping == {t: t for t in TAGS}
    # the most confident wrong entities, each naming its sentence
    wrong = original.misclassifications
    assert wrong and all(0 <= m.example_id < SENTENCES for m in wrong)
    assert [m.confidence for m in wrong] == sorted((m.confidence for m in wrong), reverse=True)
    assert {m.predicted_label for m in wrong} <= {"PER", "ORG", "LOC", "MISC"}


def test_a_perturbed_variant_keeps_tags_aligned(
    report: ExecutionReport, reference: Callable[[list[list[str]]], list[list[str]]]
) -> None:
    words, tags = _sentences()
    dropout = perturbation("word_dropout", rate=0.3)
    perturbed = [
        dropout.apply_words(w, [TAGS[t] for t in ts], seed=SEED, index=i)
        for i, (w, ts) in enumerate(zip(words, tags, strict=True))
    ]
    assert sum(map(len, (w for w, _ in perturbed))) < sum(map(len, words))  # words were dropped
    true = [t for _, t in perturbed]
    pred = reference([w for w, _ in perturbed])
    variant = next(r for r in report.records if r.variant.startswith("word_dropout"))
    assert variant.num_examples == SENTENCES
    assert_seqeval(variant, true, pred)
    assert {r.variant for r in report.records} == {"original", "lowercase", variant.variant}


def test_the_report_describes_the_split_and_is_stored(
    report: ExecutionReport, store: Store
) -> None:
    words, tags = _sentences()
    (split,) = report.splits
    assert split.num_examples == SENTENCES
    entities = [spans([TAGS[t] for t in sentence]) for sentence in tags]
    per_type = [sum(s.type == type_ for e in entities for s in e) for type_ in TYPES]
    assert list(split.class_counts) == per_type  # entities per type, in class id order
    shown = {(e.label, e.example_id): e for e in report.examples}
    assert {label for label, _ in shown} >= {"PER", "ORG", "LOC", "MISC"}
    first = next(e for e in report.examples if e.label == "PER")
    sentence = [TAGS[t] for t in tags[first.example_id]]
    assert first.text == marked(words[first.example_id], sentence) and "]PER" in (first.text or "")
    wrong = {
        m.example_id
        for r in report.records
        if r.variant == "original"
        for m in r.misclassifications
    }
    assert wrong <= {e.example_id for e in report.examples}
    save_report(store, report)
    (stored,) = [
        r
        for r in store.results_for(report.model.repo_id, report.model.sha)
        if r.variant == "original"
    ]
    assert stored.metrics == next(r for r in report.records if r.variant == "original").metrics


def test_generic_and_other_cased_tags_map(
    originals: Executor, demo_api: HfApi, weights: Path, report: ExecutionReport
) -> None:
    original = next(r for r in report.records if r.variant == "original")
    generic = {i: f"LABEL_{i}" for i in range(len(TAGS))}
    spelled = {
        0: "o",
        1: "b_person",
        2: "i_person",
        3: "B-org",
        4: "I-org",
        5: "b-location",
        6: "i-location",
        7: "B-Misc",
        8: "I-Misc",
    }
    for id2label in (generic, spelled):
        (record,) = originals.evaluate(push(demo_api, weights, id2label)).records
        assert record.metrics == original.metrics, id2label
        assert record.label_mapping == {id2label[i]: t for i, t in enumerate(TAGS)}


def test_label_aliases_name_a_models_spelling_of_a_tag(module: EvaluationModule) -> None:
    """A module's aliases are keyed by dataset tags (the schema checks them against
    dataset.labels); they apply to the tag's entity type, whatever its prefix."""
    aliased = module.model_copy(update={"label_aliases": {"B-MISC": ["B-OTHER"]}})
    model = {**dict(enumerate(TAGS)), 7: "B-OTHER", 8: "I-OTHER"}
    with pytest.raises(LabelMappingError, match="B-OTHER"):
        map_tags("org/ner", model, TAGS, aliases=module.label_aliases)
    mapping = map_tags("org/ner", model, TAGS, aliases=type_aliases(aliased.label_aliases))
    assert mapping.description == {
        **{t: t for t in TAGS[:7]},
        "B-OTHER": "B-MISC",
        "I-OTHER": "I-MISC",
    }


def test_a_model_with_unknown_tags_is_refused(
    originals: Executor, demo_api: HfApi, weights: Path
) -> None:
    unknown = {**dict(enumerate(TAGS)), 7: "B-FOOD", 8: "I-FOOD"}
    with pytest.raises(LabelMappingError, match="B-FOOD"):
        originals.evaluate(push(demo_api, weights, unknown))


@pytest.mark.parametrize(
    ("labels", "expected"),
    [
        (["O", "PER", "LOC"], "not IOB2 tag names"),
        (["O", "B-PER", "E-PER"], "not IOB2 tag names"),
        (["B-PER", "I-PER"], "no 'O' tag"),
        (["O", "B-PER", "I-LOC"], "have no B- tag"),
        (["O", "B-PER", "B-PER"], "listed twice"),
    ],
)
def test_modules_with_other_tags_are_refused(labels: list[str], expected: str) -> None:
    with pytest.raises(ValueError, match=expected):
        check_tags(labels)
    check_tags(TAGS)


def push_rows(api: HfApi, tmp: Path, rows: dict[str, list[Any]]) -> tuple[str, str]:
    """A parquet dataset of ``rows`` on the sandbox: (repo id, commit sha)."""
    from datasets import Dataset

    repo_id = f"ner{uuid.uuid4().hex[:8]}/rows"
    path = tmp / f"{repo_id.replace('/', '-')}.parquet"
    Dataset.from_dict(rows).to_parquet(str(path))
    api.create_repo(repo_id, repo_type="dataset")
    api.upload_file(
        path_or_fileobj=path,
        path_in_repo="data/test-00000-of-00001.parquet",
        repo_id=repo_id,
        repo_type="dataset",
    )
    return repo_id, api.dataset_info(repo_id).sha or ""


def test_tags_as_names_and_rows_that_do_not_align(
    module: EvaluationModule, demo_api: HfApi, tmp_path: Path
) -> None:
    def on(repo_id: str) -> EvaluationModule:
        return module.model_copy(
            update={"dataset": module.dataset.model_copy(update={"repo": repo_id})}
        )

    words = [["Ada", "met", "Babbage"], ["in", "London"]]
    names = [["B-PER", "O", "B-PER"], ["O", "B-LOC"]]
    repo_id, sha = push_rows(demo_api, tmp_path, {"tokens": words, "ner_tags": names})
    split = load_tagged_split(on(repo_id), sha)
    assert [[TAGS[t] for t in s.tolist()] for s in split.tags] == names
    assert split.read([1, 0]) == ([words[1], words[0]], [[0, 5], [1, 0, 1]])
    dropped = split.perturbed(perturbation("word_dropout", rate=0.5), seed=SEED).read([0, 1])
    assert all(len(w) == len(t) >= 1 for w, t in zip(*dropped, strict=True))

    repo_id, sha = push_rows(
        demo_api, tmp_path, {"tokens": words, "ner_tags": [["B-PER", "O"], ["O", "B-LOC"]]}
    )
    with pytest.raises(DatasetError, match="sentence 0 has 3 words in 'tokens' but 2 tags"):
        load_tagged_split(on(repo_id), sha)
    repo_id, sha = push_rows(
        demo_api, tmp_path, {"tokens": words, "ner_tags": [["B-PER", "O", "B-DATE"], names[1]]}
    )
    with pytest.raises(DatasetError, match=r"tags \['B-DATE'\] are not in dataset.labels"):
        load_tagged_split(on(repo_id), sha)


def test_byte_level_tokenizers_read_each_word_as_after_a_space(tmp_path: Path) -> None:
    """RoBERTa-style tokenizers mark a word's start by the space before it: given words, the
    classifier's tokenizer reads them as the sentence's text (add_prefix_space)."""
    from tokenizers import ByteLevelBPETokenizer
    from transformers import RobertaConfig, RobertaForTokenClassification, RobertaTokenizer

    bpe = ByteLevelBPETokenizer()
    bpe.train_from_iterator(
        ["Obama visited Paris and London today"] * 20,
        vocab_size=300,
        special_tokens=["<s>", "<pad>", "</s>", "<unk>", "<mask>"],
    )
    vocab = bpe.get_vocab()
    merges: Any = [tuple(m) for m in json.loads(bpe.to_str())["model"]["merges"]]  # pairs
    tokenizer = RobertaTokenizer(vocab=vocab, merges=merges)
    config = RobertaConfig(
        vocab_size=len(vocab),
        hidden_size=16,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=32,
        id2label=dict(enumerate(TAGS)),
        label2id={t: i for i, t in enumerate(TAGS)},
        pad_token_id=tokenizer.pad_token_id,
    )
    RobertaForTokenClassification(config).save_pretrained(tmp_path)
    tokenizer.save_pretrained(tmp_path)
    loaded = TokenClassifier.load("org/roberta-ner", tmp_path, torch.device("cpu"))
    words = ["Obama", "visited", "Paris"]
    as_words = loaded.tokenizer(words, is_split_into_words=True)["input_ids"]
    assert as_words == loaded.tokenizer(" " + " ".join(words))["input_ids"]
    assert "Ġvisited" in loaded.tokenizer.convert_ids_to_tokens(as_words)
    ids, confidences = loaded.predict_words([words, ["Paris"]], max_length=16)
    assert [len(i) for i in ids] == [3, 1] and all((c > 0).all() for c in confidences)


def test_a_loading_script_dataset_is_read_from_its_parquet_conversion(
    module: EvaluationModule,
    bot_api: HfApi,
    demo_api: HfApi,
    weights: Path,
    demo_world: Any,
) -> None:
    """`format: parquet-export` evaluates the config's folder of `refs/convert/parquet` at its
    head's commit (stored as the dataset revision); the same module reading main meets the
    loading script and says what to set."""
    from sandbox.world_scripts import SCRIPT_ID, SMALL

    export = module.dataset.model_copy(
        update={"repo": SCRIPT_ID, "config": "news-small", "format": "parquet-export"}
    )
    converted = module.model_copy(update={"dataset": export, "perturbations": []})
    report = Executor([converted], api=bot_api).evaluate(push(demo_api, weights))
    (split,) = report.splits
    assert split.num_examples == SMALL
    head = demo_api.dataset_info(SCRIPT_ID, revision="refs/convert/parquet").sha
    assert {r.dataset_revision for r in report.records} == {head}
    assert report.records and all(r.metrics for r in report.records)

    script = converted.model_copy(
        update={"dataset": export.model_copy(update={"format": "datasets", "config": None})}
    )
    main = demo_api.dataset_info(SCRIPT_ID).sha
    assert main is not None
    with pytest.raises(DatasetError, match=r"loading script.*set dataset.format: parquet-export"):
        load_tagged_split(script, main)


@pytest.mark.slow  # an isolated child process loads torch and the model (several seconds)
def test_the_isolated_child_reads_the_parquet_conversion_offline(
    module: EvaluationModule, bot_api: HfApi, demo_api: HfApi, weights: Path, demo_world: Any
) -> None:
    from evaluators.isolation import IsolatedExecutor
    from sandbox.world_scripts import SCRIPT_ID, SMALL

    export = module.dataset.model_copy(
        update={"repo": SCRIPT_ID, "config": "news-small", "format": "parquet-export"}
    )
    converted = module.model_copy(update={"dataset": export, "perturbations": ["lowercase"]})
    model = push(demo_api, weights)
    direct = Executor([converted], api=bot_api).evaluate(model)
    isolated = IsolatedExecutor([converted], api=bot_api).evaluate(model)
    assert [r.variant for r in isolated.records] == ["original", "lowercase"]
    assert {r.num_examples for r in isolated.records} == {SMALL}
    for ours, theirs in zip(isolated.records, direct.records, strict=True):
        assert ours.metrics == theirs.metrics and ours.classes == theirs.classes
