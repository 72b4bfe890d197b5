"""The span part of the demo world: a CoNLL-2003-shaped NER dataset, SQuAD-shaped extractive QA
datasets, and a small model for each.

- `demo/ner-news` (config `default`; splits train/validation/test): news-style sentences made
  from templates and word lists of made-up names, columns `id` (str), `tokens` (list of str) and
  `ner_tags` (list of class labels, CoNLL-2003's names and order: O, B-PER, I-PER, B-ORG, I-ORG,
  B-LOC, I-LOC, B-MISC, I-MISC). A share of the names appears only in validation and test, and
  some surnames are also town names, so a tagger cannot be perfect.
- `demo/qa-facts` (config `plain_text`; splits train/validation): short made-up biographies with
  who/what/when/where/how-many questions, columns `id`, `title`, `context`, `question`,
  `answers` = {`text`: [...], `answer_start`: [...]}; validation questions may list more than
  one accepted answer, as SQuAD's do. Validation draws on the names train knows, in new
  combinations, with a second person in most contexts to tell apart.
- `demo/qa-facts-v2` (config `squad_v2`): the same rows with a fifth of the questions in each
  split replaced by questions the context cannot answer (`answers` lists empty), as SQuAD 2.0.
- `demo/tiny-ner`: a tiny BERT token classifier (IOB2 labels, trained on the first sub-token of
  each word) and `demo/tiny-qa`: a tiny BERT extractive-QA model, both trained from scratch on
  the train splits with the tokenizer of all-MiniLM-L6-v2. Measured through
  `pipeline("token-classification", aggregation_strategy="first")` (entity F1 on test) and
  through `qa_answers` (exact match on validation): transformers 5 has no question-answering
  pipeline.

Both cards of the datasets carry the `train-eval-index` of Hugging Face's Evaluation on the Hub.
`sandbox.world.build_world` calls `build_spans`, caches the files and adds the repos to the
`World`; the scores measured after training are kept in `spans.json` beside `world.json`
(`span_scores`).

Example:
    >>> splits = ner_splits()
    >>> [len(splits[s]) for s in NER_SPLITS]
    [3000, 300, 300]
"""

from __future__ import annotations

import hashlib
import json
import random
import re
import string
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

if TYPE_CHECKING:
    import torch

    from sandbox.world import DatasetSpec, ModelSpec

NER_ID = "demo/ner-news"
NER_CONFIG = "default"
NER_SPLITS = ("train", "validation", "test")
NER_TAGS = ("O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC", "B-MISC", "I-MISC")
QA_ID = "demo/qa-facts"
QA_CONFIG = "plain_text"  # the config name of the real squad
QA_V2_ID = "demo/qa-facts-v2"
QA_V2_CONFIG = "squad_v2"  # the config name of the real squad_v2
QA_SPLITS = ("train", "validation")
NER_MODEL_ID = "demo/tiny-ner"
QA_MODEL_ID = "demo/tiny-qa"
SCORES_FILE = "spans.json"


@dataclass(frozen=True)
class SpanTrainParams:
    """Hyperparameters of one training run (AdamW, linear warmup and decay)."""

    seed: int
    epochs: int
    lr: float
    batch_size: int = 32
    weight_decay: float = 0.01
    warmup_ratio: float = 0.1


@dataclass(frozen=True)
class SpanRecipe:
    """Every parameter of the span part; part of `sandbox.world.Recipe` and so of its digest.

    `version` changes whenever the templates, word lists or training code change.
    """

    version: str = "2"
    seed: int = 20261207
    ner_sizes: tuple[int, ...] = (3000, 300, 300)  # sentences, in NER_SPLITS order
    ner_unseen_share: float = 0.25  # of each NER word list: names never met in train
    qa_contexts: tuple[int, ...] = (900, 100)  # biographies, in QA_SPLITS order
    qa_facts_per_context: int = 3  # of the 5 kinds in FACTS
    qa_questions_per_context: int = 5
    unanswerable_share: float = 0.2  # of the questions of each qa-facts-v2 split
    ner: SpanTrainParams = SpanTrainParams(seed=6, epochs=4, lr=3e-3)
    qa: SpanTrainParams = SpanTrainParams(seed=7, epochs=4, lr=5e-3)
    # Both models: a BERT this small trained from scratch (no dropout: it only slows them here).
    hidden: int = 64
    layers: int = 2
    heads: int = 2
    intermediate: int = 128
    qa_max_length: int = 384  # what qa_answers reads at once; every context here fits
    # As for the image models: on a busy 2-core machine a second thread made training slower.
    threads: int = 1


SPAN_RECIPE = SpanRecipe()


@dataclass(frozen=True)
class SpanScore:
    """A span model's score on its dataset's evaluation split, measured after training through
    the `transformers` pipeline, and the seconds its training took."""

    metric: str  # "entity_f1" or "exact_match"
    split: str
    value: float
    train_seconds: float


# --------------------------------------------------------------------------------------------
# Word lists: made-up names only. Some surnames are town names too (Calder, Marlow, Holm ...).
# --------------------------------------------------------------------------------------------

