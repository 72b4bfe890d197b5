"""The text-to-text part of the demo world: a SAMSum-shaped summarisation dataset, a WMT-shaped
English→French dataset, and a tiny BART trained here for each.

- `demo/chat-summaries` (config `default`; splits train/validation/test): made-up chat dialogues
  in SAMSum's columns `id` (str), `dialogue` (turns "Name: utterance" joined by "\\r\\n", as
  SAMSum's are) and `summary` (one or two sentences in the third person). Two people arrange a
  meeting, borrow something, share news, cancel a plan, run an errand, run late, look for a lost
  thing or plan a dinner; greetings, fillers and goodbyes that the summary leaves out make the
  dialogues 2 to 8 turns long.
- `demo/phrasebook-en-fr` (config `en-fr`; splits train/validation/test): English sentences and
  their French translations in wmt16's one column `translation` = {"en", "fr"}, made from
  templates and small parallel lexicons so that the French is correct for every template:
  verbs agree with their subject, articles and adjectives with their noun (colour adjectives
  after it, `petit`/`grand` before it), `le`/`la`/`ce`/`ma` elide or change before a vowel,
  `à le` contracts to `au`, negation takes `ne … pas`; one to three clauses joined by
  "and"/"et" make sentences of 3 to 25 words.
- `demo/tiny-summarizer` and `demo/tiny-translator-en-fr`: a tiny `BartForConditionalGeneration`
  (2 encoder and 2 decoder layers) each, with a byte-level BPE vocabulary trained here on the
  train texts (`PreTrainedTokenizerFast`), trained from scratch with teacher forcing. BART's
  conventions hold: the tokenizer wraps every text in `<s> … </s>`, the decoder starts from
  `</s>` and generation forces `<s>` first (`generation_config.json`). Their cards declare the
  dataset and a self-reported model-index (ROUGE in percent, as Trainer cards write it; sacreBLEU
  and chrF on their 0–100 scale) measured on the test split after training, through the files
  saved (`generate_texts`, `rouge_scores`, `bleu_scores`): the claims the bot audits.

Both dataset cards carry the `train-eval-index` that Evaluation on the Hub wrote for samsum and
wmt16. `sandbox.world.build_world` calls `build_text2text`, caches the files and adds the repos
to the `World`; the measured scores are kept in `text2text.json` beside `world.json`
(`text2text_scores`).

Example:
    >>> splits = summary_splits()
    >>> [len(splits[s]) for s in SUMMARY_SPLITS]
    [2000, 200, 200]
    >>> translation_splits()["test"][0]["translation"]  # doctest: +NORMALIZE_WHITESPACE
    {'en': "They wash these broken bags and she eats our cakes at six o'clock.",
     'fr': 'Ils lavent ces sacs cassés et elle mange nos gâteaux à six heures.'}
"""

from __future__ import annotations

import json
import random
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from sandbox.world_spans import _collate, _folder, _write_parquet

if TYPE_CHECKING:
    import torch

    from sandbox.world import DatasetSpec, ModelSpec

SUMMARY_ID = "demo/chat-summaries"
SUMMARY_CONFIG = "default"
SUMMARY_SPLITS = ("train", "validation", "test")
TRANSLATION_ID = "demo/phrasebook-en-fr"
TRANSLATION_CONFIG = "en-fr"
TRANSLATION_SPLITS = ("train", "validation", "test")
SUMMARIZER_ID = "demo/tiny-summarizer"
TRANSLATOR_ID = "demo/tiny-translator-en-fr"
SCORES_FILE = "text2text.json"
TURN_SEPARATOR = "\r\n"  # between the turns of a SAMSum dialogue


@dataclass(frozen=True)
class Seq2SeqParams:
    """One tiny BART and its training run (AdamW, linear warmup and decay, teacher forcing)."""

    seed: int
    epochs: int
    lr: float
    vocab_size: int  # at most: the BPE stops early once every word of the texts is one token
    d_model: int = 64
    layers: int = 2  # encoder layers, and as many decoder layers
    heads: int = 4
    ffn: int = 256
    dropout: float = 0.1
    # BART's 0.02 leaves a model this narrow with near-uniform attention for hundreds of steps:
    # the decoder learns a language model and ignores the encoder. 0.1 ≈ 1/sqrt(d_model).
    init_std: float = 0.1
    batch_size: int = 16
    warmup_ratio: float = 0.05
    weight_decay: float = 0.01
    max_source_tokens: int = 512
    max_new_tokens: int = 48  # generation_config.json
    num_beams: int = 1  # generation_config.json


@dataclass(frozen=True)
class Text2TextRecipe:
    """Every parameter of the text-to-text part; part of `sandbox.world.Recipe` and so of its
    digest. `version` changes whenever the templates, word lists or training code change."""

    version: str = "1"
    seed: int = 20261208
    summary_sizes: tuple[int, ...] = (2000, 200, 200)  # dialogues, in SUMMARY_SPLITS order
    translation_sizes: tuple[int, ...] = (3000, 300, 300)  # pairs, in TRANSLATION_SPLITS order
    summarizer: Seq2SeqParams = Seq2SeqParams(seed=9, epochs=8, lr=1e-3, vocab_size=1200)
    translator: Seq2SeqParams = Seq2SeqParams(seed=10, epochs=8, lr=1e-3, vocab_size=1600)
    # As for the other parts: on a busy 2-core machine a second thread made training slower.
    threads: int = 1


TEXT2TEXT_RECIPE = Text2TextRecipe()


@dataclass(frozen=True)
class Text2TextScore:
    """A seq2seq model's scores on its dataset's test split, measured after training through
    the saved files (`metrics`: name → value as its card states it, percent or 0–100), and the
    seconds its training took."""

    split: str
    metrics: dict[str, float]
    train_seconds: float


Row = dict[str, Any]

# --------------------------------------------------------------------------------------------
# Chat dialogues (SAMSum shape)
# --------------------------------------------------------------------------------------------

