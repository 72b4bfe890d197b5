"""Module selection: declared datasets, family configs, and training data inferred from the
model-index, dataset tags, config.json labels and the model's name."""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any

import pytest

from evaluators.config import EvaluationModule
from evaluators.inference import Hints, Reason, Selector
from evaluators.planner import Planner
from store.types import DatasetMention, ModelRecord
from tests.evaluators.test_identity import text_module

TEXT = "text-classification"
QA = "question-answering"

EMOTION = ["sadness", "joy", "love", "anger", "fear", "surprise"]
NLI = ["entailment", "neutral", "contradiction"]


def qa_module(module_id: str, trained_on: list[str]) -> dict[str, Any]:
    return {
        "id": module_id,
        "task": QA,
        "version": 1,
        "dataset": {
            "repo": f"rajpurkar/{module_id}",
            "name": module_id,
            "split": "validation",
            "columns": {"question": "question", "context": "context", "answers": "answers"},
        },
        "trained_on": trained_on,
    }


@pytest.fixture(scope="module")
def selector() -> Selector:
    specs = [
        text_module(
            "emotion",
            ["dair-ai/emotion", "emotion"],
            dataset={"labels": EMOTION},
            label_aliases={"joy": ["happy"], "sadness": ["sad"]},
        ),
        text_module("imdb", ["stanfordnlp/imdb", "imdb"]),
        text_module("yelp", ["yelp_polarity"], infer=False),
        text_module("glue-sst2", ["glue"], config_hints=["sst2", "sst-2"]),
        text_module("glue-cola", ["glue"], config_hints=["cola"]),
        text_module(
            "glue-mnli-matched",
            ["glue"],
            config_hints=["mnli"],
            also_evaluate_on=["glue-mnli-mismatched"],
            dataset={"labels": NLI},
        ),
        text_module(
            "glue-mnli-mismatched", ["glue"], config_hints=["mnli"], dataset={"labels": NLI}
        ),
        text_module("tweet-emotion", ["tweet_eval"], config_hints=["emotion"]),
        text_module("tweet-irony", ["tweet_eval"], config_hints=["irony"]),
        qa_module("squad", ["rajpurkar/squad", "squad"]),
        qa_module("squad_v2", ["rajpurkar/squad_v2", "squad_v2"]),
    ]
    return Selector([EvaluationModule.model_validate(s) for s in specs])


def chosen(selector: Selector, **hints: Any) -> list[tuple[str, str]]:
    outcome = selector.select(Hints(pipeline_tag=hints.pop("tag", TEXT), **hints))
    return [(c.module.id, c.rule) for c in outcome.chosen]


def test_declared_datasets_select_their_modules(selector: Selector) -> None:
    assert chosen(selector, datasets=("Dair-AI/Emotion",), name="org/m") == [
        ("emotion", "declared")
    ]
    # a declaring model's other hints are not used: its card says what it was trained on
    assert chosen(selector, datasets=("yelp_polarity",), name="org/imdb-model") == [
        ("yelp", "declared")
    ]


def test_a_family_name_needs_its_config(selector: Selector) -> None:
    args = DatasetMention(type="glue", name="GLUE COLA", args="cola")
    outcome = selector.select(Hints(TEXT, datasets=("glue",), model_index=(args,), name="o/m"))
    assert [c.module.id for c in outcome.chosen] == ["glue-cola"]
    assert "model-index dataset says 'cola'" in outcome.chosen[0].evidence
    by_name = chosen(selector, datasets=("glue",), name="o/distilbert-finetuned-sst-2-english")
    assert by_name == [("glue-sst2", "declared")]
    # mnli names one config evaluated on two splits: both are selected
    mnli = chosen(selector, datasets=("glue",), name="o/roberta-large-mnli")
    assert mnli == [("glue-mnli-matched", "declared"), ("glue-mnli-mismatched", "declared")]
    bare = selector.select(Hints(TEXT, datasets=("glue",), name="o/bert-base-uncased"))
    assert not bare.chosen
    assert bare.reason == Reason.FAMILY_WITHOUT_CONFIG and bare.names == ("glue",)