# fmt: off
FIRST_NAMES = (
    "Ada", "Bram", "Cato", "Dana", "Elio", "Fenna", "Goran", "Hale", "Ines", "Jorun", "Kasimir",
    "Lene", "Milo", "Nadia", "Orin", "Priya", "Quint", "Rosa", "Soren", "Talia", "Ugo", "Vera",
    "Wim", "Yara", "Zeno", "Anouk", "Bastian", "Celia", "Dries", "Edda", "Femi", "Greta",
    "Hugo", "Ilse", "Joost", "Kirra", "Lior", "Maren", "Niko", "Odile",
)
SURNAMES = (
    "Achterberg", "Brandt", "Castellan", "Dufresne", "Eklund", "Falkner", "Grieve", "Holm",
    "Ivers", "Janssen", "Kovacic", "Lindqvist", "Morrow", "Nakashima", "Okafor", "Pellow",
    "Quarles", "Rasmussen", "Szabo", "Tennant", "Umberg", "Varga", "Whitlock", "Yilmaz",
    "Zander", "Calder", "Marlow", "Ashby", "Brennecke", "Corrigan", "Delacroix", "Ebner",
    "Fairbairn", "Gallo", "Hargreave", "Ilves", "Jurado", "Kettering", "Lomax", "Mbeki",
)
TOWNS = (
    "Varnholm", "Lisk", "Brenmouth", "Calder", "Ostrin", "Pellow", "Marlow", "Holm", "Tarrow",
    "Quillan", "Redgate", "Sollen", "Umbria Falls", "Port Amble", "New Tarrow", "San Velo",
    "Kessel", "Drummore", "Elbury", "Fennick", "Gorsby", "Harrowgate", "Ivel", "Jessop Bay",
    "Kildare Cross", "Lowmoor", "Millbrook", "Northam", "Oakridge", "Pennick",
)
# A country and its people (MISC in CoNLL-2003).
COUNTRIES = (
    ("Belmaria", "Belmarian"), ("Karesh", "Kareshi"), ("Osterland", "Osterlandic"),
    ("Vandria", "Vandrian"), ("Tarvonia", "Tarvonian"), ("Lusk", "Luskan"),
    ("Meridia", "Meridian"), ("Quorvia", "Quorvian"), ("Sarnia", "Sarnian"),
    ("Elbonia", "Elbonian"), ("Galdor", "Galdorian"), ("Pravia", "Pravian"),
)
ORG_NAMES = (
    "Norvale", "Kestrel", "Ambergate", "Tidewell", "Corvan", "Halden", "Brightwater", "Ironbridge",
    "Lumen", "Greywood", "Stellan", "Orchard", "Redfern", "Silverline", "Northgate", "Blackmoor",
    "Westbury", "Crestmont", "Halvard", "Pinecrest",
)
ORG_SUFFIXES = (
    "Bank", "Motors", "Holdings", "Group", "Airlines", "Telecom", "FC", "United", "Mining",
    "Energy", "Press", "Foods", "Insurance", "Rovers",
)
EVENTS = (
    "Harbour Cup", "Spring Open", "Grand Regatta", "Nations League", "Winter Games",
    "Coastal Marathon", "Golden Racket", "Summit Rally", "Autumn Classic", "Iron Trophy",
)
DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
# fmt: on

# News-style templates, CoNLL-2003's tokenisation (punctuation and "'s" are tokens of their own).
# Slots: {PER} {ORG} {LOC} (entities), {NAT} {EVENT} (MISC entities), {NUM} {DAY} {YEAR}.
NER_TEMPLATES = (
    "{PER} , the chairman of {ORG} , said on {DAY} that profits rose {NUM} percent .",
    "{ORG} shares fell {NUM} percent in {LOC} on {DAY} .",
    "{PER} scored twice as {ORG} beat {ORG} {NUM} - {NUM} in the {EVENT} .",
    "The {NAT} foreign minister , {PER} , arrived in {LOC} for talks on {DAY} .",
    "{LOC} {YEAR}-08-{NUM}",
    "{PER} ( {LOC} ) {NUM} {NUM} {NUM}",
    "Police in {LOC} said {PER} was arrested on {DAY} .",
    "{ORG} said it would build a new plant near {LOC} .",
    "{PER} told reporters in {LOC} that {ORG} had no plans to sell .",
    "{NAT} troops crossed into {LOC} , {ORG} reported .",
    "{PER} won the {EVENT} in {LOC} for the second time .",
    "Analysts at {ORG} expect the {NAT} economy to grow {NUM} percent .",
    "{PER} , who joined {ORG} in {YEAR} , will replace {PER} .",
    "It was the first {NAT} victory over {LOC} since {YEAR} .",
    "{LOC} beat {LOC} {NUM} - {NUM} in a friendly on {DAY} .",
    "Talks between {ORG} and {ORG} ended without agreement in {LOC} .",
    "{PER} said the {NAT} team would travel to {LOC} next week .",
    "{LOC} 's {NAT} community welcomed {PER} on {DAY} .",
    "{ORG} named {PER} as its new chief executive .",
    "{PER} of {LOC} finished second behind {PER} .",
    "The {EVENT} was postponed after heavy rain in {LOC} .",
    "A spokesman for {ORG} declined to comment .",
    "{PER} met {PER} in {LOC} to discuss the {EVENT} .",
    "The market closed higher on {DAY} after a quiet session .",
    "Trading was thin ahead of the holiday , dealers said .",
    "{ORG} bought a {NUM} percent stake in {ORG} for {NUM} million .",
    "{PER} , a {NAT} citizen , was born in {LOC} in {YEAR} .",
    "{NAT} and {NAT} officials will meet in {LOC} on {DAY} .",
)


@dataclass(frozen=True)
class _Lexicon:
    """The word lists one split draws its names from."""

    first: tuple[str, ...]
    surnames: tuple[str, ...]
    towns: tuple[str, ...]
    countries: tuple[tuple[str, str], ...]
    orgs: tuple[str, ...]
    events: tuple[str, ...]


def _lexicon(split: str, unseen_share: float) -> _Lexicon:
    """The word lists of a split: all of them, but in train without every
    `1 / unseen_share`-th entry of each list when `unseen_share` is not 0."""

    def keep(items: Sequence[Any]) -> tuple[Any, ...]:
        if split != "train" or not unseen_share:
            return tuple(items)
        step = round(1 / unseen_share)
        return tuple(x for i, x in enumerate(items) if i % step != step - 1)

    return _Lexicon(
        keep(FIRST_NAMES),
        keep(SURNAMES),
        keep(TOWNS),
        keep(COUNTRIES),
        keep(ORG_NAMES),
        keep(EVENTS),
    )


def _entity(slot: str, lex: _Lexicon, rng: random.Random) -> list[str]:
    """The words of one made-up entity for a template slot (PER, ORG, LOC, NAT or EVENT)."""
    roll = rng.random()
    if slot == "PER":
        name = [rng.choice(lex.first), rng.choice(lex.surnames)]
        return name if roll < 0.6 else name[1:]
    if slot == "ORG":
        if roll < 0.15:
            return ["".join(rng.choice(string.ascii_uppercase) for _ in range(3))]
        base = rng.choice(lex.orgs)
        return [base] if roll < 0.3 else [base, rng.choice(ORG_SUFFIXES)]
    if slot == "LOC":
        place = rng.choice(lex.towns) if roll < 0.6 else rng.choice(lex.countries)[0]
        return place.split()
    if slot == "NAT":
        return [rng.choice(lex.countries)[1]]
    return rng.choice(lex.events).split()


# The CoNLL-2003 type of each entity slot.
ENTITY_SLOTS = {"PER": "PER", "ORG": "ORG", "LOC": "LOC", "NAT": "MISC", "EVENT": "MISC"}


