"""Sub-token outputs to word predictions, and a token classifier's tags to a dataset's."""

from __future__ import annotations

import numpy as np
import pytest

from evaluators.errors import (
    InsufficientMetadataError,
    LabelMappingError,
    SequenceLengthError,
    TagFormatError,
)
from evaluators.ner import score, to_iob2
from evaluators.ner_align import first_subtoken, first_subtoken_batch, map_tags

CONLL = ["O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC", "B-MISC", "I-MISC"]
WNUT = [
    "O",
    "B-corporation",
    "I-corporation",
    "B-creative-work",
    "I-creative-work",
    "B-group",
    "I-group",
    "B-location",
    "I-location",
    "B-person",
    "I-person",
    "B-product",
    "I-product",
]


# --------------------------------------------------------------------------------------------
# First sub-token
# --------------------------------------------------------------------------------------------


def test_first_subtoken_takes_each_words_first_piece() -> None:
    word_ids = [None, 0, 1, 1, 1, 2, None, None]
    preds = np.array([9, 1, 2, 7, 7, 0, 9, 9])
    words, cut = first_subtoken(word_ids, preds, 3, fill=0)
    assert words.tolist() == [1, 2, 0]
    assert cut == 0


def test_words_cut_by_truncation_get_the_fill_and_are_counted() -> None:
    # five words; the encoding kept the first two (and a word the tokenizer read as nothing)
    words, cut = first_subtoken([None, 0, 2, 2, None], np.array([5, 3, 4, 8, 5]), 5, fill=0)
    assert words.tolist() == [3, 0, 4, 0, 0]
    assert cut == 3


def test_rows_of_probabilities_are_kept_whole() -> None:
    probs = np.arange(12, dtype=np.float32).reshape(4, 3)
    words, cut = first_subtoken([None, 1, 1, None], probs, 2, fill=np.array([1.0, 0.0, 0.0]))
    assert words.tolist() == [[1.0, 0.0, 0.0], [3.0, 4.0, 5.0]]
    assert words.dtype == np.float32 and cut == 1


def test_batch_equals_one_sentence_at_a_time() -> None:
    rng = np.random.default_rng(0)
    for _ in range(50):
        batch, tokens = int(rng.integers(1, 6)), int(rng.integers(2, 20))
        word_ids, n_words = [], []
        for _ in range(batch):
            n = int(rng.integers(0, 8))
            pieces = [w for w in range(n) for _ in range(int(rng.integers(0, 3)))]
            row = [None, *pieces[: tokens - 2], None]
            word_ids.append(row + [None] * (tokens - len(row)))
            n_words.append(n)
        preds = rng.integers(0, 9, (batch, tokens, 2))
        got, cut = first_subtoken_batch(word_ids, preds, n_words, fill=-1)
        for i in range(batch):
            one, one_cut = first_subtoken(word_ids[i], preds[i], n_words[i], fill=-1)
            assert np.array_equal(got[i], one) and cut[i] == one_cut
            expected = [
                preds[i][word_ids[i].index(w)] if w in word_ids[i] else [-1, -1]
                for w in range(n_words[i])
            ]
            assert got[i].reshape(-1, 2).tolist() == np.reshape(expected, (-1, 2)).tolist()
            assert one_cut == sum(w not in word_ids[i] for w in range(n_words[i]))


def test_an_empty_batch_and_sentences_without_words() -> None:
    assert first_subtoken_batch([], np.zeros((0, 3)), [], fill=0) == ([], [])
    got, cut = first_subtoken_batch([[None, None]] * 3, np.zeros((3, 2)), [0, 0, 0], fill=0)
    assert [g.shape for g in got] == [(0,), (0,), (0,)] and cut == [0, 0, 0]