# fmt: off
# Made-up first names and the pronouns the summaries use for them.
PEOPLE: tuple[tuple[str, str], ...] = (
    ("Anna", "she"), ("Tom", "he"), ("Lea", "she"), ("Marek", "he"), ("Jonas", "he"),
    ("Priya", "she"), ("Oskar", "he"), ("Mila", "she"), ("Ivo", "he"), ("Nora", "she"),
    ("Felix", "he"), ("Sana", "she"), ("Bruno", "he"), ("Ines", "she"), ("Kasper", "he"),
    ("Yara", "she"), ("Dario", "he"), ("Elif", "she"), ("Rafael", "he"), ("Tilda", "she"),
    ("Hugo", "he"), ("Greta", "she"), ("Emil", "he"), ("Zofia", "she"), ("Liam", "he"),
    ("Ada", "she"), ("Vince", "he"), ("Rosa", "she"), ("Otto", "he"), ("Maja", "she"),
)
MEET_PLACES = (
    "the station", "the library", "the cinema", "the park", "the gym", "the bakery",
    "the bus stop", "the office", "the market", "the museum", "the beach", "the mall",
    "the pizzeria", "the old bridge", "the main square", "the coffee shop",
)
TIMES = (
    "6 pm", "7 pm", "8 pm", "5 pm", "4:30 pm", "7:30 pm", "noon", "9 am", "10 am", "11 am",
    "2 pm", "3 pm", "6:30 pm", "8:15 am",
)
DAYS = ("today", "tomorrow", "tonight", "on Monday", "on Friday", "on Saturday", "on Sunday")
ITEMS = (
    "charger", "umbrella", "bike", "car", "drill", "camera", "ladder", "tent", "laptop",
    "guitar", "suitcase", "notebook", "hair dryer", "projector",
)
FOODS = (
    "milk", "bread", "eggs", "coffee", "apples", "cheese", "rice", "tomatoes", "butter",
    "pasta", "onions", "yoghurt", "orange juice", "bananas",
)
DISHES = ("lasagne", "curry", "pancakes", "soup", "tacos", "risotto", "pizza", "a stir fry")
ROOMS = ("the kitchen", "the car", "the bathroom", "the hallway", "the office", "your bag")
LOST = ("keys", "wallet", "glasses", "phone", "headphones", "passport", "scarf")
EVENTS = (
    "the concert", "the party", "the cinema", "dinner", "the football match", "the meeting",
    "the yoga class", "the barbecue", "the birthday party",
)
COMPANIES = (
    "the bank", "the hospital", "the bookshop", "the airport", "the museum", "the bakery",
    "the school", "the hotel", "a start-up",
)
CITIES = ("Berlin", "Lisbon", "Oslo", "Vienna", "Prague", "Dublin", "Madrid", "Warsaw")
MONTHS = ("May", "June", "July", "August", "September", "October", "March", "April")
EXAMS = ("driving", "maths", "French", "history", "chemistry", "piano")
# (what the speaker writes, what the summary says after the pronoun)
REASONS = (
    ("I have a fever", "has a fever"),
    ("I have to work late", "has to work late"),
    ("my car broke down", "{poss} car broke down"),
    ("my train was cancelled", "{poss} train was cancelled"),
    ("I have to look after my little brother", "has to look after {poss} little brother"),
    ("I have an exam the next morning", "has an exam the next morning"),
)
GREETINGS = (
    "Hi!", "Hey {other}", "Hello :)", "Hi {other}, how are you?", "Hey, you there?",
    "Good morning!", "Hiii",
)
GREETING_REPLIES = ("Hi!", "Hey :)", "Good, you?", "Fine thanks", "Not bad", "Hello", "Yes?")
FILLERS = (
    "haha", "ok", "cool", "lol", "Great :)", "Yeah", "Wow", "hmm", "Really?", "I see",
    "Sounds good", ":D", "Nice",
)
CLOSINGS = ("Thanks!", "See you!", "Bye", "Perfect", "Thank you :)", "OK, great", "Cool, bye!")
# Longer exchanges about nothing in particular: (what one says, what the other answers).
CHAT = (
    ("Did you see the match last night? What an ending, I still can't believe it.",
     "I fell asleep before the second half, haha. Tell me about it later."),
    ("How was your weekend?", "Quiet, I mostly stayed in and read a book. And yours?"),
    ("The weather is terrible again, it has been raining all week and my shoes are soaked.",
     "I know, I can't wait for the summer. Only two more months!"),
    ("I'm so tired today, the neighbours had a party until 3 am and the music was so loud.",
     "Oh no, poor you. Did you at least get some coffee?"),
    ("Have you started the new series everyone at work keeps talking about?",
     "Not yet, is it good? No spoilers please, I want to watch it this weekend!"),
    ("My boss wants the whole report by the end of the week and I have barely started.",
     "You'll manage, you always do. Just take it one step at a time."),
    ("By the way, my mum says hi and asks when you are coming to visit again.",
     "Say hi back from me :) Maybe next month, I'll let her know."),
    ("I just got back from the gym and I can barely lift my arms, the new trainer is brutal.",
     "Haha, no pain no gain. You'll be fine tomorrow."),
    ("Did you hear that the old cinema on the corner is closing down next year?",
     "Really? That's so sad, we used to go there all the time as kids."),
    ("I finally finished the puzzle with two thousand pieces, it took me three weeks.",
     "Wow, you have a lot of patience. Send me a photo!"),
    ("You won't believe the day I had: the bus broke down on the motorway, we waited an hour "
     "in the rain and then my phone died too.",
     "Oh no, what a nightmare! At least you're home now. Make yourself a hot tea and put your "
     "feet up, you deserve it."),
    ("I've been thinking about learning the piano again. I stopped when I was twelve and I "
     "have always regretted it. Do you think it's too late?",
     "Not at all! My aunt started at sixty and now she plays at every family party. You should "
     "definitely go for it."),
    ("We finally booked the holiday: two weeks by the sea, a small flat with a balcony and a "
     "view of the harbour, and the kids can walk to the beach.",
     "That sounds perfect, I'm so jealous. Send me pictures, and don't forget the sunscreen "
     "this time!"),
)
# fmt: on

# A scenario's turns: (speaker index 0 or 1, utterance); and its summary.
Core = tuple[list[tuple[int, str]], str]


@dataclass(frozen=True)
class _Pair:
    """The two people of a dialogue (`a` speaks first) and their pronouns."""

    a: str
    b: str
    a_pron: str
    b_pron: str

    @property
    def a_poss(self) -> str:
        return "her" if self.a_pron == "she" else "his"

    @property
    def a_obj(self) -> str:
        return "her" if self.a_pron == "she" else "him"

    @property
    def b_poss(self) -> str:
        return "her" if self.b_pron == "she" else "his"


# Each scenario's summary is one of a few wordings, as different annotators would write it.


def _meet(rng: random.Random, p: _Pair) -> Core:
    place, day = rng.choice(MEET_PLACES), rng.choice(DAYS)
    time1, time2 = rng.sample(TIMES, 2)
    variant = rng.randrange(3)
    if variant == 0:
        turns = [
            (0, f"Are you free {day}?"),
            (1, "Yes, why?"),
            (0, f"Let's meet at {place} at {time1}."),
            (1, "Great, see you there!"),
        ]
    elif variant == 1:
        turns = [
            (0, f"Shall we meet at {place} at {time1}?"),
            (1, f"Can we make it {time2}? I finish work late."),
            (0, f"Sure, {time2} is fine."),
        ]
        time1, day = time2, ""
    else:
        turns = [(0, f"Coffee at {place} {day}?"), (1, f"Sounds good. {time1}?"), (0, "Perfect")]
    summary = rng.choice(
        (
            f"{p.a} and {p.b} will meet at {place} at {time1} {day}",
            f"{p.a} and {p.b} are meeting at {place} at {time1} {day}",
            f"{p.a} will meet {p.b} {day} at {time1} at {place}",
        )
    )
    return turns, " ".join(summary.split()) + "."


def _borrow(rng: random.Random, p: _Pair) -> Core:
    item, day = rng.choice(ITEMS), rng.choice(DAYS)
    if rng.random() < 0.6:
        ask = rng.choice((f"Can I borrow your {item}?", f"Could you lend me your {item} {day}?"))
        turns = [(0, ask), (1, f"Sure, I'll bring it {day}."), (0, "You're the best!")]
        summary = rng.choice(
            (
                f"{p.b} will lend {p.a} {p.b_poss} {item} {day}.",
                f"{p.b} will bring {p.a} {p.b_poss} {item} {day}.",
                f"{p.a} is borrowing {p.b}'s {item}. {p.b} will bring it {day}.",
            )
        )
        return turns, summary
    turns = [
        (0, f"Could you lend me your {item} {day}?"),
        (1, f"Sorry, I need it myself {day}."),
        (0, "No problem, I'll ask someone else."),
    ]
    summary = rng.choice(
        (
            f"{p.b} can't lend {p.a} the {item} {day} because {p.b_pron} needs it."
            f" {p.a} will ask someone else.",
            f"{p.b} needs {p.b_poss} {item} {day}, so {p.a} will ask someone else.",
        )
    )
    return turns, summary


