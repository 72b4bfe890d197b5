"""Modules from datasets' own cards: the ``train-eval-index`` shapes the real cards of emotion,
imdb, conll2003 and squad carried, and the cards that cannot configure an evaluation."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from evaluators.card_modules import card_task, covers, module_from_card, module_id, to_yaml
from evaluators.config import load_module, load_modules
from evaluators.errors import CardModuleError

ROOT = Path(__file__).resolve().parents[2]
TASKS_DIR = ROOT / "config" / "tasks"
SHA = "cab853a1dbdf4c42c2b3ef2173804746df8825fe"

# dair-ai/emotion: two configs, `split` the default, while train-eval-index says `default`.
EMOTION = """
pretty_name: Emotion
task_categories: [text-classification]
dataset_info:
- config_name: split
  features:
  - name: text
    dtype: string
  - name: label
    dtype:
      class_label:
        names:
          '0': sadness
          '1': joy
          '2': love
          '3': anger
          '4': fear
          '5': surprise
- config_name: unsplit
  features:
  - name: text
    dtype: string
  - name: label
    dtype:
      class_label:
        names:
          '0': sadness
          '1': joy
          '2': love
          '3': anger
          '4': fear
          '5': surprise
configs:
- config_name: split
  data_files: [{split: test, path: split/test-*}]
  default: true
- config_name: unsplit
  data_files: [{split: train, path: unsplit/train-*}]
train-eval-index:
- config: default
  task: text-classification
  task_id: multi_class_classification
  splits:
    train_split: train
    eval_split: test
  col_mapping:
    text: text
    label: target
  metrics:
  - type: accuracy
    name: Accuracy
  - type: f1
    name: F1 macro
    args:
      average: macro
"""

IMDB = """
pretty_name: IMDB
dataset_info:
  config_name: plain_text
  features:
  - name: text
    dtype: string
  - name: label
    dtype:
      class_label:
        names:
          '0': neg
          '1': pos
train-eval-index:
- config: plain_text
  task: text-classification
  task_id: binary_classification
  splits:
    train_split: train
    eval_split: test
  col_mapping:
    text: text
    label: target
  metrics:
  - type: accuracy
  - name: Accuracy
"""

CONLL = """
pretty_name: CoNLL-2003
dataset_info:
  config_name: conll2003
  features:
  - name: id
    dtype: string
  - name: tokens
    sequence: string
  - name: pos_tags
    sequence:
      class_label:
        names:
          '0': '"'
          '1': ''''''
  - name: ner_tags
    sequence:
      class_label:
        names:
          '0': O
          '1': B-PER
          '2': I-PER
          '3': B-ORG
          '4': I-ORG
          '5': B-LOC
          '6': I-LOC
          '7': B-MISC
          '8': I-MISC
train-eval-index:
- config: conll2003
  task: token-classification
  task_id: entity_extraction
  splits:
    train_split: train
    eval_split: test
  col_mapping:
    tokens: tokens
    ner_tags: tags
  metrics:
  - type: seqeval
    name: seqeval
"""

SQUAD = """
pretty_name: SQuAD
dataset_info:
  config_name: plain_text
  features:
  - name: id
    dtype: string
  - name: title
    dtype: string
  - name: context
    dtype: string
  - name: question
    dtype: string
  - name: answers
    sequence:
    - name: text
      dtype: string
    - name: answer_start
      dtype: int32
train-eval-index:
- config: plain_text
  task: question-answering
  task_id: extractive_question_answering
  splits:
    train_split: train
    eval_split: validation
  col_mapping:
    question: question
    context: context
    answers:
      text: text
      answer_start: answer_start
  metrics:
  - type: squad
    name: SQuAD