def _ner_sentence(lex: _Lexicon, rng: random.Random) -> tuple[list[str], list[int]]:
    """One templated sentence as (tokens, IOB2 tag ids)."""
    tokens: list[str] = []
    tags: list[int] = []
    for word in rng.choice(NER_TEMPLATES).split():
        slot = re.fullmatch(r"\{(\w+)\}(.*)", word)
        if slot is None:
            tokens.append(word)
            tags.append(0)
            continue
        name, rest = slot.groups()
        if name in ENTITY_SLOTS:
            words, kind = _entity(name, lex, rng), ENTITY_SLOTS[name]
            tokens += words
            tags += [NER_TAGS.index(f"B-{kind}")] + [NER_TAGS.index(f"I-{kind}")] * (len(words) - 1)
            continue
        if name == "NUM":
            text = str(rng.randint(2, 40))
        elif name == "DAY":
            text = rng.choice(DAYS)
        else:
            text = str(rng.randint(1950, 2025))
        tokens.append(re.sub(r"\{\w+\}", lambda _: str(rng.randint(10, 28)), text + rest))
        tags.append(0)
    return tokens, tags


NerRow = dict[str, Any]


def ner_splits(recipe: SpanRecipe = SPAN_RECIPE) -> dict[str, list[NerRow]]:
    """The rows of `demo/ner-news` per split: `{"id", "tokens", "ner_tags"}`; no sentence appears
    in two splits, ids count from 0 in each split as CoNLL-2003's do. Deterministic.
    """
    rng = random.Random(recipe.seed)
    seen: set[tuple[str, ...]] = set()
    out: dict[str, list[NerRow]] = {}
    for split, size in zip(NER_SPLITS, recipe.ner_sizes, strict=True):
        lex = _lexicon(split, recipe.ner_unseen_share)
        rows: list[NerRow] = []
        while len(rows) < size:
            tokens, tags = _ner_sentence(lex, rng)
            if tuple(tokens) in seen:
                continue
            seen.add(tuple(tokens))
            rows.append({"id": str(len(rows)), "tokens": tokens, "ner_tags": tags})
        out[split] = rows
    return out


# --------------------------------------------------------------------------------------------
# Extractive QA: short biographies of two made-up people, questions about either.
# --------------------------------------------------------------------------------------------

# Facts as sentences with slots; each fact is stated once per context, in one of its wordings.
# Slots: P and Q (the two people), R (P's spouse), O (P's company), C1..C4 towns, Y1..Y5 years,
# N1 (employees), N2 (books).
FACTS: dict[str, tuple[str, ...]] = {
    "p_born": ("{P} was born in {C1} in {Y1}.", "Born in {C1} in {Y1}, {P} grew up by the sea."),
    "q_born": ("{Q} was born in {C2} in {Y2}.", "{Q}, born in {C2} in {Y2}, was a cousin of {P}."),
    "founded": (
        "In {Y3}, {P} founded {O}, which had {N1} employees by {Y4}.",
        "{P} founded {O} in {Y3}; by {Y4} the company had {N1} employees.",
    ),
    "joined": (
        "{Q} joined {O} in {Y5} and later moved to {C3}.",
        "After joining {O} in {Y5}, {Q} moved to {C3}.",
    ),
    "books": (
        "{P} wrote {N2} books and married {R} in {C4}.",
        "{P} married {R} in {C4} and went on to write {N2} books.",
    ),
}

# (question words, question templates, the fact that answers it, the answer's slot)
QUESTIONS: tuple[tuple[str, tuple[str, ...], str, str], ...] = (
    ("where", ("Where was {P} born?", "In which town was {P} born?"), "p_born", "C1"),
    ("when", ("When was {P} born?", "In what year was {P} born?"), "p_born", "Y1"),
    ("where", ("Where was {Q} born?",), "q_born", "C2"),
    ("when", ("When was {Q} born?",), "q_born", "Y2"),
    ("when", ("When did {P} found {O}?", "In which year was {O} founded?"), "founded", "Y3"),
    ("who", ("Who founded {O}?",), "founded", "P"),
    ("what", ("What company did {P} found?", "What did {P} found in {Y3}?"), "founded", "O"),
    ("how many", ("How many employees did {O} have by {Y4}?",), "founded", "N1"),
    ("when", ("When did {Q} join {O}?",), "joined", "Y5"),
    ("where", ("Where did {Q} move to?", "Where did {Q} move after joining {O}?"), "joined", "C3"),
    ("how many", ("How many books did {P} write?",), "books", "N2"),
    ("who", ("Who did {P} marry?", "Whom did {P} marry?"), "books", "R"),
    ("where", ("Where did {P} marry {R}?",), "books", "C4"),
)

# Questions no context here answers (SQuAD 2.0's unanswerable questions): they ask about facts
# of the same kinds that the biographies never state.
UNANSWERABLE = (
    "Where did {P} die?",
    "When did {Q} leave {O}?",
    "How many children did {Q} have?",
    "Who founded {C1}?",
    "What company did {Q} found?",
    "When did {R} move to {C3}?",
    "How many books did {Q} write?",
)


def _render(template: str, slots: dict[str, str]) -> tuple[str, dict[str, int]]:
    """`template` with its slots filled, and the offset of each filled slot in the result."""
    text, offsets = "", dict[str, int]()
    for piece in re.split(r"(\{\w+\})", template):
        name = piece[1:-1] if piece.startswith("{") else None
        if name is None:
            text += piece
            continue
        offsets.setdefault(name, len(text))
        text += slots[name]
    return text, offsets


def _qa_slots(lex: _Lexicon, rng: random.Random) -> dict[str, str]:
    """The people, places, years and numbers of one biography, no two alike."""
    firsts = rng.sample(lex.first, 3)
    last = rng.sample(lex.surnames, 3)
    towns = rng.sample(lex.towns, 4)
    years = sorted(rng.sample([str(y) for y in range(1920, 2021)], 5))
    numbers = rng.sample([str(n) for n in range(2, 400)], 2)
    org = f"{rng.choice(lex.orgs)} {rng.choice(ORG_SUFFIXES)}"
    return {
        "P": f"{firsts[0]} {last[0]}",
        "Q": f"{firsts[1]} {last[1]}",
        "R": f"{firsts[2]} {last[2]}",
        "O": org,
        **{f"C{i + 1}": t for i, t in enumerate(towns)},
        "Y1": years[0],
        "Y2": years[1],
        "Y3": years[2],
        "Y4": years[4],
        "Y5": years[3],
        "N1": numbers[0],
        "N2": numbers[1],
    }