def _news(rng: random.Random, p: _Pair) -> Core:
    variant = rng.randrange(4)
    if variant == 0:
        company = rng.choice(COMPANIES)
        said = f"Guess what! I got the job at {company}!"
        summaries = (f"{p.a} got a job at {company}.", f"{p.a} is going to work at {company}.")
    elif variant == 1:
        exam = rng.choice(EXAMS)
        said = f"I passed my {exam} exam!!"
        summaries = (f"{p.a} passed {p.a_poss} {exam} exam.", f"{p.a} passed the {exam} exam.")
    elif variant == 2:
        city, month = rng.choice(CITIES), rng.choice(MONTHS)
        said = f"Big news: we're moving to {city} in {month}."
        summaries = (f"{p.a} is moving to {city} in {month}.", f"{p.a} will move to {city}.")
    else:
        said = "My sister had a baby girl yesterday!"
        summaries = (
            f"{p.a}'s sister had a baby girl yesterday.",
            f"{p.a} is an aunt now." if p.a_pron == "she" else f"{p.a} is an uncle now.",
        )
    reply = rng.choice(("Wow, congratulations!", "That's amazing!", "No way! So happy for you"))
    return [(0, said), (1, reply)], rng.choice(summaries)


def _cancel(rng: random.Random, p: _Pair) -> Core:
    event, day = rng.choice(EVENTS), rng.choice(DAYS)
    said, reported = rng.choice(REASONS)
    reported = reported.format(poss=p.a_poss)
    turns = [
        (0, f"I'm so sorry, I can't make it to {event} {day}."),
        (1, "Oh no, what happened?"),
        (0, f"{said[0].upper()}{said[1:]}."),
        (1, rng.choice(("No worries, take care.", "Get well soon!", "That's a pity. Next time!"))),
    ]
    subject = p.a_pron if not reported.startswith(("his", "her")) else ""
    because = f"{subject} {reported}".strip()
    summary = rng.choice(
        (
            f"{p.a} can't come to {event} {day} because {because}.",
            f"{p.a} won't make it to {event} {day}: {because}.",
        )
    )
    return turns, summary


def _errand(rng: random.Random, p: _Pair) -> Core:
    food1, food2 = rng.sample(FOODS, 2)
    turns = [
        (0, f"Can you buy {food1} on your way home?"),
        (1, "Sure. Anything else?"),
        (0, f"{food2[0].upper()}{food2[1:]} too, please."),
        (1, "OK"),
    ]
    summary = rng.choice(
        (
            f"{p.b} will buy {food1} and {food2} on the way home.",
            f"{p.a} asks {p.b} to buy {food1} and {food2}.",
        )
    )
    return turns, summary


def _late(rng: random.Random, p: _Pair) -> Core:
    minutes, place = rng.choice((5, 10, 15, 20, 30, 45)), rng.choice(MEET_PLACES)
    turns = [
        (0, f"Running late, I'll be there in {minutes} minutes."),
        (1, f"No problem, I'll wait at {place}."),
    ]
    summary = rng.choice(
        (
            f"{p.a} will be {minutes} minutes late. {p.b} will wait at {place}.",
            f"{p.a} is running {minutes} minutes late and {p.b} will wait for {p.a_obj}"
            f" at {place}.",
        )
    )
    return turns, summary


def _lost(rng: random.Random, p: _Pair) -> Core:
    thing, room = rng.choice(LOST), rng.choice(ROOMS)
    plural = thing.endswith("s")
    turns = [
        (0, f"Have you seen my {thing}?"),
        (1, f"I think you left them in {room}." if plural else f"Try {room}."),
        (0, "Found them, thanks!" if plural else "Found it, thanks!"),
    ]
    where = f"{p.a_poss} bag" if room == "your bag" else room  # B says "your": A's bag
    summary = rng.choice(
        (
            f"{p.a} found {p.a_poss} {thing} in {where}.",
            f"{p.a}'s {thing} {'were' if plural else 'was'} in {where}.",
        )
    )
    return turns, summary


def _dinner(rng: random.Random, p: _Pair) -> Core:
    dish, food = rng.choice(DISHES), rng.choice(FOODS)
    turns = [
        (0, "What should we cook tonight?"),
        (1, f"How about {dish}?"),
        (0, f"Good idea, I'll get {food} on the way."),
    ]
    summary = rng.choice(
        (
            f"{p.a} and {p.b} will cook {dish} tonight. {p.a} will buy {food}.",
            f"{p.a} and {p.b} are making {dish} tonight and {p.a} will get {food}.",
        )
    )
    return turns, summary


SCENARIOS: tuple[Callable[[random.Random, _Pair], Core], ...] = (
    _meet,
    _borrow,
    _news,
    _cancel,
    _errand,
    _late,
    _lost,
    _dinner,
)


def _small_talk(rng: random.Random, core: list[tuple[int, str]], b: str) -> list[tuple[int, str]]:
    """The core turns with greetings, chat, fillers and goodbyes around them, 2 to 8 turns in
    all: none of it enters the summary."""
    turns = list(core)
    total = rng.randint(len(core), 8)
    if len(turns) + 2 <= total and rng.random() < 0.6:
        greeting = rng.choice(GREETINGS).format(other=b)
        turns[:0] = [(0, greeting), (1, rng.choice(GREETING_REPLIES))]
    while len(turns) < total:
        roll = rng.random()
        if roll < 0.7 and len(turns) + 2 <= total:
            said, reply = rng.choice(CHAT)
            first = rng.randrange(2)
            at = rng.choice((0, len(turns)))  # before or after the business of the chat
            turns[at:at] = [(first, said), (1 - first, reply)]
        elif roll < 0.85:
            turns.append((1 - turns[-1][0], rng.choice(CLOSINGS)))
        else:
            at = rng.randint(1, len(turns) - 1)
            turns.insert(at, (rng.randrange(2), rng.choice(FILLERS)))
    return turns


def _dialogue(rng: random.Random) -> tuple[str, str]:
    (a, a_pron), (b, b_pron) = rng.sample(PEOPLE, 2)
    pair = _Pair(a, b, a_pron, b_pron)
    core, summary = rng.choice(SCENARIOS)(rng, pair)
    turns = _small_talk(rng, core, b)
    names = (a, b)
    return TURN_SEPARATOR.join(f"{names[s]}: {text}" for s, text in turns), summary


def summary_splits(recipe: Text2TextRecipe = TEXT2TEXT_RECIPE) -> dict[str, list[Row]]:
    """The rows of `demo/chat-summaries` per split: `{"id", "dialogue", "summary"}`, ids of
    eight digits as SAMSum's; no dialogue appears twice. Deterministic."""
    rng = random.Random(recipe.seed)
    seen: set[str] = set()
    ids: set[str] = set()
    out: dict[str, list[Row]] = {}
    for split, size in zip(SUMMARY_SPLITS, recipe.summary_sizes, strict=True):
        rows: list[Row] = []
        while len(rows) < size:
            dialogue, summary = _dialogue(rng)
            row_id = str(rng.randrange(10_000_000, 100_000_000))
            if dialogue in seen or row_id in ids:
                continue
            seen.add(dialogue)
            ids.add(row_id)
            rows.append({"id": row_id, "dialogue": dialogue, "summary": summary})
        out[split] = rows
    return out


# --------------------------------------------------------------------------------------------
# English → French phrases (wmt16 shape)
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Subject:
    en: str
    fr: str
    person: int  # 0..5: je, tu, il/elle, nous, vous, ils/elles
    feminine: bool = False


@dataclass(frozen=True)
class _Verb:
    en: tuple[str, str]  # base form, third person singular
    fr: tuple[str, str, str, str, str, str]  # present tense, by person
    kinds: frozenset[str]  # of nouns it takes as object


@dataclass(frozen=True)
class _Noun:
    en: tuple[str, str]  # singular, plural
    fr: tuple[str, str]
    feminine: bool
    kind: str  # food, thing, readable, animal


@dataclass(frozen=True)
class _Adjective:
    en: str
    fr: tuple[str, str, str, str]  # masculine, feminine, masculine plural, feminine plural
    before: bool = False  # placed before the noun in French (petit, grand)
    kinds: frozenset[str] = frozenset(("food", "thing", "readable", "animal"))  # it describes


@dataclass(frozen=True)
class _Place:
    en: str  # with its English article: "the station", "school", "Paris"
    fr: str  # the French noun with no article: "gare"; a town name as is
    feminine: bool = False
    town: bool = False