def test_a_real_fast_tokenizer_with_truncation() -> None:
    from transformers import AutoTokenizer

    from sandbox.world import minilm_path

    tokenizer = AutoTokenizer.from_pretrained(minilm_path())
    sentences = [["EU", "rejects", "Germanophobic", "call"], ["Peter", "Blackburn"]]
    encoding = tokenizer(
        sentences, is_split_into_words=True, truncation=True, max_length=6, padding=True
    )
    word_ids = [encoding.word_ids(i) for i in range(len(sentences))]
    token_tags = np.array(encoding["input_ids"])  # any per-token value: the token's id here
    got, cut = first_subtoken_batch(word_ids, token_tags, [4, 2], fill=-1)
    first_piece = [tokenizer.convert_ids_to_tokens(g[g >= 0].tolist()) for g in got]
    assert first_piece[0][:2] == ["eu", "rejects"] and len(first_piece[0]) == 3
    assert got[0][3] == -1 and cut == [1, 0]  # "call" did not fit in six tokens
    assert first_piece[1] == ["peter", "blackburn"]


def test_first_subtoken_refuses_what_does_not_fit() -> None:
    with pytest.raises(SequenceLengthError, match="sentence 0 has 3 word ids but 4 token") as e:
        first_subtoken([None, 0, None], np.zeros(4), 1, fill=0)
    assert e.value.sentence == 0
    with pytest.raises(SequenceLengthError, match=r"sentence 1 has word ids outside 0\.\.1"):
        first_subtoken_batch([[0, None], [2, 0]], np.zeros((2, 2)), [1, 2], fill=0)
    with pytest.raises(SequenceLengthError, match="one row per sentence"):
        first_subtoken_batch([[0], [0]], np.zeros((1, 1)), [1, 1], fill=0)


# --------------------------------------------------------------------------------------------
# Tag mapping
# --------------------------------------------------------------------------------------------


def _id2label(tags: list[str]) -> dict[int, str]:
    return dict(enumerate(tags))


def test_identical_tags_in_another_order() -> None:
    model = ["B-LOC", "B-MISC", "B-ORG", "I-LOC", "I-MISC", "I-ORG", "I-PER", "O", "B-PER"]
    mapping = map_tags("org/m", _id2label(model), CONLL)
    assert all(CONLL[j] == model[i] for i, j in mapping.ids.items())
    assert mapping.description == {t: t for t in model}
    assert mapping.notes == ()


@pytest.mark.parametrize(
    "spelling", [str.lower, lambda t: t.replace("-", "_"), lambda t: t.lower().replace("-", " ")]
)
def test_case_and_separators_are_ignored(spelling: object) -> None:
    model = [spelling(t) for t in CONLL]  # type: ignore[operator]
    mapping = map_tags("org/m", _id2label(model), CONLL)
    assert mapping.ids == {i: i for i in range(len(CONLL))}
    assert mapping.description == dict(zip(model, CONLL, strict=True))


def test_wnut_types_with_hyphens() -> None:
    model = {0: "O", 1: "B-creative_work", 2: "I-Creative-Work", 3: "B-person"}
    assert map_tags("org/m", model, WNUT).ids == {0: 0, 1: 3, 2: 4, 3: 9}


def test_generic_labels_in_the_datasets_order_are_noted() -> None:
    mapping = map_tags("org/m", {i: f"LABEL_{i}" for i in range(9)}, CONLL)
    assert mapping.ids == {i: i for i in range(9)}
    assert mapping.description["LABEL_1"] == "B-PER"
    assert mapping.notes == (
        "generic labels read as the dataset's tags in its order: " + ", ".join(CONLL),
    )


def test_generic_labels_that_cannot_be_placed_are_refused() -> None:
    with pytest.raises(InsufficientMetadataError, match="7 generic labels"):
        map_tags("org/m", {i: f"LABEL_{i}" for i in range(7)}, CONLL)
    with pytest.raises(LabelMappingError, match="LABEL_1") as caught:
        map_tags("org/m", {0: "O", 1: "LABEL_1"}, CONLL)
    assert caught.value.unmatched == ["LABEL_1"]
    with pytest.raises(InsufficientMetadataError, match="no id2label"):
        map_tags("org/m", {}, CONLL)