def test_declared_but_not_configured_says_which(selector: Selector) -> None:
    outcome = selector.select(Hints(TEXT, datasets=("org/reviews", "amazon_reviews"), name="o/m"))
    assert outcome.reason == Reason.NOT_CONFIGURED
    assert outcome.names == ("org/reviews", "amazon-reviews")


def test_model_index_points_to_the_training_data(selector: Selector) -> None:
    mention = DatasetMention(type="tweet_eval", name="tweet_eval", config="irony", args="irony")
    outcome = selector.select(Hints(TEXT, model_index=(mention,), name="o/roberta"))
    assert [(c.module.id, c.rule) for c in outcome.chosen] == [("tweet-irony", "model-index")]
    assert "'tweet_eval'" in outcome.chosen[0].evidence
    # two datasets in the model-index point nowhere in particular: the next rules decide
    two = (DatasetMention(type="imdb"), DatasetMention(type="emotion"))
    assert chosen(selector, model_index=two, name="o/bert") == []
    assert chosen(selector, model_index=two, name="o/bert-imdb") == [("imdb", "name")]


def test_dataset_tags_of_the_card(selector: Selector) -> None:
    assert chosen(selector, tags=("dataset:imdb", "en"), name="o/m") == [("imdb", "dataset-tag")]


def test_labels_that_are_exactly_one_datasets_classes(selector: Selector) -> None:
    labels = ("Sad", "JOY", "love", "anger", "fear", "surprise")
    outcome = selector.select(Hints(TEXT, labels=labels, name="o/m"))
    assert [(c.module.id, c.rule) for c in outcome.chosen] == [("emotion", "labels")]
    assert outcome.chosen[0].evidence == "its config.json labels are exactly Emotion's 6 classes"
    assert chosen(selector, labels=("happy", *labels[:1], *labels[2:]), name="o/m") == [
        ("emotion", "labels")
    ]
    assert chosen(selector, labels=labels[:5], name="o/m") == []  # a subset is another dataset
    generic = tuple(f"LABEL_{i}" for i in range(6))
    assert chosen(selector, labels=generic, name="o/m") == []
    # matched and mismatched share their classes and are evaluated together: one dataset
    nli = chosen(selector, labels=("CONTRADICTION", "neutral", "entailment"), name="o/m")
    assert [m for m, _ in nli] == ["glue-mnli-matched", "glue-mnli-mismatched"]
    # negative/positive are the classes of several datasets: ambiguous
    two = selector.select(Hints(TEXT, labels=("negative", "positive"), name="o/m"))
    assert two.reason == Reason.AMBIGUOUS and "imdb" in two.names[0]


def test_the_name_picks_the_longest_specific_match(selector: Selector) -> None:
    assert chosen(selector, tag=QA, name="o/bert-base-cased-squad-v2") == [("squad_v2", "name")]
    assert chosen(selector, tag=QA, name="deepset/roberta-base-squad2") == [("squad_v2", "name")]
    assert chosen(selector, tag=QA, name="o/bert-large-squad") == [("squad", "name")]
    assert chosen(selector, name="o/distilbert-base-uncased-finetuned-emotion") == [
        ("emotion", "name")
    ]
    # a family config named: the whole name of a dataset wins over the config hint
    assert chosen(selector, name="o/twitter-roberta-irony") == [("tweet-irony", "name")]
    outcome = Selector(selector.index.modules).select(Hints(TEXT, name="o/bert-cola"))
    assert outcome.chosen[0].evidence == "its name says 'cola'"


def test_model_words_and_short_tokens_never_match(selector: Selector) -> None:
    for name in ("o/bert-base-uncased", "o/large-finetuned", "o/yelp-polarity-bert", "o/qa"):
        outcome = selector.select(Hints(TEXT, name=name))
        assert outcome.reason == Reason.NO_HINT, name  # yelp: infer is false