def _v(en: str, en3: str, forms: str, kinds: str) -> _Verb:
    fr = tuple(forms.split())
    assert len(fr) == 6
    return _Verb((en, en3), (fr[0], fr[1], fr[2], fr[3], fr[4], fr[5]), frozenset(kinds.split()))


def _n(en: str, fr: str, gender: str, kind: str) -> _Noun:
    en_sg, en_pl = en.split("/")
    fr_sg, fr_pl = fr.split("/")
    return _Noun((en_sg, en_pl), (fr_sg, fr_pl), gender == "f", kind)


def _a(en: str, forms: str, *, before: bool = False, kinds: str = "") -> _Adjective:
    fr = tuple(forms.split())
    adjective = _Adjective(en, (fr[0], fr[1], fr[2], fr[3]), before)
    return replace(adjective, kinds=frozenset(kinds.split())) if kinds else adjective


def _describing(noun: _Noun) -> tuple[_Adjective, ...]:
    """The (post-nominal) adjectives that make sense of `noun`: no broken dogs."""
    return tuple(a for a in ADJECTIVES if noun.kind in a.kinds)


# fmt: off
SUBJECTS = (
    _Subject("I", "je", 0), _Subject("you", "tu", 1), _Subject("he", "il", 2),
    _Subject("she", "elle", 2, True), _Subject("we", "nous", 3), _Subject("they", "ils", 5),
    _Subject("Marie", "Marie", 2, True), _Subject("Paul", "Paul", 2),
    _Subject("my brother", "mon frère", 2), _Subject("my sister", "ma sœur", 2, True),
    _Subject("the teacher", "le professeur", 2), _Subject("the children", "les enfants", 5),
    _Subject("our neighbours", "nos voisins", 5), _Subject("the girls", "les filles", 5, True),
    _Subject("my friends", "mes amis", 5),
)
VERBS = (
    _v("like", "likes", "aime aimes aime aimons aimez aiment", "food thing readable animal"),
    _v("eat", "eats", "mange manges mange mangeons mangez mangent", "food"),
    _v("buy", "buys", "achète achètes achète achetons achetez achètent", "food thing readable"),
    _v("want", "wants", "veux veux veut voulons voulez veulent", "food thing readable animal"),
    _v("see", "sees", "vois vois voit voyons voyez voient", "thing readable animal"),
    _v("take", "takes", "prends prends prend prenons prenez prennent", "food thing readable"),
    _v("read", "reads", "lis lis lit lisons lisez lisent", "readable"),
    _v("look for", "looks for", "cherche cherches cherche cherchons cherchez cherchent",
       "thing readable animal"),
    _v("find", "finds", "trouve trouves trouve trouvons trouvez trouvent", "thing readable animal"),
    _v("sell", "sells", "vends vends vend vendons vendez vendent", "thing readable animal"),
    _v("wash", "washes", "lave laves lave lavons lavez lavent", "thing animal"),
    _v("carry", "carries", "porte portes porte portons portez portent", "thing food"),
    _v("cook", "cooks", "prépare prépares prépare préparons préparez préparent", "food"),
)
NOUNS = (
    _n("book/books", "livre/livres", "m", "readable"),
    _n("newspaper/newspapers", "journal/journaux", "m", "readable"),
    _n("letter/letters", "lettre/lettres", "f", "readable"),
    _n("map/maps", "carte/cartes", "f", "readable"),
    _n("apple/apples", "pomme/pommes", "f", "food"),
    _n("cake/cakes", "gâteau/gâteaux", "m", "food"),
    _n("orange/oranges", "orange/oranges", "f", "food"),
    _n("egg/eggs", "œuf/œufs", "m", "food"),
    _n("tomato/tomatoes", "tomate/tomates", "f", "food"),
    _n("lemon/lemons", "citron/citrons", "m", "food"),
    _n("car/cars", "voiture/voitures", "f", "thing"),
    _n("bicycle/bicycles", "vélo/vélos", "m", "thing"),
    _n("key/keys", "clé/clés", "f", "thing"),
    _n("bag/bags", "sac/sacs", "m", "thing"),
    _n("chair/chairs", "chaise/chaises", "f", "thing"),
    _n("umbrella/umbrellas", "parapluie/parapluies", "m", "thing"),
    _n("shirt/shirts", "chemise/chemises", "f", "thing"),
    _n("hat/hats", "chapeau/chapeaux", "m", "thing"),
    _n("plate/plates", "assiette/assiettes", "f", "thing"),
    _n("computer/computers", "ordinateur/ordinateurs", "m", "thing"),
    _n("dog/dogs", "chien/chiens", "m", "animal"),
    _n("cat/cats", "chat/chats", "m", "animal"),
    _n("horse/horses", "cheval/chevaux", "m", "animal"),
    _n("bird/birds", "oiseau/oiseaux", "m", "animal"),
)
ADJECTIVES = (
    _a("red", "rouge rouge rouges rouges"), _a("green", "vert verte verts vertes"),
    _a("black", "noir noire noirs noires"), _a("white", "blanc blanche blancs blanches"),
    _a("blue", "bleu bleue bleus bleues"), _a("heavy", "lourd lourde lourds lourdes"),
    _a("expensive", "cher chère chers chères"), _a("broken", "cassé cassée cassés cassées", kinds="thing"),
)
SIZES = (  # placed before the noun in French
    _a("small", "petit petite petits petites", before=True),
    _a("big", "grand grande grands grandes", before=True),
)
# Adjectives that describe a person or an animal after "to be".
STATES = (
    _a("tired", "fatigué fatiguée fatigués fatiguées"),
    _a("happy", "content contente contents contentes"),
    _a("ready", "prêt prête prêts prêtes"),
    _a("sick", "malade malade malades malades"),
    _a("late", "en_retard en_retard en_retard en_retard"),
)
PLACES = (
    _Place("the station", "gare", True), _Place("the market", "marché"),
    _Place("the park", "parc"), _Place("school", "école", True),
    _Place("the hospital", "hôpital"), _Place("the beach", "plage", True),
    _Place("the cinema", "cinéma"), _Place("the museum", "musée"),
    _Place("the library", "bibliothèque", True), _Place("the bakery", "boulangerie", True),
    _Place("the airport", "aéroport"), _Place("the office", "bureau"),
    _Place("Paris", "Paris", town=True), _Place("Lyon", "Lyon", town=True),
)
IN_PLACES = (
    _Place("the garden", "jardin"), _Place("the kitchen", "cuisine", True),
    _Place("the car", "voiture", True), _Place("the house", "maison", True),
)
NUMBERS = (
    ("two", "deux"), ("three", "trois"), ("four", "quatre"), ("five", "cinq"), ("six", "six"),
    ("seven", "sept"), ("eight", "huit"), ("nine", "neuf"), ("ten", "dix"), ("eleven", "onze"),
    ("twelve", "douze"),
)
TIMES_EN_FR = (
    ("today", "aujourd'hui"), ("tomorrow", "demain"), ("on Monday", "lundi"),
    ("on Tuesday", "mardi"), ("on Saturday", "samedi"), ("on Sunday", "dimanche"),
    ("every day", "tous les jours"), ("in the morning", "le matin"),
    ("in the evening", "le soir"), ("at noon", "à midi"), ("at one o'clock", "à une heure"),
    *((f"at {en} o'clock", f"à {fr} heures") for en, fr in NUMBERS),
)
BE = ("suis", "es", "est", "sommes", "êtes", "sont")
BE_EN = ("am", "are", "is", "are", "are", "are")
GO = ("vais", "vas", "va", "allons", "allez", "vont")
HAVE = ("ai", "as", "a", "avons", "avez", "ont")
# fmt: on