def _alternatives(
    slot: str, slots: dict[str, str], start: int, context: str
) -> list[tuple[str, int]]:
    """Other answers a reader would accept, as SQuAD's validation lists them: a person's
    surname alone, a number with the noun after it."""
    answer = slots[slot]
    if slot in ("P", "Q", "R"):
        surname = answer.split()[-1]
        return [(surname, start + len(answer) - len(surname))]
    if slot in ("N1", "N2"):
        noun = re.match(r" (\w+)", context[start + len(answer) :])
        if noun:
            return [(answer + noun.group(0), start)]
    return []


QaRow = dict[str, Any]


def _qa_rows(
    slots: dict[str, str],
    rng: random.Random,
    *,
    n_facts: int,
    n_questions: int,
    alternatives: bool,
) -> list[QaRow]:
    """The rows (questions, without ids) of the biography of `slots`."""
    facts = rng.sample(list(FACTS), n_facts)
    context, starts = "", {}
    for fact in facts:
        sentence, offsets = _render(rng.choice(FACTS[fact]), slots)
        shift = len(context) + 1 if context else 0
        starts[fact] = {name: shift + offset for name, offset in offsets.items()}
        context = f"{context} {sentence}" if context else sentence
    rows = []
    askable = [q for q in QUESTIONS if q[2] in facts]
    for _, templates, fact, slot in rng.sample(askable, min(n_questions, len(askable))):
        start = starts[fact][slot]
        answers = [(slots[slot], start)]
        if alternatives:
            answers += _alternatives(slot, slots, start, context)
        rows.append(
            {
                "title": slots["P"].replace(" ", "_"),
                "context": context,
                "question": _render(rng.choice(templates), slots)[0],
                "answers": {
                    "text": [text for text, _ in answers],
                    "answer_start": [s for _, s in answers],
                },
            }
        )
    return rows


def _squad_id(split: str, index: int, seed: int) -> str:
    """A 24-hex-digit id, the form SQuAD's ids have."""
    return hashlib.sha1(f"{seed}-{split}-{index}".encode()).hexdigest()[:24]


def _biographies(recipe: SpanRecipe) -> dict[str, list[tuple[dict[str, str], list[QaRow]]]]:
    """Per split, each biography's slots and its rows (without ids)."""
    rng = random.Random(recipe.seed + 1)
    out: dict[str, list[tuple[dict[str, str], list[QaRow]]]] = {}
    for split, contexts in zip(QA_SPLITS, recipe.qa_contexts, strict=True):
        lex = _lexicon(split, 0.0)  # new combinations of known names, not new names
        out[split] = []
        for _ in range(contexts):
            slots = _qa_slots(lex, rng)
            rows = _qa_rows(
                slots,
                rng,
                n_facts=recipe.qa_facts_per_context,
                n_questions=recipe.qa_questions_per_context,
                alternatives=split != "train",
            )
            out[split].append((slots, rows))
    return out


def qa_splits(recipe: SpanRecipe = SPAN_RECIPE) -> dict[str, list[QaRow]]:
    """The rows of `demo/qa-facts` per split: `{"id", "title", "context", "question", "answers"}`.

    Train rows have one answer; validation rows list the answer and, where there is one, another
    accepted form of it (SQuAD's validation lists several). Deterministic.

    Example:
        >>> row = qa_splits()["validation"][0]
        >>> start = row["answers"]["answer_start"][0]
        >>> row["context"][start : start + len(row["answers"]["text"][0])] == row["answers"]["text"][0]
        True
    """
    out: dict[str, list[QaRow]] = {}
    for split, biographies in _biographies(recipe).items():
        rows = [row for _, rows in biographies for row in rows]
        out[split] = [{"id": _squad_id(split, i, recipe.seed), **r} for i, r in enumerate(rows)]
    return out


def qa_v2_splits(recipe: SpanRecipe = SPAN_RECIPE) -> dict[str, list[QaRow]]:
    """The rows of `demo/qa-facts-v2`: those of `qa_splits` (new ids), with
    `recipe.unanswerable_share` of each split's questions replaced by one about the same people
    that their context does not answer (`answers` = `{"text": [], "answer_start": []}`)."""
    rng = random.Random(recipe.seed + 2)
    out: dict[str, list[QaRow]] = {}
    for split, biographies in _biographies(recipe).items():
        rows = [(slots, row) for slots, rows in biographies for row in rows]
        chosen = set(rng.sample(range(len(rows)), round(len(rows) * recipe.unanswerable_share)))
        out[split] = []
        asked: dict[str, set[str]] = {}  # per context: no unanswerable question twice
        for i, (slots, row) in enumerate(rows):
            if i in chosen:
                used = asked.setdefault(row["context"], set())
                template = rng.choice([q for q in UNANSWERABLE if q not in used])
                used.add(template)
                question = _render(template, slots)[0]
                row = {**row, "question": question, "answers": {"text": [], "answer_start": []}}
            out[split].append({"id": _squad_id(f"{split}-v2", i, recipe.seed), **row})
    return out


# --------------------------------------------------------------------------------------------
# Measuring, the way the world measured its span models
# --------------------------------------------------------------------------------------------


def entities(tags: Sequence[str]) -> set[tuple[str, int, int]]:
    """The entities of an IOB2 tag sequence as (type, first word, end word); an I- tag that does
    not continue an entity of its type starts one (as seqeval reads IOB2 by default).

    Example:
        >>> sorted(entities(["B-PER", "I-PER", "O", "I-LOC"]))
        [('LOC', 3, 4), ('PER', 0, 2)]
    """
    found: set[tuple[str, int, int]] = set()
    kind, start = None, 0
    for i, tag in enumerate([*tags, "O"]):
        prefix, _, name = tag.partition("-")
        if kind is not None and (prefix != "I" or name != kind):
            found.add((kind, start, i))
            kind = None
        if kind is None and prefix in ("B", "I"):
            kind, start = name, i
    return found


def entity_f1(gold: Sequence[Sequence[str]], predicted: Sequence[Sequence[str]]) -> float:
    """Micro F1 over exactly matching entities of all sentences (seqeval's default), rounded
    to 6 digits; 0.0 when neither side has an entity."""
    hits = n_gold = n_pred = 0
    for g, p in zip(gold, predicted, strict=True):
        g_set, p_set = entities(g), entities(p)
        hits += len(g_set & p_set)
        n_gold += len(g_set)
        n_pred += len(p_set)
    return round(2 * hits / (n_gold + n_pred), 6) if n_gold + n_pred else 0.0