def test_plain_types_read_as_i_tags() -> None:
    model = {0: "O", 1: "PER", 2: "ORG", 3: "LOC", 4: "MISC"}
    mapping = map_tags("org/m", model, CONLL)
    assert mapping.description == {
        "O": "O",
        "PER": "I-PER",
        "ORG": "I-ORG",
        "LOC": "I-LOC",
        "MISC": "I-MISC",
    }
    assert mapping.notes[0].startswith("PER read as I-PER: a plain type is an I- tag")
    # a run of one plain type is one entity in the default scoring, and strictly after to_iob2
    words = [[CONLL[mapping.ids[i]] for i in (1, 1, 0, 3, 2, 2)]]
    truth = [["B-PER", "I-PER", "O", "B-LOC", "B-ORG", "I-ORG"]]
    assert score(truth, words).micro.f1 == 1.0
    assert score(truth, [to_iob2(s) for s in words], strict=True).micro.f1 == 1.0
    assert score(truth, words, strict=True).micro.f1 == 0.0


def test_iobes_and_bilou_models_on_an_iob2_dataset() -> None:
    model = {0: "O", 1: "S-PER", 2: "B-PER", 3: "I-PER", 4: "E-PER", 5: "U-LOC", 6: "L-LOC"}
    mapping = map_tags("org/m", model, CONLL)
    assert mapping.description == {
        "O": "O",
        "S-PER": "B-PER",
        "B-PER": "B-PER",
        "I-PER": "I-PER",
        "E-PER": "I-PER",
        "U-LOC": "B-LOC",
        "L-LOC": "I-LOC",
    }
    assert "E-PER read as I-PER: E- read as IOB2" in mapping.notes


def test_built_in_and_module_type_aliases() -> None:
    model = {0: "O", 1: "B-PERSON", 2: "I-Location", 3: "B-ORGANIZATION", 4: "I-MISCELLANEOUS"}
    assert map_tags("org/m", model, CONLL).ids == {0: 0, 1: 1, 2: 6, 3: 3, 4: 8}
    model = {0: "Outside", 1: "B-PERS", 2: "B-GPE", 3: "I-PER"}
    aliases = {"O": ["outside"], "PER": ["pers"], "LOC": ["GPE"]}
    mapping = map_tags("org/m", model, CONLL, aliases=aliases)
    assert mapping.ids == {0: 0, 1: 1, 2: 5, 3: 2}
    assert mapping.description == {
        "Outside": "O",
        "B-PERS": "B-PER",
        "B-GPE": "B-LOC",
        "I-PER": "I-PER",
    }


def test_unknown_and_doubled_tags_are_refused() -> None:
    with pytest.raises(LabelMappingError, match="label_aliases") as caught:
        map_tags("org/m", {0: "O", 1: "B-PER", 2: "B-DATE", 3: "TIME"}, CONLL)
    assert caught.value.unmatched == ["B-DATE", "TIME"]
    assert caught.value.reason == "unknown labels"
    with pytest.raises(LabelMappingError) as doubled:
        map_tags("org/m", {0: "O", 1: "B-PER", 2: "b_per", 3: "B-PERSON"}, CONLL)
    assert doubled.value.unmatched == ["B-PER", "B-PERSON", "b_per"]
    with pytest.raises(LabelMappingError, match="'B-PER'"):  # a prefix the dataset lacks
        map_tags("org/m", {0: "O", 1: "B-PER"}, ["O", "I-PER"])


def test_a_model_with_fewer_types_is_fine() -> None:
    mapping = map_tags("org/m", {0: "O", 1: "B-PER", 2: "I-PER"}, CONLL)
    assert mapping.ids == {0: 0, 1: 1, 2: 2}


def test_malformed_dataset_tags_are_refused() -> None:
    with pytest.raises(TagFormatError, match="'PER': the dataset's tags must be 'O' or B-"):
        map_tags("org/m", {0: "O", 1: "PER"}, ["O", "PER"])