def test_a_name_naming_two_datasets_is_ambiguous(selector: Selector) -> None:
    outcome = selector.select(Hints(TEXT, name="o/imdb-cola"))  # two of one length
    assert outcome.reason == Reason.AMBIGUOUS
    assert outcome.names == ("glue-cola, imdb",)


def test_unsupported_task(selector: Selector) -> None:
    outcome = selector.select(Hints("translation", datasets=("wmt16",), name="o/m"))
    assert outcome.reason == Reason.TASK_NOT_SUPPORTED


def test_selection_is_fast(selector: Selector) -> None:
    hints = [Hints(TEXT, name=f"org/model-{i}-finetuned-sst2-cola-x{i}") for i in range(2000)]
    start = time.perf_counter()
    for h in hints:
        selector.select(h)
    assert time.perf_counter() - start < 1.0


def test_the_planner_plans_with_the_whole_hints(selector: Selector) -> None:
    planner = Planner(selector.index.modules, code_version="9.9.9")
    declared = ModelRecord("o/m", "a" * 40, pipeline_tag=TEXT, datasets=("emotion",))
    inferred = ModelRecord("o/bert-emotion", "a" * 40, pipeline_tag=TEXT)
    assert planner.plan_model(declared) == planner.plan(TEXT, ["Emotion"])
    assert planner.plan_model(inferred) == planner.plan_model(declared)
    assert planner.plan(TEXT, []) == (frozenset(), planner.plan(TEXT, ["unknown"])[1])
    assert [m.id for m in planner.modules_of(inferred)] == ["emotion"]
    assert planner.failure_digest(inferred) == planner.failure_digest(declared)
    other = replace(inferred, repo_id="o/bert-imdb")
    assert planner.plan_model(other)[0] == {"imdb/original/v1/9.9.9"}


def test_a_configs_own_name_selects_it_without_a_hint() -> None:
    """`sst2` (or `stanfordnlp/sst2`) names GLUE's SST-2 itself; `glue` needs the config said."""
    sst2 = text_module(
        "glue-sst2",
        ["nyu-mll/glue", "glue", "stanfordnlp/sst2", "sst2"],
        config_hints=["sst2", "sst-2"],
        dataset={"config": "sst2"},
    )
    cola = text_module("glue-cola", ["nyu-mll/glue", "glue"], config_hints=["cola"])
    cola["dataset"]["config"] = "cola"
    selector = Selector([EvaluationModule.model_validate(m) for m in (sst2, cola)])
    for declared in ("sst2", "stanfordnlp/sst2", "SST2"):
        assert chosen(selector, datasets=(declared,), name="org/m") == [("glue-sst2", "declared")]
    outcome = selector.select(Hints(pipeline_tag=TEXT, datasets=("glue",), name="org/m"))
    assert outcome.reason is Reason.FAMILY_WITHOUT_CONFIG and not outcome.chosen


def test_a_three_letter_config_hint_counts_in_a_name(selector: Selector) -> None:
    """A maintainer's config hint may be short (`rte`, `qqp`); a dataset's own name may not."""
    rte = text_module("glue-rte", ["glue"], config_hints=["rte"])
    qqp = text_module("glue-qqp", ["glue"], config_hints=["qqp"])
    abc = text_module("abc", ["acme/abc"])
    short = Selector([EvaluationModule.model_validate(m) for m in (rte, qqp, abc)])
    assert chosen(short, name="org/bert-base-uncased-rte") == [("glue-rte", "name")]
    assert chosen(short, datasets=("glue",), name="org/bert-qqp") == [("glue-qqp", "declared")]
    assert chosen(short, name="org/bert-abc") == []