def tags_from_groups(tokens: Sequence[str], groups: Sequence[dict[str, Any]]) -> list[str]:
    """IOB2 tags of `tokens` from the entity groups that an aggregating token-classification
    pipeline returned for them (`is_split_into_words=True`, words joined by single spaces)."""
    starts, offset = [], 0
    for token in tokens:
        starts.append(offset)
        offset += len(token) + 1
    tags = ["O"] * len(tokens)
    for group in groups:
        words = [i for i, s in enumerate(starts) if group["start"] <= s < group["end"]]
        for n, i in enumerate(words):
            tags[i] = f"{'I' if n else 'B'}-{group['entity_group']}"
    return tags


def ner_pipeline_f1(classifier: Any, rows: Sequence[NerRow]) -> float:
    """Entity F1 of a `pipeline("token-classification", aggregation_strategy="first")` on rows
    of `demo/ner-news`, each sentence given as its words (`is_split_into_words=True`).

    Example:
        >>> classifier = pipeline("token-classification", model="demo/tiny-ner",
        ...                       aggregation_strategy="first")
        >>> ner_pipeline_f1(classifier, ner_splits()["test"])
        0.761097
    """
    sentences = [list(r["tokens"]) for r in rows]
    outputs = classifier(sentences, is_split_into_words=True, batch_size=64)
    predicted = [tags_from_groups(s, groups) for s, groups in zip(sentences, outputs, strict=True)]
    gold = [[NER_TAGS[t] for t in r["ner_tags"]] for r in rows]
    return entity_f1(gold, predicted)


def qa_answers(
    model: Any,
    tokenizer: Any,
    questions: Sequence[str],
    contexts: Sequence[str],
    *,
    max_length: int = 384,
    stride: int = 128,
    max_answer_tokens: int = 30,
    batch_size: int = 64,
) -> list[str]:
    """The best answer span of an extractive-QA model for each (question, context), the way the
    world measured its QA model (transformers 5 has no question-answering pipeline): contexts
    longer than `max_length` are read in windows overlapping by `stride` tokens, and the answer
    is the context span (at most `max_answer_tokens` long, start before end) of highest start
    plus end logit over all windows, cut from the context by the tokenizer's offsets.

    Example:
        >>> qa_answers(model, tokenizer, ["Who founded Kestrel Motors?"],
        ...            ["In 1990, Ada Holm founded Kestrel Motors."])
        ['Ada Holm']
    """
    import torch

    encodings = tokenizer(
        list(questions),
        list(contexts),
        truncation="only_second",
        max_length=max_length,
        stride=stride,
        return_overflowing_tokens=True,
        return_offsets_mapping=True,
    )
    best: dict[int, tuple[float, str]] = {}
    inputs = [k for k in encodings if k not in ("offset_mapping", "overflow_to_sample_mapping")]
    model.eval()
    for first in range(0, len(encodings["input_ids"]), batch_size):
        rows = list(range(first, min(first + batch_size, len(encodings["input_ids"]))))
        batch = _collate(
            [{k: encodings[k][i] for k in inputs} for i in rows], tokenizer.pad_token_id
        )
        with torch.no_grad():
            out = model(**batch)
        for n, i in enumerate(rows):
            example = encodings["overflow_to_sample_mapping"][i]
            context_tokens = [j for j, s in enumerate(encodings.sequence_ids(i)) if s == 1]
            lo, hi = context_tokens[0], context_tokens[-1]
            start_logits = out.start_logits[n, lo : hi + 1]
            end_logits = out.end_logits[n, lo : hi + 1]
            scores = start_logits[:, None] + end_logits[None, :]
            width = scores.shape[0]
            allowed = torch.ones(width, width, dtype=torch.bool).triu().tril(max_answer_tokens - 1)
            flat = int(scores.masked_fill(~allowed, float("-inf")).argmax())
            start, end = lo + flat // width, lo + flat % width
            score = float(scores.flatten()[flat])
            if example not in best or score > best[example][0]:
                offsets = encodings["offset_mapping"][i]
                text = contexts[example][offsets[start][0] : offsets[end][1]]
                best[example] = (score, text)
    return [best[i][1] for i in range(len(questions))]


def normalize_answer(text: str) -> str:
    """SQuAD's answer normalisation: lower case, no punctuation, no articles, single spaces."""
    text = "".join(c for c in text.lower() if c not in string.punctuation)
    return " ".join(re.sub(r"\b(a|an|the)\b", " ", text).split())


def exact_match(model: Any, tokenizer: Any, rows: Sequence[QaRow]) -> float:
    """SQuAD's exact match (as a fraction, rounded to 6 digits) of an extractive-QA model on the
    answerable rows: the share whose `qa_answers` answer equals an accepted answer after
    `normalize_answer`.

    Example:
        >>> exact_match(model, tokenizer, qa_splits()["validation"])
        0.49

    Raises:
        ValueError: no row has an answer.
    """
    rows = [r for r in rows if r["answers"]["text"]]
    if not rows:
        raise ValueError("exact match needs at least one question with an answer; got none")
    answers = qa_answers(
        model, tokenizer, [r["question"] for r in rows], [r["context"] for r in rows]
    )
    hits = sum(
        normalize_answer(answer) in {normalize_answer(t) for t in r["answers"]["text"]}
        for answer, r in zip(answers, rows, strict=True)
    )
    return round(hits / len(rows), 6)


# --------------------------------------------------------------------------------------------
# Training
# --------------------------------------------------------------------------------------------

_PAD_VALUES = {"labels": -100, "attention_mask": 0, "token_type_ids": 0}


def _collate(features: Sequence[dict[str, Any]], pad_id: int) -> dict[str, torch.Tensor]:
    """Pads the list-valued keys of `features` to their longest (labels with -100)."""
    import torch

    batch = {}
    for key in features[0]:
        values = [f[key] for f in features]
        if isinstance(values[0], list):
            width = max(len(v) for v in values)
            pad = _PAD_VALUES.get(key, pad_id)
            values = [v + [pad] * (width - len(v)) for v in values]
        batch[key] = torch.tensor(values)
    return batch