VOWELS = tuple("aeiouyéèêàâîôœh")  # every h-word of the lexicons is mute (hôpital)
ELIDED = ("le", "la", "je", "ne")  # l'ordinateur, j'aime, n'aime
BEFORE_VOWEL = {"ce": "cet", "ma": "mon", "sa": "son"}  # cet oiseau, mon assiette


def french(words: Sequence[str]) -> str:
    """Joins French words as French writes them: `le la je ne` elide before a vowel
    (`l'ordinateur`, `j'aime`, `n'aime`), `ce ma sa` become `cet mon son` (`cet oiseau`,
    `mon assiette`), then `à le` contracts to `au`; `_` in a word is a space (`en_retard`).

    Example:
        >>> french(["je", "aime", "le", "ordinateur", "et", "il", "va", "à", "le", "marché"])
        "j'aime l'ordinateur et il va au marché"
    """
    out: list[str] = []
    for word in words:
        if out and word.startswith(VOWELS) and out[-1] in ELIDED:
            out[-1] = f"{out[-1][:-1]}'{word}"
            continue
        if out and word.startswith(VOWELS):
            out[-1] = BEFORE_VOWEL.get(out[-1], out[-1])
        out.append(word)
    text = " ".join(out)
    return re.sub(r"\bà le\b", "au", text).replace("_", " ")


def _determiner(det: str, feminine: bool, plural: bool) -> str:
    g = int(feminine) + 2 * int(plural)
    return {
        "the": ("le", "la", "les", "les"),
        "a": ("un", "une", "", ""),
        "my": ("mon", "ma", "mes", "mes"),
        "his": ("son", "sa", "ses", "ses"),
        "our": ("notre", "notre", "nos", "nos"),
        "this": ("ce", "cette", "", ""),
        "these": ("", "", "ces", "ces"),
    }[det][g]


def _noun_phrase(
    rng: random.Random, noun: _Noun, *, plural: bool, definite: bool = False
) -> tuple[str, list[str]]:
    """An English noun phrase and its French words: a determiner (definite ones only when
    `definite`, as after a negation), maybe a size and a colour-like adjective, which French
    places before and after the noun."""
    if plural:
        dets = ["the", "my", "our"] if definite else ["the", "my", "these", "our", "number"]
    else:
        dets = ["the", "my", "this", "his", "our"] if definite else ["the", "a", "my", "this"]
    det = rng.choice(dets)
    if det == "number":
        en_det, fr_det = rng.choice(NUMBERS)
    else:
        en_det, fr_det = det, _determiner(det, noun.feminine, plural)
    adjectives: list[_Adjective] = []
    roll = rng.random()
    if roll < 0.4:
        adjectives = [rng.choice((*SIZES, *_describing(noun)))]
    elif roll < 0.55:
        adjectives = [rng.choice(SIZES), rng.choice(_describing(noun))]  # "the small red car"
    g = int(noun.feminine) + 2 * int(plural)
    before = [a.fr[g] for a in adjectives if a.before]
    after = [a.fr[g] for a in adjectives if not a.before]
    en_words = [en_det, *(a.en for a in adjectives), noun.en[int(plural)]]
    return " ".join(en_words), [fr_det, *before, noun.fr[int(plural)], *after]


def _verb_clause(rng: random.Random, subject: _Subject) -> tuple[str, list[str]]:
    """Subject, verb (negated now and then) and object: "I do not like the red car"."""
    p, verb = subject.person, rng.choice(VERBS)
    noun = rng.choice([n for n in NOUNS if n.kind in verb.kinds])
    negated = rng.random() < 0.15
    en_np, fr_np = _noun_phrase(rng, noun, plural=rng.random() < 0.35, definite=negated)
    if negated:
        en_verb = f"{'does' if p == 2 else 'do'} not {verb.en[0]}"
        return f"{subject.en} {en_verb} {en_np}", [subject.fr, "ne", verb.fr[p], "pas", *fr_np]
    en_verb = verb.en[1] if p == 2 else verb.en[0]
    return f"{subject.en} {en_verb} {en_np}", [subject.fr, verb.fr[p], *fr_np]


def _go_clause(rng: random.Random, subject: _Subject) -> tuple[str, list[str]]:
    """ "we go to the market": à + the article (`au`, `à la`, `à l'`), none before a town."""
    p, place = subject.person, rng.choice(PLACES)
    article = [] if place.town else ["la" if place.feminine else "le"]
    en = f"{subject.en} {'goes' if p == 2 else 'go'} to {place.en}"
    return en, [subject.fr, GO[p], "à", *article, place.fr]


def _have_clause(rng: random.Random, subject: _Subject) -> tuple[str, list[str]]:
    """ "she has three green apples": the plural noun, its adjective agreeing."""
    p, (en_number, fr_number), noun = subject.person, rng.choice(NUMBERS), rng.choice(NOUNS)
    adjective = rng.choice(_describing(noun)) if rng.random() < 0.4 else None
    en_words = [subject.en, "has" if p == 2 else "have", en_number, noun.en[1]]
    fr = [subject.fr, HAVE[p], fr_number, noun.fr[1]]
    if adjective is not None:
        en_words.insert(3, adjective.en)
        fr.append(adjective.fr[int(noun.feminine) + 2])
    return " ".join(en_words), fr


def _state_clause(rng: random.Random, subject: _Subject) -> tuple[str, list[str]]:
    """ "the girls are tired in the garden": the adjective agrees with the subject."""
    p, state = subject.person, rng.choice(STATES)
    en = f"{subject.en} {BE_EN[p]} {state.en}"
    fr = [subject.fr, BE[p], state.fr[int(subject.feminine) + 2 * int(p >= 3)]]
    if rng.random() < 0.4:
        place = rng.choice(IN_PLACES)
        en += f" in {place.en}"
        fr += ["dans", "la" if place.feminine else "le", place.fr]
    return en, fr


def _thing_clause(rng: random.Random) -> tuple[str, list[str]]:
    """ "the cars are red" or "the key is in the kitchen": a noun as the subject."""
    noun, plural = rng.choice(NOUNS), rng.random() < 0.4
    en_np, fr_np = _noun_phrase(rng, noun, plural=plural, definite=True)
    en_be, fr_be = ("are", BE[5]) if plural else ("is", BE[2])
    if rng.random() < 0.5:
        adjective = rng.choice(_describing(noun))
        g = int(noun.feminine) + 2 * int(plural)
        return f"{en_np} {en_be} {adjective.en}", [*fr_np, fr_be, adjective.fr[g]]
    place = rng.choice(IN_PLACES)
    fr_place = ["dans", "la" if place.feminine else "le", place.fr]
    return f"{en_np} {en_be} in {place.en}", [*fr_np, fr_be, *fr_place]


def _clause(rng: random.Random) -> tuple[str, list[str]]:
    """One clause in English (no capital, no full stop) and its French words, maybe with a
    time ("tomorrow", "at six o'clock") at the end."""
    subject = rng.choice(SUBJECTS)
    kind = rng.choices(("verb", "go", "have", "state", "thing"), (5, 2, 2, 1, 2))[0]
    if kind == "thing":
        return _thing_clause(rng)
    if kind == "state":
        return _state_clause(rng, subject)
    make = {"verb": _verb_clause, "go": _go_clause, "have": _have_clause}[kind]
    en, fr = make(rng, subject)
    if rng.random() < 0.4:
        time_en, time_fr = rng.choice(TIMES_EN_FR)
        en, fr = f"{en} {time_en}", [*fr, *time_fr.split()]
    return en, fr


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def _phrase(rng: random.Random) -> tuple[str, str]:
    """A sentence pair: a "where" question, or one to three clauses joined by "and"/"et"."""
    if rng.random() < 0.08:
        noun, plural = rng.choice(NOUNS), rng.random() < 0.3
        en_np, fr_np = _noun_phrase(rng, noun, plural=plural, definite=True)
        en = f"Where {'are' if plural else 'is'} {en_np}?"
        return en, f"{_capital(french(['où', BE[5 if plural else 2], *fr_np]))} ?"
    clauses = [_clause(rng) for _ in range(rng.choices((1, 2, 3), (6, 3, 1))[0])]
    fr_words: list[str] = []
    for n, (_, words) in enumerate(clauses):
        fr_words += (["et"] if n else []) + words
    en = " and ".join(c[0] for c in clauses)
    return f"{_capital(en)}.", f"{_capital(french(fr_words))}."