def test_a_declared_config_name_selects_its_member() -> None:
    """A card declaring `qqp` (the config, not a dataset of its own) gets GLUE's QQP."""
    qqp = text_module("glue-qqp", ["nyu-mll/glue", "glue"], config_hints=["qqp"])
    rte = text_module("glue-rte", ["nyu-mll/glue", "glue"], config_hints=["rte"])
    selector = Selector([EvaluationModule.model_validate(m) for m in (qqp, rte)])
    outcome = selector.select(Hints(pipeline_tag=TEXT, datasets=("qqp",), name="org/m"))
    assert [(c.module.id, c.rule) for c in outcome.chosen] == [("glue-qqp", "declared")]
    assert "its card declares 'qqp', a config of" in outcome.chosen[0].evidence
    unknown = selector.select(Hints(pipeline_tag=TEXT, datasets=("trec",), name="org/m"))
    assert unknown.reason is Reason.NOT_CONFIGURED and unknown.names == ("trec",)


def test_a_family_without_its_config_falls_back_to_the_card_language() -> None:
    """A POS tagger declaring universal_dependencies and no treebank is evaluated on the
    treebank of its card language (the Hub lists it among the tags); a treebank said wins."""
    from evaluators.config import load_module
    from tests.config.test_contract import CONFIG

    ud = [
        load_module(CONFIG / "tasks" / "token-classification" / f"ud-{t}.yaml")
        for t in ("en_ewt", "de_gsd", "ru_syntagrus")
    ]
    selector = Selector(ud)
    tag = "token-classification"

    def ids(**hints: Any) -> list[tuple[str, str, str]]:
        outcome = selector.select(Hints(tag, datasets=("universal_dependencies",), **hints))
        return [(c.module.id, c.rule, c.evidence) for c in outcome.chosen]

    assert ids(tags=("pos", "de"), name="o/bert-german-upos") == [
        (
            "ud-de_gsd",
            "declared",
            "its card declares 'universal_dependencies' and its language is 'de'",
        )
    ]
    # several languages: each one's treebank
    assert [i for i, _, _ in ids(tags=("en", "ru", "uk"), name="o/m")] == [
        "ud-en_ewt",
        "ud-ru_syntagrus",
    ]
    # a treebank named in the model's name wins over the language
    assert [i for i, _, _ in ids(tags=("de",), name="o/bert-en-ewt-pos")] == ["ud-en_ewt"]
    none = selector.select(
        Hints(tag, datasets=("universal_dependencies",), tags=("th",), name="o/m")
    )
    assert none.reason == Reason.FAMILY_WITHOUT_CONFIG
    # no declared dataset: the model-index's name with the language
    mention = DatasetMention(type="universal_dependencies", name="Universal Dependencies v2.8")
    inferred = selector.select(Hints(tag, model_index=(mention,), tags=("ru",), name="o/m"))
    assert [(c.module.id, c.rule) for c in inferred.chosen] == [("ud-ru_syntagrus", "model-index")]


@pytest.fixture(scope="module")
def languages() -> Selector:
    """English and German datasets, and one that says no language."""
    english = {"labels": ["hate speech", "offensive language", "neither"], "language": ["en"]}
    specs = [
        text_module("hate_speech_offensive", ["SetFit/hate_speech_offensive"], dataset=english),
        text_module("germeval", ["germeval_18"], dataset={"language": ["de"]}),
        text_module("anything", ["some_corpus"]),
    ]
    return Selector([EvaluationModule.model_validate(s) for s in specs])