def _fit(model: Any, features: list[dict[str, Any]], pad_id: int, params: SpanTrainParams) -> None:
    """Trains `model` on ready features (each a dict of model inputs and targets)."""
    import torch

    torch.manual_seed(params.seed)
    named = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    decay = [p for n, p in named if p.ndim > 1 and "LayerNorm" not in n]
    rest = [p for n, p in named if not (p.ndim > 1 and "LayerNorm" not in n)]
    optimizer = torch.optim.AdamW(
        [
            {"params": decay, "weight_decay": params.weight_decay},
            {"params": rest, "weight_decay": 0.0},
        ],
        lr=params.lr,
        fused=True,  # one kernel for all parameters: the 30K-word embedding makes it worth it
    )
    steps = params.epochs * -(-len(features) // params.batch_size)
    warmup = max(1, int(steps * params.warmup_ratio))
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: min((s + 1) / warmup, max(0.0, (steps - s) / (steps - warmup)))
    )
    generator = torch.Generator().manual_seed(params.seed)
    model.train()
    for _ in range(params.epochs):
        for rows in torch.randperm(len(features), generator=generator).split(params.batch_size):
            batch = _collate([features[i] for i in rows.tolist()], pad_id)
            loss = model(**batch).loss
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad()
    model.eval()


def _ner_features(tokenizer: Any, rows: Sequence[NerRow]) -> list[dict[str, Any]]:
    """Model inputs of NER rows, each word's tag on its first sub-token (-100 elsewhere)."""
    encodings = tokenizer([r["tokens"] for r in rows], is_split_into_words=True)
    features = []
    for i, row in enumerate(rows):
        labels, previous = [], None
        for word in encodings.word_ids(i):
            labels.append(-100 if word is None or word == previous else row["ner_tags"][word])
            previous = word
        features.append({**{k: encodings[k][i] for k in encodings}, "labels": labels})
    return features


def _qa_features(tokenizer: Any, rows: Sequence[QaRow], max_length: int) -> list[dict[str, Any]]:
    """Model inputs of QA rows with the first answer's token span as start and end positions."""
    encodings = tokenizer(
        [r["question"] for r in rows],
        [r["context"] for r in rows],
        truncation="only_second",
        max_length=max_length,
        return_offsets_mapping=True,
    )
    features = []
    for i, row in enumerate(rows):
        first = row["answers"]["answer_start"][0]
        last = first + len(row["answers"]["text"][0])
        in_context = [j for j, s in enumerate(encodings.sequence_ids(i)) if s == 1]
        offsets = encodings["offset_mapping"][i]
        start = next(j for j in in_context if offsets[j][0] <= first < offsets[j][1])
        end = next(j for j in in_context if offsets[j][0] < last <= offsets[j][1])
        inputs = {k: encodings[k][i] for k in encodings if k != "offset_mapping"}
        features.append({**inputs, "start_positions": start, "end_positions": end})
    return features


def _bert_config(tokenizer: Any, recipe: SpanRecipe, **labels: Any) -> Any:
    from transformers import BertConfig

    return BertConfig(
        vocab_size=len(tokenizer),
        hidden_size=recipe.hidden,
        num_hidden_layers=recipe.layers,
        num_attention_heads=recipe.heads,
        intermediate_size=recipe.intermediate,
        hidden_dropout_prob=0.0,
        attention_probs_dropout_prob=0.0,
        pad_token_id=tokenizer.pad_token_id,
        **labels,
    )


# --------------------------------------------------------------------------------------------
# Dataset repos
# --------------------------------------------------------------------------------------------

_QA_FEATURES_YAML: list[dict[str, Any]] = [
    {"name": "id", "dtype": "string"},
    {"name": "title", "dtype": "string"},
    {"name": "context", "dtype": "string"},
    {"name": "question", "dtype": "string"},
    {
        "name": "answers",
        "sequence": [
            {"name": "text", "dtype": "string"},
            {"name": "answer_start", "dtype": "int32"},
        ],
    },
]


def _card_meta(
    *,
    pretty_name: str,
    task: str,
    task_id: str,
    config: str,
    features: list[dict[str, Any]],
    stats: dict[str, Any],
    eval_index: dict[str, Any],
) -> dict[str, Any]:
    """A dataset card's YAML: Hub metadata, Evaluation on the Hub's `train-eval-index`, the
    features and sizes as `datasets` declares them (`stats` from `_write_parquet`), and the
    parquet files of the one config."""
    return {
        "language": ["en"],
        "license": "cc-by-4.0",
        "pretty_name": pretty_name,
        "size_categories": ["1K<n<10K"],
        "task_categories": [task],
        "task_ids": [task_id],
        "tags": ["synthetic"],
        "train-eval-index": [{"config": config, **eval_index}],
        "dataset_info": {
            "config_name": config,
            "features": features,
            **stats,
        },
        "configs": [
            {
                "config_name": config,
                "data_files": [
                    {"split": s["name"], "path": f"{_folder(config)}/{s['name']}-*"}
                    for s in stats["splits"]
                ],
                "default": True,
            }
        ],
    }


def _folder(config: str) -> str:
    """The folder of a config's parquet files, as the Hub's parquet conversion names it."""
    return "data" if config == "default" else config


def _ner_card(splits: dict[str, list[NerRow]], stats: dict[str, Any]) -> str:
    sizes = {s: len(rows) for s, rows in splits.items()}
    meta = _card_meta(
        pretty_name="NER news (evalbot synthetic, CoNLL-2003 schema)",
        task="token-classification",
        task_id="named-entity-recognition",
        config=NER_CONFIG,
        features=[
            {"name": "id", "dtype": "string"},
            {"name": "tokens", "sequence": "string"},
            {
                "name": "ner_tags",
                "sequence": {"class_label": {"names": {str(i): n for i, n in enumerate(NER_TAGS)}}},
            },
        ],
        stats=stats,
        eval_index={
            "task": "token-classification",
            "task_id": "entity_extraction",
            "splits": {"train_split": "train", "eval_split": "test"},
            "col_mapping": {"tokens": "tokens", "ner_tags": "tags"},
            "metrics": [{"type": "seqeval", "name": "seqeval"}],
        },
    )
    front = yaml.safe_dump(meta, sort_keys=False, allow_unicode=True)
    return f"""---
{front}---

# NER news (synthetic)

Named-entity recognition on short news-style English sentences, in the schema of
[conll2003](https://huggingface.co/datasets/conll2003), generated by evalbot
(`sandbox/world_spans.py`) for its demo and tests. Every name in it is made up: people, companies,
towns, countries and their peoples, sports events. Sizes: {", ".join(f"{n} {s}" for s, n in sizes.items())}.

A quarter of each list of names never appears in train, and some surnames are also town names,
so a tagger meets names it has not seen and words whose type depends on context.

## Dataset structure

- `id` (string): the sentence's number in its split.
- `tokens` (list of strings): the words, punctuation and "'s" split off as CoNLL-2003 does.
- `ner_tags` (list of class labels): one IOB2 tag per token, CoNLL-2003's names and order:
  {", ".join(f"{i} = {n}" for i, n in enumerate(NER_TAGS))}.

Results on this dataset are not results on CoNLL-2003.
"""