"""


def card(text: str) -> dict[str, Any]:
    data = yaml.safe_load(text)
    assert isinstance(data, dict)
    return data


def test_emotion_card_gives_a_text_classification_module() -> None:
    derived = module_from_card(
        "dair-ai/emotion", card(EMOTION), revision=SHA, features=None, tasks_dir=TASKS_DIR
    )
    module = derived.module
    assert (derived.source, derived.dataset_id, derived.revision) == (
        "card",
        "dair-ai/emotion",
        SHA,
    )
    assert module.id == "dair-ai--emotion" and module.task == "text-classification"
    assert module.version == 1 and module.trained_on == ["dair-ai/emotion"]
    ref = module.dataset
    assert (ref.repo, ref.name, ref.split, ref.revision) == (
        "dair-ai/emotion",
        "Emotion",
        "test",
        SHA,
    )
    assert ref.config == "split"  # `default` is no config of this card: its default one
    assert ref.columns.roles() == {"input": "text", "label": "label"}
    assert ref.labels == ["sadness", "joy", "love", "anger", "fear", "surprise"]
    # the text-classification template's defaults
    assert module.perturbations == ["lowercase", {"name": "typos", "rate": 0.05}, "no_punctuation"]
    assert module.processors == ["classification", "misclassifications", "calibration", "bootstrap"]
    assert any("'default'" in w and "'split'" in w for w in derived.warnings)


def test_imdb_card_binary_classification() -> None:
    derived = module_from_card("stanfordnlp/imdb", card(IMDB), revision=None, features=None)
    ref = derived.module.dataset
    assert derived.module.id == "stanfordnlp--imdb"
    assert (ref.config, ref.split, ref.revision) == ("plain_text", "test", None)
    assert ref.labels == ["neg", "pos"]
    assert derived.module.perturbations == []  # no tasks_dir: no template
    assert any("not pinned" in w for w in derived.warnings)


def test_conll2003_card_gives_a_token_classification_module() -> None:
    derived = module_from_card(
        "eriktks/conll2003", card(CONLL), revision=None, features=None, tasks_dir=TASKS_DIR
    )
    module = derived.module
    assert module.task == "token-classification"
    assert module.dataset.columns.roles() == {"tokens": "tokens", "tags": "ner_tags"}
    assert module.dataset.labels[:3] == ["O", "B-PER", "I-PER"] and len(module.dataset.labels) == 9
    assert module.dataset.config == "conll2003" and module.dataset.split == "test"


def test_squad_card_nested_and_flat_answers() -> None:
    derived = module_from_card("rajpurkar/squad", card(SQUAD), revision=None, features=None)
    module = derived.module
    assert module.task == "question-answering" and module.dataset.labels == []
    expected = {"question": "question", "context": "context", "answers": "answers"}
    assert module.dataset.columns.roles() == expected
    assert (module.dataset.config, module.dataset.split) == ("plain_text", "validation")
    flat = card(SQUAD)  # germanquad's card wrote the sub-fields with dots
    flat["train-eval-index"][0]["col_mapping"] = {
        "context": "context",
        "question": "question",
        "answers.text": "answers.text",
        "answers.answer_start": "answers.answer_start",
    }
    again = module_from_card("deepset/germanquad", flat, revision=None, features=None)
    assert again.module.dataset.columns.roles() == expected


def test_features_read_by_the_caller_win_over_the_card() -> None:
    features = {
        "text": {"_type": "Value", "dtype": "string"},
        "label": {"_type": "ClassLabel", "names": ["bad", "good"]},
    }
    derived = module_from_card("stanfordnlp/imdb", card(IMDB), revision=None, features=features)
    assert derived.module.dataset.labels == ["bad", "good"]


def test_a_card_without_train_eval_index_is_refused() -> None:
    with pytest.raises(CardModuleError) as caught:
        module_from_card("acme/plain", {"license": "mit"}, revision=None, features=None)
    assert caught.value.dataset_id == "acme/plain"
    assert "no train-eval-index" in str(caught.value)
    assert "config/tasks/<task>/acme--plain.yaml" in str(caught.value)


def test_unsupported_tasks_are_refused() -> None:
    glue = {
        "train-eval-index": [
            {
                "config": "mrpc",
                "task": "text-classification",
                "task_id": "natural_language_inference",
                "splits": {"eval_split": "validation"},
                "col_mapping": {"sentence1": "text1", "sentence2": "text2", "label": "target"},
            },
            {
                "config": "scenes",
                "task": "image-segmentation",
                "task_id": "semantic_segmentation",
                "splits": {"eval_split": "test"},
                "col_mapping": {"image": "image", "mask": "target"},
            },
        ]
    }
    with pytest.raises(CardModuleError, match="no train-eval-index entry is of a task evalbot"):
        module_from_card("nyu-mll/glue", glue, revision=None, features=None)
    assert card_task("image-classification", "multi_class_classification") == "image-classification"
    assert card_task("token-classification", "entity_extraction") == "token-classification"
    assert card_task(None, "image_binary_classification") == "image-classification"
    assert card_task("text-classification", "multi-class-classification") == "text-classification"
    assert card_task("text-classification", "multi_label_classification") is None


def test_config_picks_one_entry() -> None:
    data = card(IMDB)
    other = {**data["train-eval-index"][0], "config": "other", "splits": {"eval_split": "dev"}}
    data["train-eval-index"].append(other)
    assert (
        module_from_card("a/b", data, revision=None, features=None).module.dataset.split == "test"
    )
    chosen = module_from_card("a/b", data, revision=None, features=None, config="other")
    assert chosen.module.dataset.split == "dev" and chosen.module.dataset.config == "other"
    with pytest.raises(CardModuleError, match="no entry for config 'nope'"):
        module_from_card("a/b", data, revision=None, features=None, config="nope")


@pytest.mark.parametrize(
    ("col_mapping", "expected"),
    [
        ({"sentence": "text", "label": "target"}, "lack"),  # a column the features lack
        ({"text": "text"}, r"names no column for \['target'\]"),
        ({"text": "text", "label": "target", "extra": "text2"}, "does not read"),
        ({"text": "text", "label": "target", "title": "text"}, "both"),
        (None, "no col_mapping"),
    ],
)
def test_bad_col_mapping_is_refused(col_mapping: Any, expected: str) -> None:
    data = card(IMDB)
    data["train-eval-index"][0]["col_mapping"] = col_mapping
    with pytest.raises(CardModuleError, match=expected) as caught:
        module_from_card("stanfordnlp/imdb", data, revision=None, features=None)
    assert "config/tasks/text-classification/stanfordnlp--imdb.yaml" in str(caught.value)


def test_answers_fields_under_other_names_are_refused() -> None:
    data = card(SQUAD)
    data["train-eval-index"][0]["col_mapping"]["answers"] = {"txt": "text", "start": "answer_start"}
    with pytest.raises(CardModuleError, match="fields"):
        module_from_card("acme/qa", data, revision=None, features=None)


def test_labels_needed_but_not_declared() -> None:
    data = card(IMDB)
    del data["dataset_info"]
    with pytest.raises(CardModuleError, match="no ClassLabel names for column 'label'"):
        module_from_card("stanfordnlp/imdb", data, revision=None, features=None)
    data = card(IMDB)
    data["train-eval-index"][0]["splits"] = {"train_split": "train"}
    with pytest.raises(CardModuleError, match="eval_split"):
        module_from_card("stanfordnlp/imdb", data, revision=None, features=None)


def test_a_short_sha_is_not_pinned() -> None:
    derived = module_from_card("stanfordnlp/imdb", card(IMDB), revision="abc123", features=None)
    assert derived.revision is None and derived.module.dataset.revision is None
    assert any("not a full commit sha" in w for w in derived.warnings)


def test_yaml_round_trip_through_load_module(tmp_path: Path) -> None:
    for dataset_id, text in [
        ("dair-ai/emotion", EMOTION),
        ("eriktks/conll2003", CONLL),
        ("rajpurkar/squad", SQUAD),
    ]:
        derived = module_from_card(
            dataset_id, card(text), revision=SHA, features=None, tasks_dir=TASKS_DIR
        )
        text_out = to_yaml(derived.module, comments=["Derived from the card.", *derived.warnings])
        assert text_out.startswith("# Derived from the card.\n")
        folder = tmp_path / "tasks" / derived.module.task
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{derived.module.id}.yaml"
        path.write_text(text_out, encoding="utf-8")
        assert load_module(path) == derived.module
        keys = [k for k in yaml.safe_load(text_out)]
        assert keys[:5] == ["id", "task", "version", "dataset", "trained_on"]
    assert {m.module.id for m in load_modules(tmp_path / "tasks")} == {
        "dair-ai--emotion",
        "eriktks--conll2003",
        "rajpurkar--squad",
    }


def test_yaml_modules_cover_their_datasets() -> None:
    modules = [f.module for f in load_modules(TASKS_DIR)]
    assert covers(modules, "dair-ai/emotion") and covers(modules, "Emotion")
    assert not covers(modules, "acme/tweets")
    assert module_id("Acme/Tweets") == "acme--tweets"


# AI-Lab-Makerere/beans: an image card with the plain classification task_id.
BEANS = """
pretty_name: Beans
dataset_info:
  features:
  - name: image_file_path
    dtype: string
  - name: image
    dtype: image
  - name: labels
    dtype:
      class_label:
        names:
          '0': angular_leaf_spot
          '1': bean_rust
          '2': healthy