def test_training_data_is_never_inferred_in_another_language(languages: Selector) -> None:
    """A Spanish model named after an English dataset was trained on a Spanish one: its name's
    language word, or its card's language, rules the dataset out; other tags are not languages."""
    name = "o/roberta-base-bne-finetuned-hate-speech-offensive-spanish"
    assert chosen(languages, name=name) == []
    assert languages.select(Hints(TEXT, name=name)).reason == Reason.NO_HINT
    assert chosen(languages, name="o/bert-hate-speech-offensive", tags=("ca",)) == []
    english = [("hate_speech_offensive", "name")]
    assert chosen(languages, name="o/bert-hate-speech-offensive") == english
    assert chosen(languages, name="o/bert-hate-speech-offensive", tags=("en", "es")) == english
    # `tf` and `ner` are tags, not languages; an English name word is English
    assert chosen(languages, name="o/bert-hate-speech-offensive", tags=("tf", "ner")) == english
    assert chosen(languages, name="o/english-hate-speech-offensive") == english
    # labels and model-index follow the same rule
    labels = ("hate speech", "offensive language", "neither")
    assert chosen(languages, labels=labels, tags=("it",)) == []
    assert chosen(languages, labels=labels, tags=("en",)) == [("hate_speech_offensive", "labels")]
    mention = DatasetMention(type="germeval_18")
    assert chosen(languages, model_index=(mention,), tags=("de",)) == [("germeval", "model-index")]
    assert chosen(languages, model_index=(mention,), name="o/german-bert") == [
        ("germeval", "model-index")
    ]
    assert chosen(languages, model_index=(mention,), tags=("fr",)) == []
    # a dataset that says no language is not ruled out; a declared dataset is the author's word
    assert chosen(languages, name="o/some-corpus-spanish") == [("anything", "name")]
    declared = ("SetFit/hate_speech_offensive",)
    assert chosen(languages, datasets=declared, tags=("es",)) == [
        ("hate_speech_offensive", "declared")
    ]


def test_treebank_names_and_norwegian_codes() -> None:
    """A spaCy pipeline named after its treebank (`danishddt`: UD_Danish-DDT) is inferred to be
    trained on it; Norwegian's codes (no, nb, nn) are one language; a Hindi model whose name
    says `ewt` is not assumed to be trained on English EWT."""
    from evaluators.config import load_module
    from tests.config.test_contract import CONFIG

    folder = CONFIG / "tasks" / "token-classification"
    ud = [load_module(folder / f"ud-{t}.yaml") for t in ("en_ewt", "da_ddt", "no_nynorsk")]
    selector = Selector(ud)
    tag = "token-classification"

    def ids(name: str, tags: tuple[str, ...] = ()) -> list[tuple[str, str]]:
        outcome = selector.select(Hints(tag, tags=tags, name=name))
        return [(c.module.id, c.rule) for c in outcome.chosen]

    assert ids("explosion/da_udv25_danishddt_trf", ("spacy", "da")) == [("ud-da_ddt", "name")]
    assert ids("o/nb_udv25_norwegiannynorsk_trf", ("nb",)) == [("ud-no_nynorsk", "name")]
    assert ids("o/bert-upos-ud-english-ewt") == [("ud-en_ewt", "name")]
    assert ids("o/hi_ud_hi_ewt", ("spacy", "hi")) == []


def test_a_family_member_by_a_language_the_name_says() -> None:
    """A Common Voice model with no language tag whose name says Turkish gets the Turkish
    member; a name with two languages of the family says none."""
    from evaluators.config import load_module
    from tests.config.test_contract import CONFIG

    cv = [
        load_module(CONFIG / "tasks" / "automatic-speech-recognition" / f"common_voice-{code}.yaml")
        for code in ("tr", "de", "en")
    ]
    selector = Selector(cv)
    tag = "automatic-speech-recognition"
    declared = ("mozilla-foundation/common_voice_8_0",)
    outcome = selector.select(Hints(tag, datasets=declared, name="o/wav2vec2-xlsr-turkish-colab"))
    assert [(c.module.id, c.evidence) for c in outcome.chosen] == [
        (
            "common_voice-tr",
            "its card declares 'mozilla-foundation/common_voice_8_0' and its name says its "
            "language is 'tr'",
        )
    ]
    both = selector.select(Hints(tag, datasets=declared, name="o/wav2vec2-german-turkish"))
    assert both.reason == Reason.FAMILY_WITHOUT_CONFIG