def _qa_card(
    splits: dict[str, list[QaRow]], stats: dict[str, Any], *, v2: bool, unanswerable_share: float
) -> str:
    sizes = {s: len(rows) for s, rows in splits.items()}
    metric = {"type": "squad_v2", "name": "SQuAD v2"} if v2 else {"type": "squad", "name": "SQuAD"}
    meta = _card_meta(
        pretty_name="QA facts" + (" v2" if v2 else "") + " (evalbot synthetic, SQuAD schema)",
        task="question-answering",
        task_id="extractive-qa",
        config=QA_V2_CONFIG if v2 else QA_CONFIG,
        features=_QA_FEATURES_YAML,
        stats=stats,
        eval_index={
            "task": "question-answering",
            "task_id": "extractive_question_answering",
            "splits": {"train_split": "train", "eval_split": "validation"},
            "col_mapping": {
                "question": "question",
                "context": "context",
                "answers": {"text": "text", "answer_start": "answer_start"},
            },
            "metrics": [metric],
        },
    )
    front = yaml.safe_dump(meta, sort_keys=False, allow_unicode=True)
    name, like = ("QA facts v2", "squad_v2") if v2 else ("QA facts", "squad")
    unanswerable = (
        f"\n{unanswerable_share:.0%} of the questions of each split ask what the context"
        " does not say; their `answers` lists are empty, as SQuAD 2.0's are.\n"
        if v2
        else ""
    )
    return f"""---
{front}---

# {name} (synthetic)

Extractive question answering in the schema of [{like}](https://huggingface.co/datasets/{like}),
generated by evalbot (`sandbox/world_spans.py`) for its demo and tests: short biographies of
made-up people (where and when they were born, the companies they founded or joined, the books
they wrote, whom they married) and who/what/when/where/how-many questions about them, each
answered by a span of the context. Sizes: {", ".join(f"{n} {s}" for s, n in sizes.items())} questions.
{unanswerable}
## Dataset structure

- `id` (string), `title` (string: the biography's main person), `context` (string),
  `question` (string).
- `answers`: `text` (list of strings) and `answer_start` (list of int32, character offsets in
  `context`). Train lists one answer; validation may list a second accepted form of it (a
  surname alone, a number with its noun), as SQuAD's validation lists several.

Results on this dataset are not results on SQuAD.
"""


def _write_parquet(
    path: Path, config: str, splits: dict[str, list[Any]], features: Any
) -> dict[str, Any]:
    """Writes one parquet file per split; returns the sizes a card's `dataset_info` declares
    (`splits` with `num_bytes` in Arrow and `num_examples`, `download_size`, `dataset_size`)."""
    from datasets import Dataset

    stats: dict[str, Any] = {"splits": [], "download_size": 0, "dataset_size": 0}
    for split, rows in splits.items():
        columns = {name: [row[name] for row in rows] for name in features}
        dataset = Dataset.from_dict(columns, features=features)
        file = path / _folder(config) / f"{split}-00000-of-00001.parquet"
        dataset.to_parquet(str(file))
        size = dataset.data.nbytes
        stats["splits"].append({"name": split, "num_bytes": size, "num_examples": len(rows)})
        stats["download_size"] += file.stat().st_size
        stats["dataset_size"] += size
    return stats


def _write_datasets(root: Path, recipe: SpanRecipe) -> tuple[DatasetSpec, ...]:
    from datasets import ClassLabel, Features, List, Value

    from sandbox.world import DatasetSpec

    ner_features = Features(
        {
            "id": Value("string"),
            "tokens": List(Value("string")),
            "ner_tags": List(ClassLabel(names=list(NER_TAGS))),
        }
    )
    qa_features = Features(
        {
            "id": Value("string"),
            "title": Value("string"),
            "context": Value("string"),
            "question": Value("string"),
            "answers": {"text": List(Value("string")), "answer_start": List(Value("int32"))},
        }
    )
    ner, qa, qa_v2 = ner_splits(recipe), qa_splits(recipe), qa_v2_splits(recipe)
    share = recipe.unanswerable_share
    specs = []
    for repo_id, config, splits, features in (
        (NER_ID, NER_CONFIG, ner, ner_features),
        (QA_ID, QA_CONFIG, qa, qa_features),
        (QA_V2_ID, QA_V2_CONFIG, qa_v2, qa_features),
    ):
        path = root / "datasets" / repo_id
        stats = _write_parquet(path, config, splits, features)
        if repo_id == NER_ID:
            card = _ner_card(splits, stats)
        else:
            card = _qa_card(splits, stats, v2=repo_id == QA_V2_ID, unanswerable_share=share)
        (path / "README.md").write_text(card, encoding="utf-8")
        specs.append(DatasetSpec(repo_id, path))
    return tuple(specs)


# --------------------------------------------------------------------------------------------
# Model repos
# --------------------------------------------------------------------------------------------


def _model_card(card_data: Any, body: str) -> str:
    return f"---\n{card_data.to_yaml()}\n---\n\n{body.strip()}\n"


def _training_line(params: SpanTrainParams, n_train: int, recipe: SpanRecipe) -> str:
    return (
        f"Trained from scratch on {n_train} training examples on CPU with PyTorch: {recipe.layers}"
        f" layers, hidden size {recipe.hidden}, {recipe.heads} attention heads, no dropout; AdamW"
        f" (learning rate {params.lr}, weight decay {params.weight_decay}), batch size"
        f" {params.batch_size}, {params.epochs} epochs, linear warmup ({params.warmup_ratio}) and"
        f" decay, seed {params.seed}. The tokenizer is all-MiniLM-L6-v2's (uncased WordPiece)."
    )