def translation_splits(recipe: Text2TextRecipe = TEXT2TEXT_RECIPE) -> dict[str, list[Row]]:
    """The rows of `demo/phrasebook-en-fr` per split: `{"translation": {"en", "fr"}}`; no English
    sentence appears twice. Deterministic."""
    rng = random.Random(recipe.seed + 1)
    seen: set[str] = set()
    out: dict[str, list[Row]] = {}
    for split, size in zip(TRANSLATION_SPLITS, recipe.translation_sizes, strict=True):
        rows: list[Row] = []
        while len(rows) < size:
            en, fr = _phrase(rng)
            if en in seen or len(en.split()) > 25:
                continue
            seen.add(en)
            rows.append({"translation": {"en": en, "fr": fr}})
        out[split] = rows
    return out


# --------------------------------------------------------------------------------------------
# Metrics
# --------------------------------------------------------------------------------------------

ROUGE_TYPES = ("rouge1", "rouge2", "rougeL", "rougeLsum")


def _sentence_lines(text: str) -> str:
    """One sentence a line: how rougeLsum wants a summary (as Trainer's scripts feed it)."""
    return "\n".join(s for s in re.split(r"(?<=[.!?])\s+", text.strip()) if s)


def rouge_scores(predictions: Sequence[str], references: Sequence[str]) -> dict[str, float]:
    """Mean ROUGE F-measures in percent, rounded to 4 digits, as Trainer cards state them:
    `rouge_score`'s scorer with the Porter stemmer, sentences on lines for rougeLsum.

    Example:
        >>> rouge_scores(["Anna and Tom will meet at 6 pm."], ["Anna and Tom meet at 6 pm."])
        {'rouge1': 93.3333, 'rouge2': 76.9231, 'rougeL': 93.3333, 'rougeLsum': 93.3333}

    Raises:
        ValueError: no predictions, or not one per reference.
    """
    from rouge_score import rouge_scorer

    if not predictions or len(predictions) != len(references):
        raise ValueError(
            f"ROUGE needs one prediction per reference; got {len(predictions)} predictions"
            f" for {len(references)} references"
        )
    scorer = rouge_scorer.RougeScorer(list(ROUGE_TYPES), use_stemmer=True)
    totals = dict.fromkeys(ROUGE_TYPES, 0.0)
    for prediction, reference in zip(predictions, references, strict=True):
        scores = scorer.score(_sentence_lines(reference), _sentence_lines(prediction))
        for name in ROUGE_TYPES:
            totals[name] += scores[name].fmeasure
    return {name: round(100 * total / len(predictions), 4) for name, total in totals.items()}


def bleu_scores(predictions: Sequence[str], references: Sequence[str]) -> dict[str, float]:
    """sacreBLEU's corpus BLEU (tokenizer 13a) and chrF on their 0–100 scale, rounded to 4
    digits: `{"bleu": ..., "chrf": ...}`.

    Raises:
        ValueError: no predictions, or not one per reference.
    """
    import sacrebleu

    if not predictions or len(predictions) != len(references):
        raise ValueError(
            f"BLEU needs one prediction per reference; got {len(predictions)} predictions"
            f" for {len(references)} references"
        )
    refs = [list(references)]
    bleu = sacrebleu.corpus_bleu(list(predictions), refs, tokenize="13a")
    chrf = sacrebleu.corpus_chrf(list(predictions), refs)
    return {"bleu": round(bleu.score, 4), "chrf": round(chrf.score, 4)}


# --------------------------------------------------------------------------------------------
# Tiny BART: tokenizer, model, training, generation
# --------------------------------------------------------------------------------------------

SPECIAL_TOKENS = ("<s>", "<pad>", "</s>", "<unk>")  # ids 0..3, as BART's
BOS_ID, PAD_ID, EOS_ID = 0, 1, 2