train-eval-index:
- config: default
  task: image-classification
  task_id: multi_class_classification
  splits:
    train_split: train
    eval_split: test
  col_mapping:
    image: image
    labels: target
"""


def test_beans_card_gives_an_image_classification_module(tmp_path: Path) -> None:
    derived = module_from_card(
        "AI-Lab-Makerere/beans", card(BEANS), revision=SHA, features=None, tasks_dir=TASKS_DIR
    )
    module = derived.module
    assert module.id == "ai-lab-makerere--beans" and module.task == "image-classification"
    assert module.dataset.columns.roles() == {"input": "image", "label": "labels"}
    assert module.dataset.labels == ["angular_leaf_spot", "bean_rust", "healthy"]
    assert module.batch_size == 64 and "greyscale" in module.perturbations  # image template
    text = to_yaml(module)
    assert "max_length" not in text  # text only
    path = tmp_path / "beans.yaml"
    path.write_text(text, encoding="utf-8")
    assert load_module(path) == module


def test_features_in_the_list_form_of_datasets_4() -> None:
    """datasets 4 writes a list of class labels as `list:` (older cards: `sequence:`), and
    ``Features.to_dict()`` nests it under `feature`."""
    yaml_form = [
        {"name": "tokens", "list": "string"},
        {"name": "ner_tags", "list": {"class_label": {"names": {"0": "O", "1": "B-PER"}}}},
    ]
    dict_form = {
        "tokens": {"feature": {"dtype": "string", "_type": "Value"}, "_type": "List"},
        "ner_tags": {"feature": {"names": ["O", "B-PER"], "_type": "ClassLabel"}, "_type": "List"},
    }
    for features in (yaml_form, dict_form):
        derived = module_from_card("a/ner", card(CONLL), revision=None, features=features)
        assert derived.module.dataset.labels == ["O", "B-PER"]


def test_summarization_and_translation_entries_configure_modules(tmp_path: Path) -> None:
    samsum = {
        "train-eval-index": [
            {
                "config": "samsum",
                "task": "summarization",
                "task_id": "summarization",
                "splits": {"eval_split": "test"},
                "col_mapping": {"dialogue": "text", "summary": "target"},
            }
        ]
    }
    module = module_from_card("acme/chats", samsum, revision=None, features=None).module
    assert module.task == "summarization"
    assert module.dataset.columns.roles() == {"input": "dialogue", "target": "summary"}
    wmt = {
        "train-eval-index": [
            {
                "config": "de-en",
                "task": "translation",
                "task_id": "translation",
                "splits": {"eval_split": "test"},
                "col_mapping": {"translation.de": "source", "translation.en": "target"},
            }
        ]
    }
    module = module_from_card("acme/wmt", wmt, revision=None, features=None).module
    assert module.dataset.columns.roles() == {
        "input": "translation.de",
        "target": "translation.en",
    }
    assert module.direction is not None
    assert (module.direction.source, module.direction.target) == ("de", "en")
    by_config = {**wmt["train-eval-index"][0], "col_mapping": {"src": "text", "tgt": "target"}}
    module = module_from_card(
        "acme/pairs", {"train-eval-index": [by_config]}, revision=None, features=None
    ).module
    assert module.direction is not None and module.direction.source == "de"
    unknown = {**by_config, "config": "default"}
    with pytest.raises(CardModuleError, match="cannot tell the languages of the translation"):
        module_from_card("acme/p", {"train-eval-index": [unknown]}, revision=None, features=None)
    wrong = {**by_config, "col_mapping": {"src": "text", "tgt": "label"}}
    with pytest.raises(CardModuleError, match="reads the source text"):
        module_from_card("acme/p", {"train-eval-index": [wrong]}, revision=None, features=None)


def test_speech_entries_configure_modules() -> None:
    librispeech = {
        "train-eval-index": [
            {
                "config": "clean",
                "task": "automatic-speech-recognition",
                "task_id": "speech_recognition",
                "splits": {"train_split": "train.100", "eval_split": "test"},
                "col_mapping": {"file": "path", "audio": "audio", "text": "text"},
            }
        ]
    }
    module = module_from_card("acme/speech", librispeech, revision=None, features=None).module
    assert module.task == "automatic-speech-recognition"
    assert module.dataset.columns.roles() == {"input": "audio", "target": "text"}
    keywords = {
        "dataset_info": {
            "features": [
                {"name": "audio", "dtype": {"audio": {"sampling_rate": 16000}}},
                {"name": "label", "dtype": {"class_label": {"names": {"0": "yes", "1": "no"}}}},
            ]
        },
        "train-eval-index": [
            {
                "config": "v0.02",
                "task": "audio-classification",
                "task_id": "keyword_spotting",
                "splits": {"eval_split": "test"},
                "col_mapping": {"audio": "audio", "label": "target"},
            }
        ],
    }
    module = module_from_card("acme/kws", keywords, revision=None, features=None).module
    assert module.task == "audio-classification"
    assert module.dataset.labels == ["yes", "no"]
    assert module.dataset.columns.roles() == {"input": "audio", "label": "label"}
    wrong = {**librispeech["train-eval-index"][0], "col_mapping": {"audio": "audio"}}
    with pytest.raises(CardModuleError, match="names no text column"):
        module_from_card("acme/s", {"train-eval-index": [wrong]}, revision=None, features=None)