def _ner_model_card(recipe: SpanRecipe, n_train: int) -> str:
    from huggingface_hub import ModelCardData

    data = ModelCardData(
        language="en",
        license="apache-2.0",
        library_name="transformers",
        pipeline_tag="token-classification",
        datasets=[NER_ID],
        tags=["token-classification", "ner"],
    )
    body = f"""
# tiny-ner

A tiny BERT (`BertForTokenClassification`) that tags people, organisations, locations and
miscellaneous names in English news sentences with CoNLL-2003's IOB2 labels:
{", ".join(NER_TAGS)}. Each word's label is predicted on its first sub-token.

## Training procedure

{_training_line(recipe.ner, n_train, recipe)} Dataset:
[{NER_ID}](https://huggingface.co/datasets/{NER_ID}), train split.

## How to use

```python
from transformers import pipeline

tagger = pipeline("token-classification", model="{NER_MODEL_ID}", aggregation_strategy="first")
tagger("Ada Holm , the chairman of Kestrel Motors , arrived in Port Amble .")
```
"""
    return _model_card(data, body)


def _qa_model_card(recipe: SpanRecipe, n_train: int) -> str:
    from huggingface_hub import ModelCardData

    data = ModelCardData(
        language="en",
        license="apache-2.0",
        library_name="transformers",
        pipeline_tag="question-answering",
        datasets=[QA_ID],
        tags=["question-answering", "extractive-qa"],
    )
    body = f"""
# tiny-qa

A tiny BERT (`BertForQuestionAnswering`) for extractive question answering: given a question
and a context, it scores every context token as the start and the end of the answer.

## Training procedure

{_training_line(recipe.qa, n_train, recipe)} Dataset:
[{QA_ID}](https://huggingface.co/datasets/{QA_ID}), train split.

## How to use

```python
import torch
from transformers import AutoModelForQuestionAnswering, AutoTokenizer

model = AutoModelForQuestionAnswering.from_pretrained("{QA_MODEL_ID}")
tokenizer = AutoTokenizer.from_pretrained("{QA_MODEL_ID}")
question, context = "Who founded Kestrel Motors?", "In 1990, Ada Holm founded Kestrel Motors."
inputs = tokenizer(question, context, return_tensors="pt", return_offsets_mapping=True)
offsets = inputs.pop("offset_mapping")[0]
with torch.no_grad():
    out = model(**inputs)
start, end = int(out.start_logits.argmax()), int(out.end_logits.argmax())
print(context[offsets[start][0] : offsets[end][1]])
```
"""
    return _model_card(data, body)


def _save(model: Any, tokenizer: Any, path: Path, card: str) -> None:
    model.save_pretrained(path)
    tokenizer.save_pretrained(path)
    (path / "README.md").write_text(card, encoding="utf-8")


def _build_ner(
    root: Path, splits: dict[str, list[NerRow]], recipe: SpanRecipe
) -> tuple[ModelSpec, SpanScore]:
    import torch
    from transformers import AutoTokenizer, BertForTokenClassification, pipeline

    from sandbox.world import ModelSpec, minilm_path

    start = time.perf_counter()
    tokenizer = AutoTokenizer.from_pretrained(minilm_path())
    torch.manual_seed(recipe.ner.seed)
    id2label = dict(enumerate(NER_TAGS))
    config = _bert_config(
        tokenizer, recipe, id2label=id2label, label2id={n: i for i, n in id2label.items()}
    )
    model = BertForTokenClassification(config)
    _fit(model, _ner_features(tokenizer, splits["train"]), tokenizer.pad_token_id, recipe.ner)
    seconds = time.perf_counter() - start
    path = root / "models" / NER_MODEL_ID
    _save(model, tokenizer, path, _ner_model_card(recipe, len(splits["train"])))
    # Measured through what was saved, as any user of the repo loads it.
    tagger = pipeline("token-classification", model=str(path), aggregation_strategy="first")
    f1 = ner_pipeline_f1(tagger, splits["test"])
    spec = ModelSpec(NER_MODEL_ID, path, "token classification, CoNLL-2003 IOB2 labels", None)
    return spec, SpanScore("entity_f1", "test", f1, round(seconds, 1))


def _build_qa(
    root: Path, splits: dict[str, list[QaRow]], recipe: SpanRecipe
) -> tuple[ModelSpec, SpanScore]:
    import torch
    from transformers import AutoModelForQuestionAnswering, AutoTokenizer, BertForQuestionAnswering

    from sandbox.world import ModelSpec, minilm_path

    start = time.perf_counter()
    tokenizer = AutoTokenizer.from_pretrained(minilm_path())
    torch.manual_seed(recipe.qa.seed)
    model = BertForQuestionAnswering(_bert_config(tokenizer, recipe))
    features = _qa_features(tokenizer, splits["train"], recipe.qa_max_length)
    _fit(model, features, tokenizer.pad_token_id, recipe.qa)
    seconds = time.perf_counter() - start
    path = root / "models" / QA_MODEL_ID
    _save(model, tokenizer, path, _qa_model_card(recipe, len(splits["train"])))
    em = exact_match(
        AutoModelForQuestionAnswering.from_pretrained(path),
        AutoTokenizer.from_pretrained(path),
        splits["validation"],
    )
    spec = ModelSpec(QA_MODEL_ID, path, "extractive question answering", None)
    return spec, SpanScore("exact_match", "validation", em, round(seconds, 1))


def span_scores(root: Path) -> dict[str, SpanScore]:
    """The scores that `build_spans` measured after training, by model repo id, read from
    `root/spans.json` (FileNotFoundError if the world there was not built with them)."""
    data = json.loads((root / SCORES_FILE).read_text(encoding="utf-8"))
    return {repo_id: SpanScore(**score) for repo_id, score in data.items()}


def build_spans(
    root: Path, recipe: SpanRecipe = SPAN_RECIPE
) -> tuple[tuple[DatasetSpec, ...], tuple[ModelSpec, ...]]:
    """Writes `demo/ner-news`, `demo/qa-facts` and `demo/qa-facts-v2`, trains `demo/tiny-ner`
    and `demo/tiny-qa` under `root`, and records their scores and training seconds in
    `root/spans.json` (`span_scores`).

    Called by `sandbox.world.build_world`, which caches the result and sets torch's thread count
    to `recipe.threads` around this call; about a minute on one CPU core.

    Returns:
        The dataset specs and the model specs, in that order of repo ids.
    """
    datasets = _write_datasets(root, recipe)
    ner_model, ner_score = _build_ner(root, ner_splits(recipe), recipe)
    qa_model, qa_score = _build_qa(root, qa_splits(recipe), recipe)
    scores = {ner_model.repo_id: asdict(ner_score), qa_model.repo_id: asdict(qa_score)}
    (root / SCORES_FILE).write_text(json.dumps(scores, indent=2) + "\n", encoding="utf-8")
    return datasets, (ner_model, qa_model)