def _tokenizer(texts: Sequence[str], vocab_size: int) -> Any:
    """A byte-level BPE trained on `texts`, wrapping every text in `<s> … </s>`."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=list(SPECIAL_TOKENS),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    bpe.train_from_iterator(texts, trainer)
    bpe.post_processor = processors.TemplateProcessing(
        single="<s> $A </s>",
        pair="<s> $A </s> </s> $B </s>",
        special_tokens=[("<s>", BOS_ID), ("</s>", EOS_ID)],
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=bpe,
        bos_token="<s>",
        eos_token="</s>",
        pad_token="<pad>",
        unk_token="<unk>",
        model_max_length=512,
    )


def _generation_config(params: Seq2SeqParams) -> Any:
    from transformers import GenerationConfig

    return GenerationConfig(
        max_new_tokens=params.max_new_tokens,
        num_beams=params.num_beams,
        decoder_start_token_id=EOS_ID,
        bos_token_id=BOS_ID,
        eos_token_id=EOS_ID,
        pad_token_id=PAD_ID,
        forced_bos_token_id=BOS_ID,
    )


def _bart(vocab_size: int, params: Seq2SeqParams) -> Any:
    from transformers import BartConfig, BartForConditionalGeneration

    config = BartConfig(
        vocab_size=vocab_size,
        d_model=params.d_model,
        encoder_layers=params.layers,
        decoder_layers=params.layers,
        encoder_attention_heads=params.heads,
        decoder_attention_heads=params.heads,
        encoder_ffn_dim=params.ffn,
        decoder_ffn_dim=params.ffn,
        max_position_embeddings=512,
        dropout=params.dropout,
        attention_dropout=0.0,
        activation_dropout=0.0,
        pad_token_id=PAD_ID,
        bos_token_id=BOS_ID,
        eos_token_id=EOS_ID,
        decoder_start_token_id=EOS_ID,
        init_std=params.init_std,
    )
    model = BartForConditionalGeneration(config)
    model.generation_config = _generation_config(params)
    return model


def _features(
    tokenizer: Any, sources: Sequence[str], targets: Sequence[str], params: Seq2SeqParams
) -> list[dict[str, Any]]:
    """Encoder inputs and labels (`<s> target </s>`: BART's decoder starts from `</s>`)."""
    inputs = tokenizer(list(sources), truncation=True, max_length=params.max_source_tokens)
    labels = tokenizer(text_target=list(targets), truncation=True, max_length=128)["input_ids"]
    return [
        {"input_ids": ids, "attention_mask": mask, "labels": label}
        for ids, mask, label in zip(
            inputs["input_ids"], inputs["attention_mask"], labels, strict=True
        )
    ]


def _length_batches(
    features: Sequence[dict[str, Any]], size: int, generator: torch.Generator
) -> list[list[int]]:
    """One epoch's batches of feature indices, in a seeded random order: the features are
    shuffled, sorted by length within windows of 16 batches and cut into batches."""
    import torch

    order = torch.randperm(len(features), generator=generator).tolist()
    window = size * 16
    batches: list[list[int]] = []
    for start in range(0, len(order), window):
        chunk = sorted(order[start : start + window], key=lambda i: len(features[i]["input_ids"]))
        batches += [chunk[i : i + size] for i in range(0, len(chunk), size)]
    return [batches[n] for n in torch.randperm(len(batches), generator=generator).tolist()]


def _fit(model: Any, features: list[dict[str, Any]], params: Seq2SeqParams) -> None:
    """Teacher forcing with AdamW, linear warmup and decay, gradient clipping; batches of
    similar lengths (`_length_batches`), so that little of a batch is padding."""
    import torch

    torch.manual_seed(params.seed)
    decay = [p for n, p in model.named_parameters() if p.ndim > 1 and "norm" not in n]
    rest = [p for n, p in model.named_parameters() if not (p.ndim > 1 and "norm" not in n)]
    optimizer = torch.optim.AdamW(
        [
            {"params": decay, "weight_decay": params.weight_decay},
            {"params": rest, "weight_decay": 0.0},
        ],
        lr=params.lr,
    )
    per_epoch = -(-len(features) // params.batch_size)
    steps = params.epochs * per_epoch
    warmup = max(1, int(steps * params.warmup_ratio))
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: min((s + 1) / warmup, max(0.0, (steps - s) / (steps - warmup)))
    )
    generator = torch.Generator().manual_seed(params.seed)
    model.train()
    for _ in range(params.epochs):
        for rows in _length_batches(features, params.batch_size, generator):
            batch = _collate([features[i] for i in rows], PAD_ID)
            model(**batch).loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad()
    model.eval()


def generate_texts(
    model: Any,
    tokenizer: Any,
    sources: Sequence[str],
    *,
    batch_size: int = 64,
    max_source_tokens: int = 512,
) -> list[str]:
    """The model's outputs for `sources`, the way the world measured them: batches sorted by
    length, `model.generate(**batch, generation_config=model.generation_config)` under
    `torch.inference_mode`, decoded without special tokens.

    Example:
        >>> generate_texts(model, tokenizer, ["I see the dog."])
        ['Je vois le chien.']
    """
    import torch

    order = sorted(range(len(sources)), key=lambda i: len(sources[i]))
    out: dict[int, str] = {}
    model.eval()
    for start in range(0, len(order), batch_size):
        rows = order[start : start + batch_size]
        batch = tokenizer(
            [sources[i] for i in rows],
            truncation=True,
            max_length=max_source_tokens,
            padding=True,
            return_tensors="pt",
        )
        with torch.inference_mode():
            ids = model.generate(**batch, generation_config=model.generation_config)
        texts = tokenizer.batch_decode(ids, skip_special_tokens=True)
        out.update(zip(rows, (t.strip() for t in texts), strict=True))
    return [out[i] for i in range(len(sources))]


# --------------------------------------------------------------------------------------------
# Dataset repos
# --------------------------------------------------------------------------------------------

SUMMARY_EVAL_INDEX: dict[str, Any] = {
    "config": SUMMARY_CONFIG,
    "task": "summarization",
    "task_id": "summarization",
    "splits": {"train_split": "train", "eval_split": "test"},
    "col_mapping": {"dialogue": "text", "summary": "target"},
}
TRANSLATION_EVAL_INDEX: dict[str, Any] = {
    "config": TRANSLATION_CONFIG,
    "task": "translation",
    "task_id": "translation",
    "splits": {"train_split": "train", "eval_split": "test"},
    "col_mapping": {"translation.en": "source", "translation.fr": "target"},
}


def _dataset_meta(
    *,
    pretty_name: str,
    languages: list[str],
    task: str,
    eval_index: dict[str, Any],
    features: list[dict[str, Any]],
    stats: dict[str, Any],
) -> dict[str, Any]:
    """A dataset card's YAML: Hub metadata, the `train-eval-index`, the features and sizes as
    `datasets` declares them (`stats` from `_write_parquet`) and the parquet files."""
    config = eval_index["config"]
    return {
        "language": languages,
        "license": "cc-by-4.0",
        "multilinguality": ["translation"] if len(languages) > 1 else ["monolingual"],
        "pretty_name": pretty_name,
        "size_categories": ["1K<n<10K"],
        "source_datasets": ["original"],
        "task_categories": [task],
        "tags": ["synthetic"],
        "train-eval-index": [eval_index],
        "dataset_info": {"config_name": config, "features": features, **stats},
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


def _summary_card(splits: dict[str, list[Row]], stats: dict[str, Any]) -> str:
    meta = _dataset_meta(
        pretty_name="Chat summaries (evalbot synthetic, SAMSum schema)",
        languages=["en"],
        task="summarization",
        eval_index=SUMMARY_EVAL_INDEX,
        features=[
            {"name": "id", "dtype": "string"},
            {"name": "dialogue", "dtype": "string"},
            {"name": "summary", "dtype": "string"},
        ],
        stats=stats,
    )
    sizes = ", ".join(f"{len(rows)} {s}" for s, rows in splits.items())
    front = yaml.safe_dump(meta, sort_keys=False, allow_unicode=True)
    return f"""---
{front}---

# Chat summaries (synthetic)

Abstractive summarisation of messenger-like chats, in the schema of
[samsum](https://huggingface.co/datasets/samsum), generated by evalbot
(`sandbox/world_text2text.py`) for its demo and tests. Two people with made-up first names arrange
a meeting, borrow something, share news, cancel a plan, run an errand, run late, look for a lost
thing or plan a dinner; greetings, fillers and goodbyes around that make the chats 2 to 8 turns
long. Each summary states the outcome in the third person, in one of a few wordings, as several
annotators would. Sizes: {sizes}.

## Dataset structure

- `id` (string): eight digits, as SAMSum's ids.
- `dialogue` (string): the turns, each `Name: utterance`, joined by `\\r\\n` as in SAMSum.
- `summary` (string): one or two sentences.

Results on this dataset are not results on SAMSum.
"""


def _translation_card(splits: dict[str, list[Row]], stats: dict[str, Any]) -> str:
    meta = _dataset_meta(
        pretty_name="Phrasebook en-fr (evalbot synthetic, WMT schema)",
        languages=["en", "fr"],
        task="translation",
        eval_index=TRANSLATION_EVAL_INDEX,
        features=[{"name": "translation", "dtype": {"translation": {"languages": ["en", "fr"]}}}],
        stats=stats,
    )
    sizes = ", ".join(f"{len(rows)} {s}" for s, rows in splits.items())
    front = yaml.safe_dump(meta, sort_keys=False, allow_unicode=True)
    return f"""---
{front}---

# Phrasebook en-fr (synthetic)

English sentences and their French translations in the schema of
[wmt16](https://huggingface.co/datasets/wmt16), generated by evalbot
(`sandbox/world_text2text.py`) for its demo and tests from templates and small parallel lexicons:
people who like, buy, read or look for things, go places, have a number of things or are tired
or ready, things that are red or in the kitchen, and "where" questions, with times ("tomorrow",
"at six o'clock"). The French is correct for every template: verbs agree with their subjects,
articles and adjectives with their nouns (colours after the noun, `petit` and `grand` before),
`le`, `la`, `je` and `ne` elide before a vowel, `à le` is `au`. One to three clauses joined by
"and" make sentences of 3 to 25 words. Sizes: {sizes}.

## Dataset structure

- `translation` (translation, languages `en` and `fr`): `{{"en": ..., "fr": ...}}`.

Results on this dataset are not results on WMT.
"""


def _write_datasets(root: Path, recipe: Text2TextRecipe) -> tuple[DatasetSpec, DatasetSpec]:
    from datasets import Features, Translation, Value

    from sandbox.world import DatasetSpec

    summaries, phrases = summary_splits(recipe), translation_splits(recipe)
    summary_features = Features(
        {"id": Value("string"), "dialogue": Value("string"), "summary": Value("string")}
    )
    translation_features = Features({"translation": Translation(languages=["en", "fr"])})
    path = root / "datasets" / SUMMARY_ID
    stats = _write_parquet(path, SUMMARY_CONFIG, summaries, summary_features)
    (path / "README.md").write_text(_summary_card(summaries, stats), encoding="utf-8")
    summary_spec = DatasetSpec(SUMMARY_ID, path)
    path = root / "datasets" / TRANSLATION_ID
    stats = _write_parquet(path, TRANSLATION_CONFIG, phrases, translation_features)
    (path / "README.md").write_text(_translation_card(phrases, stats), encoding="utf-8")
    return summary_spec, DatasetSpec(TRANSLATION_ID, path)


# --------------------------------------------------------------------------------------------
# Model repos
# --------------------------------------------------------------------------------------------

# Metric type -> the name Trainer's cards give it.
METRIC_NAMES = {
    "rouge1": "Rouge1",
    "rouge2": "Rouge2",
    "rougeL": "Rougel",
    "rougeLsum": "Rougelsum",
    "bleu": "Bleu",
    "chrf": "Chrf",
}


@dataclass(frozen=True)
class _Seq2SeqTask:
    """What differs between the two models: their repo, dataset, columns and card text."""

    model_id: str
    dataset_id: str
    config: str
    task: str  # pipeline tag and model-index task type
    task_name: str
    languages: tuple[str, ...]
    source: Callable[[Row], str]
    target: Callable[[Row], str]
    score: Callable[[Sequence[str], Sequence[str]], dict[str, float]]
    description: str
    example: str


SUMMARIZER = _Seq2SeqTask(
    model_id=SUMMARIZER_ID,
    dataset_id=SUMMARY_ID,
    config=SUMMARY_CONFIG,
    task="summarization",
    task_name="Summarization",
    languages=("en",),
    source=lambda row: str(row["dialogue"]),
    target=lambda row: str(row["summary"]),
    score=rouge_scores,
    description="summarises short English chats (SAMSum style) in one or two sentences",
    example='"Anna: Shall we meet at the station at 6 pm?\\r\\nTom: Sure, see you there!"',
)
TRANSLATOR = _Seq2SeqTask(
    model_id=TRANSLATOR_ID,
    dataset_id=TRANSLATION_ID,
    config=TRANSLATION_CONFIG,
    task="translation",
    task_name="Translation",
    languages=("en", "fr"),
    source=lambda row: str(row["translation"]["en"]),
    target=lambda row: str(row["translation"]["fr"]),
    score=bleu_scores,
    description="translates short English sentences into French",
    example='"My sister buys a small red car."',
)


def _model_card(
    task: _Seq2SeqTask, scores: dict[str, float], params: Seq2SeqParams, vocab_size: int
) -> str:
    from huggingface_hub import EvalResult, ModelCardData

    name = task.model_id.split("/")[1]
    data = ModelCardData(
        language=list(task.languages),
        license="apache-2.0",
        library_name="transformers",
        pipeline_tag=task.task,
        datasets=[task.dataset_id],
        tags=[task.task, "bart"],
        model_name=name,
        eval_results=[
            EvalResult(
                task_type=task.task,
                task_name=task.task_name,
                dataset_type=task.dataset_id,
                dataset_name=task.dataset_id.split("/")[1],
                dataset_config=task.config,
                dataset_split="test",
                metric_type=metric,
                metric_name=METRIC_NAMES[metric],
                metric_value=value,
            )
            for metric, value in scores.items()
        ],
    )
    results = "\n".join(f"- {METRIC_NAMES[m]}: {v}" for m, v in scores.items())
    body = f"""
# {name}

A tiny BART (`BartForConditionalGeneration`: {params.layers} encoder and {params.layers} decoder
layers, d_model {params.d_model}, {params.heads} attention heads, feed-forward {params.ffn}) that
{task.description}. Trained from scratch on CPU on the train split of
[{task.dataset_id}](https://huggingface.co/datasets/{task.dataset_id}), with a byte-level BPE
vocabulary of {vocab_size} tokens learnt from the train texts.

It achieves the following results on the test split ({params.num_beams} beam(s), at most
{params.max_new_tokens} new tokens, as `generation_config.json` sets):
{results}

## Training procedure

### Training hyperparameters

- learning_rate: {params.lr}
- train_batch_size: {params.batch_size}
- seed: {params.seed}
- optimizer: AdamW (weight decay {params.weight_decay}), gradient clipping 1.0
- lr_scheduler_type: linear, warmup ratio {params.warmup_ratio}
- num_epochs: {params.epochs}
- dropout: {params.dropout}, init_std: {params.init_std}

## How to use

```python
from transformers import AutoModelForSeq2SeqLM, AutoTokenizer

tokenizer = AutoTokenizer.from_pretrained("{task.model_id}")
model = AutoModelForSeq2SeqLM.from_pretrained("{task.model_id}")
inputs = tokenizer([{task.example}], return_tensors="pt")
print(tokenizer.batch_decode(model.generate(**inputs), skip_special_tokens=True))
```
"""
    return f"---\n{data.to_yaml()}\n---\n\n{body.strip()}\n"


def _build_model(
    root: Path, task: _Seq2SeqTask, splits: dict[str, list[Row]], params: Seq2SeqParams
) -> tuple[ModelSpec, Text2TextScore]:
    """Trains one tiny BART, saves it, and measures it on the test split through the files
    saved, as any user of the repo loads them."""
    import torch
    from transformers import AutoModelForSeq2SeqLM, AutoTokenizer

    from sandbox.world import ModelSpec

    start = time.perf_counter()
    train = splits["train"]
    sources, targets = [task.source(r) for r in train], [task.target(r) for r in train]
    tokenizer = _tokenizer([*sources, *targets], params.vocab_size)
    torch.manual_seed(params.seed)
    model = _bart(len(tokenizer), params)
    _fit(model, _features(tokenizer, sources, targets, params), params)
    seconds = time.perf_counter() - start
    path = root / "models" / task.model_id
    model.save_pretrained(path)
    tokenizer.save_pretrained(path)
    saved = AutoModelForSeq2SeqLM.from_pretrained(path)
    test = splits["test"]
    predictions = generate_texts(
        saved,
        AutoTokenizer.from_pretrained(path),
        [task.source(r) for r in test],
        max_source_tokens=params.max_source_tokens,
    )
    scores = task.score(predictions, [task.target(r) for r in test])
    (path / "README.md").write_text(
        _model_card(task, scores, params, len(tokenizer)), encoding="utf-8"
    )
    kind = f"tiny BART {task.task}, self-reported model-index on {task.dataset_id}"
    return ModelSpec(task.model_id, path, kind, None), Text2TextScore(
        "test", scores, round(seconds, 1)
    )


def text2text_scores(root: Path) -> dict[str, Text2TextScore]:
    """The scores that `build_text2text` measured after training, by model repo id, read from
    `root/text2text.json` (FileNotFoundError if the world there was not built with them).

    Example:
        >>> text2text_scores(world.root)["demo/tiny-summarizer"].metrics["rouge1"]
        71.0322
    """
    data = json.loads((root / SCORES_FILE).read_text(encoding="utf-8"))
    return {repo_id: Text2TextScore(**score) for repo_id, score in data.items()}


def build_text2text(
    root: Path, recipe: Text2TextRecipe = TEXT2TEXT_RECIPE
) -> tuple[tuple[DatasetSpec, ...], tuple[ModelSpec, ...]]:
    """Writes `demo/chat-summaries` and `demo/phrasebook-en-fr`, trains `demo/tiny-summarizer`
    and `demo/tiny-translator-en-fr` under `root`, and records their test scores and training
    seconds in `root/text2text.json` (`text2text_scores`).

    Called by `sandbox.world.build_world`, which caches the result and sets torch's thread count
    to `recipe.threads` around this call; about a minute and a half on one CPU core.

    Returns:
        The dataset specs and the model specs.
    """
    datasets = _write_datasets(root, recipe)
    summarizer, summary_score = _build_model(
        root, SUMMARIZER, summary_splits(recipe), recipe.summarizer
    )
    translator, translation_score = _build_model(
        root, TRANSLATOR, translation_splits(recipe), recipe.translator
    )
    scores = {
        summarizer.repo_id: asdict(summary_score),
        translator.repo_id: asdict(translation_score),
    }
    (root / SCORES_FILE).write_text(json.dumps(scores, indent=2) + "\n", encoding="utf-8")
    return datasets, (summarizer, translator)
