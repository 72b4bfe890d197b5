"""Module selection: which modules evaluate a model, from what it declares or what it shows.

A model that declares datasets (card ``datasets:``, the Hub's ``dataset:`` tags) is evaluated on
the modules that list them (rule ``declared``); a family name such as ``glue`` selects the
member whose ``config_hints`` appear in the model-index's dataset config/args/name or in the
model's name, else the member whose ``default_for_language`` is a language the model declares
(a bare language code among its tags, as the Hub lists a card's ``language:``), and nothing
when none does. Only a model that declares no dataset has its
training data inferred, from the first of these that points to one dataset (one module, or the
modules of one family config), among modules with ``infer: true``:

1. ``model-index``: the ``type`` (else ``name``) of its model-index datasets;
2. ``dataset-tag``: ``dataset:`` tags written in the card's ``tags``;
3. ``labels``: its config.json labels are exactly one dataset's classes (``label_aliases``
   allowed; generic ``LABEL_N`` never count);
4. ``name``: one, two or three adjacent words of its name spell a dataset name's last part or a
   config hint (the longest wins: ``squad-v2`` is SQuAD 2.0, not SQuAD; model words such as
   ``base`` or ``finetuned`` never count, and a name needs four characters or a digit).

No rule picks a dataset whose languages (``dataset.language``) the model's card or name rules
out (``evaluators.languages``): a Spanish model named after an English dataset was trained on a
Spanish one.

Pure and deterministic: no Hub, no model files.

Example:
    >>> outcome = Selector(modules).select(Hints.of(model))
    >>> [(c.module.id, c.rule, c.evidence) for c in outcome.chosen]
    [('emotion', 'name', "its name says 'emotion'")]
"""

from __future__ import annotations

import dataclasses
import enum
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from evaluators.identity import DatasetIndex, compact, linked, normalise, tokens, trained_names
from evaluators.languages import canonical, compatible, dataset_languages, model_languages
from store.types import DatasetMention, ModelRecord, Selection

if TYPE_CHECKING:
    from evaluators.config import EvaluationModule

DECLARED = "declared"
MODEL_INDEX = "model-index"
DATASET_TAG = "dataset-tag"
LABELS = "labels"
NAME = "name"
RULES = (DECLARED, MODEL_INDEX, DATASET_TAG, LABELS, NAME)

# Words of model names that say how a model was built, or what kind of task it does, never
# which dataset it was trained on (a family's config hint such as tweet_eval's `sentiment` is
# one of these: many sentiment models were trained on other data).
MODEL_WORDS = frozenset(
    """
    base large small tiny mini medium big huge xl xxl finetuned finetune fine tuned tuning ft
    uncased cased model models distilled distil pretrained trained test demo v1 v2 v3 en english
    multilingual classifier classification detection detector qa ner pos
    sentiment sentiments hate offensive toxic toxicity spam intent intents topic topics nli
    paraphrase similarity emotions
    """.split()  # noqa: SIM905 (a word list)
)
_GENERIC_LABEL = re.compile(r"^(label)?[-_ ]?\d+$", re.IGNORECASE)
MAX_WINDOW = 3


class Reason(enum.StrEnum):
    """Why a model gets no module."""

    TASK_NOT_SUPPORTED = "task not supported"
    NO_HINT = "no dataset hint"
    NOT_CONFIGURED = "datasets not configured"
    FAMILY_WITHOUT_CONFIG = "family without its config"
    AMBIGUOUS = "ambiguous"


@dataclass(frozen=True)
class Hints:
    """What selection reads of a model (``ModelRecord`` fields, or a stored model document)."""

    pipeline_tag: str | None
    datasets: tuple[str, ...] = ()
    model_index: tuple[DatasetMention, ...] = ()
    tags: tuple[str, ...] = ()
    labels: tuple[str, ...] = ()
    name: str = ""

    @classmethod
    def of(cls, model: ModelRecord) -> Hints:
        return cls(
            pipeline_tag=model.pipeline_tag,
            datasets=tuple(model.datasets),
            model_index=tuple(model.model_index),
            tags=tuple(model.tags),
            labels=tuple(model.labels),
            name=model.repo_id,
        )

    @classmethod
    def from_doc(cls, doc: dict[str, object]) -> Hints:
        """From a stored model document (``Store.planning_view``)."""
        mentions = doc.get("model_index") or ()
        fields = DatasetMention.__dataclass_fields__
        return cls(
            pipeline_tag=_str_or_none(doc.get("pipeline_tag")),
            datasets=tuple(str(d) for d in _seq(doc.get("datasets"))),
            model_index=tuple(
                DatasetMention(**{k: str(v) for k, v in m.items() if k in fields})
                for m in _seq(mentions)
                if isinstance(m, dict)
            ),
            tags=tuple(str(t) for t in _seq(doc.get("tags"))),
            labels=tuple(str(t) for t in _seq(doc.get("labels"))),
            name=str(doc.get("_id") or ""),
        )


def _str_or_none(value: object) -> str | None:
    return None if value is None else str(value)


def _seq(value: object) -> Sequence[object]:
    return value if isinstance(value, list | tuple) else ()


@dataclass(frozen=True)
class Chosen:
    module: EvaluationModule
    rule: str
    evidence: str

    @property
    def selection(self) -> Selection:
        return Selection(rule=self.rule, evidence=self.evidence)


@dataclass(frozen=True)
class Outcome:
    """The modules selected (each with how), or why none: ``reason`` and ``names`` (the dataset
    names not configured, the families without config, or the candidates of an ambiguity)."""

    chosen: tuple[Chosen, ...] = ()
    reason: Reason | None = None
    names: tuple[str, ...] = ()
    candidates: tuple[str, ...] = ()  # an ambiguity's module ids

    @property
    def modules(self) -> list[EvaluationModule]:
        return [c.module for c in self.chosen]

    def explain(self) -> str:
        """One line: why no module (empty when some were selected)."""
        if self.reason is None:
            return ""
        return f"{self.reason}: {', '.join(self.names)}" if self.names else str(self.reason)


@dataclass
class _Attempt:
    """The findings of one inference rule: groups of modules (one dataset each)."""

    groups: dict[frozenset[str], tuple[list[EvaluationModule], str]] = field(default_factory=dict)
    unconfigured: list[str] = field(default_factory=list)
    families: list[str] = field(default_factory=list)

    def add(self, modules: list[EvaluationModule], evidence: str) -> None:
        self.groups.setdefault(frozenset(m.id for m in modules), (modules, evidence))


class Selector:
    """Selection against one set of modules (its indexes built once)."""

    def __init__(self, modules: Sequence[EvaluationModule]) -> None:
        self.index = DatasetIndex(modules)
        self._own = {m.id: dataset_languages(m) for m in self.index.modules}
        # three-letter language codes that datasets use (`swa`, `lzh`): read as codes in tags
        self._codes = frozenset(
            code
            for m in self.index.modules
            for code in (*m.dataset.language, *dataset_languages(m))
            if len(code) == 3
        )
        self._keys: dict[str, dict[str, list[tuple[int, EvaluationModule]]]] = {}
        self._labels: dict[str, list[tuple[EvaluationModule, list[set[str]]]]] = {}
        for task in self.index.tasks:
            self._keys[task] = self._name_keys(task)
            self._labels[task] = [
                (m, _label_forms(m)) for m in self.index.modules if m.task == task and m.infer
            ]

    def _name_keys(self, task: str) -> dict[str, list[tuple[int, EvaluationModule]]]:
        """Compact name key -> (strength, module): 3 for a whole trained_on name, 2 for a config
        hint, 1 for the last part of a namespaced name (``emotion`` is the dataset of that name
        before a family's ``emotion`` config, and that before ``someone/emotion``)."""
        keys: dict[str, list[tuple[int, EvaluationModule]]] = {}
        for module in self.index.modules:
            if module.task != task or not module.infer:
                continue
            found: dict[str, int] = {}
            for name in trained_names(module):
                norm = normalise(name)
                last = norm.rsplit("/", 1)[-1]
                found[compact(last)] = max(found.get(compact(last), 0), 1 if "/" in norm else 3)
            hinted = set()
            for hint in module.config_hints:
                key = compact(normalise(hint))
                found[key] = max(found.get(key, 0), 2)
                hinted.add(key)
            for key, strength in found.items():
                # a maintainer's config hint may be three letters (`rte`, `qqp`)
                if _specific(key) or (key in hinted and len(key) >= 3 and key not in MODEL_WORDS):
                    keys.setdefault(key, []).append((strength, module))
        return keys

    def select(self, hints: Hints) -> Outcome:
        return _directed(hints, self._select(hints))

    def _select(self, hints: Hints) -> Outcome:
        task = hints.pipeline_tag
        if task is None or task not in self.index.tasks:
            return Outcome(reason=Reason.TASK_NOT_SUPPORTED, names=(str(task),))
        if hints.datasets:
            return self._declared(task, hints)
        reasons: list[_Attempt] = []
        for rule, attempt in (
            (MODEL_INDEX, lambda: self._model_index(task, hints)),
            (DATASET_TAG, lambda: self._dataset_tags(task, hints)),
            (LABELS, lambda: self._by_labels(task, hints)),
            (NAME, lambda: self._by_name(task, hints)),
        ):
            found = attempt()
            if len(found.groups) == 1:
                modules, evidence = next(iter(found.groups.values()))
                return Outcome(chosen=tuple(Chosen(m, rule, evidence) for m in modules))
            reasons.append(found)
        return _why_none(reasons)

    # declared ---------------------------------------------------------------------------------

    def _declared(self, task: str, hints: Hints) -> Outcome:
        chosen: dict[str, Chosen] = {}
        unconfigured: list[str] = []
        families: list[str] = []
        for name in hints.datasets:
            modules = self.index.named(task, name)
            if not modules:
                config = self._config_named(task, name)
                if config is None:
                    unconfigured.append(normalise(name))
                    continue
                for module in config:
                    evidence = f"its card declares '{name}', a config of {module.dataset.repo}"
                    chosen.setdefault(module.id, Chosen(module, DECLARED, evidence))
                continue
            picked = self._family(modules, hints, named=name)
            if picked is None:
                families.append(normalise(name))
                continue
            members, how = picked
            for module in members:
                evidence = f"its card declares '{name}'" + (f" and {how}" if how else "")
                chosen.setdefault(module.id, Chosen(module, DECLARED, evidence))
        if chosen:
            return Outcome(chosen=tuple(chosen.values()))
        if families:
            return Outcome(
                reason=Reason.FAMILY_WITHOUT_CONFIG, names=tuple(dict.fromkeys(families))
            )
        return Outcome(reason=Reason.NOT_CONFIGURED, names=tuple(dict.fromkeys(unconfigured)))

    def _config_named(self, task: str, name: str) -> list[EvaluationModule] | None:
        """The members of one family config that ``name`` (a declared dataset no module lists,
        such as `qqp`) spells as one of their ``config_hints``; None unless exactly one."""
        key = compact(normalise(name))
        claims = [m for strength, m in self._keys.get(task, {}).get(key, ()) if strength == 2]
        groups = _together(claims)
        return groups[0] if len(groups) == 1 else None

    def _family(
        self,
        modules: list[EvaluationModule],
        hints: Hints,
        mention: DatasetMention | None = None,
        named: str | None = None,
    ) -> tuple[list[EvaluationModule], str] | None:
        """The members a name selects, with how the config was found; None for a family whose
        config the model does not say. A name is a family's when it selects modules not evaluated
        together, or one module of a dataset config (``dataset.config``) with ``config_hints``:
        the other configs may be what the model was trained on. Modules without hints sharing a
        name (in memory; ``evalbot validate`` refuses them in files) are all selected."""
        hinted = [m for m in modules if m.config_hints]
        family = bool(hinted) and (
            len(_together(modules)) > 1 or any(m.dataset.config for m in hinted)
        )
        if not family:
            return modules, ""
        mentions = [mention] if mention is not None else list(hints.model_index)
        sources: list[tuple[str | None, list[str]]] = []
        if named is not None:  # a config's own name (`sst2`, `stanfordnlp/sst2`) says it
            sources.append((None, tokens(named)))
        for m in mentions:
            for part in (m.config, m.args, m.name):
                if part:
                    sources.append((f"its model-index dataset says '{part}'", tokens(part)))
        sources.append(("", _name_tokens(hints.name)))
        for where, words in sources:
            members = [m for m in modules if any(_has(words, h) for h in m.config_hints)]
            if members:
                if where is None:
                    return members, ""
                if not where:
                    hint = next(h for h in members[0].config_hints if _has(words, h))
                    where = f"its name says '{hint}'"
                return members, where
        languages = [m for m in modules if m.default_for_language in hints.tags]
        if languages:
            said = ", ".join(dict.fromkeys(str(m.default_for_language) for m in languages))
            return languages, f"its language is '{said}'"
        # else a language its name says (`wav2vec2-large-xlsr-turkish`), when one member has it
        named_languages = model_languages((), _name_tokens(hints.name))
        languages = [
            m
            for m in modules
            if m.default_for_language is not None
            and canonical(m.default_for_language) in named_languages
        ]
        if len(languages) == 1:
            return languages, f"its name says its language is '{languages[0].default_for_language}'"
        return None

    # inference --------------------------------------------------------------------------------

    def _spoken(self, hints: Hints) -> frozenset[str]:
        """The languages the model states (its card's codes, its name's language words)."""
        return model_languages(hints.tags, _name_tokens(hints.name), self._codes)

    def _may(self, module: EvaluationModule, spoken: frozenset[str]) -> bool:
        """Whether training data may be inferred to be ``module``'s dataset: it allows inference
        and its languages are not other than those the model states."""
        if not module.infer:
            return False
        return compatible(self._own[module.id], spoken)

    def _model_index(self, task: str, hints: Hints) -> _Attempt:
        found = _Attempt()
        spoken = self._spoken(hints)
        for mention in hints.model_index:
            names = [n for n in (mention.type, mention.name) if n]
            modules: list[EvaluationModule] = []
            said = ""
            for name in names:
                modules = [m for m in self.index.named(task, name) if self._may(m, spoken)]
                if modules:
                    said = name
                    break
            if not modules:
                if names:
                    found.unconfigured.append(normalise(names[0]))
                continue
            picked = self._family(modules, hints, mention)
            if picked is None:
                found.families.append(normalise(said))
                continue
            members, how = picked
            found.add(
                members,
                f"its model-index reports results on '{said}'" + (f" ({how})" if how else ""),
            )
        return found

    def _dataset_tags(self, task: str, hints: Hints) -> _Attempt:
        found = _Attempt()
        spoken = self._spoken(hints)
        for tag in hints.tags:
            if not tag.startswith("dataset:"):
                continue
            name = tag.split(":", 1)[1]
            modules = [m for m in self.index.named(task, name) if self._may(m, spoken)]
            if not modules:
                found.unconfigured.append(normalise(name))
                continue
            picked = self._family(modules, hints)
            if picked is None:
                found.families.append(normalise(name))
                continue
            members, how = picked
            found.add(members, f"its card is tagged '{tag}'" + (f" and {how}" if how else ""))
        return found

    def _by_labels(self, task: str, hints: Hints) -> _Attempt:
        found = _Attempt()
        labels = [_label_key(label) for label in hints.labels]
        if len(labels) < 2 or any(_GENERIC_LABEL.match(label) for label in hints.labels):
            return found
        spoken = self._spoken(hints)
        matched = [
            m
            for m, forms in self._labels.get(task, ())
            if _same_classes(labels, forms) and self._may(m, spoken)
        ]
        for group in _together(matched):
            found.add(
                group,
                f"its config.json labels are exactly {group[0].dataset.name}'s "
                f"{len(labels)} classes",
            )
        return found

    def _by_name(self, task: str, hints: Hints) -> _Attempt:
        found = _Attempt()
        spoken = self._spoken(hints)
        words = _name_tokens(hints.name)
        keys = self._keys.get(task, {})
        best = 0
        hits: list[tuple[str, list[EvaluationModule]]] = []
        for size in range(1, MAX_WINDOW + 1):
            for start in range(len(words) - size + 1):
                window = words[start : start + size]
                if all(w in MODEL_WORDS for w in window):
                    continue
                key = compact("-".join(window))
                claims = [(s, m) for s, m in keys.get(key, ()) if self._may(m, spoken)]
                if not claims:
                    continue
                strength = max(s for s, _ in claims)  # a key's strongest claims only
                modules = [m for s, m in claims if s == strength]
                if len(key) > best:
                    best, hits = len(key), [("-".join(window), modules)]
                elif len(key) == best:
                    hits.append(("-".join(window), modules))
        for said, modules in hits:
            picked = self._family(modules, hints)  # a family's name: its config must be said
            if picked is None:
                found.families.append(said)
                continue
            modules = picked[0]
            for group in _together(modules):
                found.add(group, f"its name says '{said}'")
        return found


def _why_none(attempts: Iterable[_Attempt]) -> Outcome:
    attempts = list(attempts)
    ambiguous = [
        tuple(sorted(i for ids in a.groups for i in ids)) for a in attempts if len(a.groups) > 1
    ]
    if ambiguous:  # the first rule that found several datasets: its candidates' module ids
        first = ambiguous[0]
        return Outcome(reason=Reason.AMBIGUOUS, names=(", ".join(first),), candidates=first)
    families = [f for a in attempts for f in a.families]
    if families:
        return Outcome(reason=Reason.FAMILY_WITHOUT_CONFIG, names=tuple(dict.fromkeys(families)))
    unconfigured = [u for a in attempts for u in a.unconfigured]
    if unconfigured:
        return Outcome(reason=Reason.NOT_CONFIGURED, names=tuple(dict.fromkeys(unconfigured)))
    return Outcome(reason=Reason.NO_HINT)


def _together(modules: list[EvaluationModule]) -> list[list[EvaluationModule]]:
    """``modules`` in groups evaluated together (one dataset each), in order."""
    groups: list[list[EvaluationModule]] = []
    unique = list({id(m): m for m in modules}.values())
    for module in unique:
        for group in groups:
            if any(linked(module, other) for other in group):
                group.append(module)
                break
        else:
            groups.append([module])
    return groups


def _specific(key: str) -> bool:
    return key not in MODEL_WORDS and (len(key) >= 4 or any(c.isdigit() for c in key))


def _name_tokens(repo_id: str) -> list[str]:
    return tokens(repo_id.rsplit("/", 1)[-1])


def _has(words: list[str], hint: str) -> bool:
    """Whether the hint's words appear, adjacent, in ``words`` (or glued: ``sst-2`` in ``sst2``)."""
    want = tokens(hint)
    if not want:
        return False
    size = len(want)
    if any(words[i : i + size] == want for i in range(len(words) - size + 1)):
        return True
    glued = compact("".join(want))
    return any(
        compact("".join(words[i : i + n])) == glued
        for n in range(1, MAX_WINDOW + 1)
        for i in range(len(words) - n + 1)
    )


def _label_key(label: str) -> str:
    return "-".join(tokens(label))


def _label_forms(module: EvaluationModule) -> list[set[str]]:
    """Per dataset class, the normalised spellings a model may use for it."""
    return [
        {_label_key(label), *(_label_key(a) for a in module.label_aliases.get(label, ()))}
        for label in module.dataset.labels
    ]


def _same_classes(labels: list[str], forms: list[set[str]]) -> bool:
    """Whether the model's labels are exactly the dataset's classes, one each, in any order."""
    if len(labels) != len(forms) or len(set(labels)) != len(labels):
        return False
    free = list(range(len(forms)))
    for label in labels:
        match = next((i for i in free if label in forms[i]), None)
        if match is None:
            return False
        free.remove(match)
    return True


def select(hints: Hints, modules: Sequence[EvaluationModule]) -> Outcome:
    """The modules that evaluate a model with these hints (see the module docstring)."""
    return Selector(modules).select(hints)


# translation direction ---------------------------------------------------------------------

# "en-to-ro", "en_to_ro", "en2ro": said outright; "en-ro": the last such pair of codes
# A code is a whole token: `de451d36` (a hash) holds no `de`
_TO_PAIR = re.compile(
    r"(?<![a-z0-9])([a-z]{2,3})(?:[-_]to[-_]|[-_]?2[-_]?)([a-z]{2,3})(?![a-z0-9])"
)
_PAIR = re.compile(r"(?=(?<![a-z0-9])([a-z]{2,3})[-_]([a-z]{2,3})(?![a-z0-9]))")


def name_direction(name: str) -> tuple[str, str] | None:
    """The translation direction a model's name states: its last pair of language codes,
    ``opus-mt-en-ro``, ``t5-small-finetuned-en-to-ro``, ``nllb-en2fr`` (None: it states none).

    >>> name_direction("Helsinki-NLP/opus-mt-en-ro")
    ('en', 'ro')
    >>> name_direction("org/marian-finetuned-kde4-en-to-fr")
    ('en', 'fr')
    >>> name_direction("org/bart-large-cnn") is None
    True
    >>> name_direction("org/tiny-mt-de451d36") is None  # a hash after the name: no code
    True
    """
    from evaluators.languages import ISO_639_1

    repo = name.rpartition("/")[2].lower()
    # `opus-mt-en-de`: `mt` is machine translation here, not Maltese
    repo = re.sub(r"(?<![a-z])opus[-_]mt(?![a-z])", "opus", repo)
    for pattern in (_TO_PAIR, _PAIR):
        pairs = [
            (a, b) for a, b in pattern.findall(repo) if a != b and a in ISO_639_1 and b in ISO_639_1
        ]
        if pairs:
            return pairs[-1]
    return None


def _directed(hints: Hints, outcome: Outcome) -> Outcome:
    """Translation modules of the one direction the model translates. Where the model's name
    states a direction, modules of other directions are dropped; where it does not and the
    modules chosen translate one dataset config both ways, none is kept (a model scored on
    the direction it was not trained for would publish a meaningless number)."""
    directed = [c for c in outcome.chosen if c.module.direction is not None]
    if not directed:
        return outcome
    said = name_direction(hints.name)

    def way(c: Chosen) -> tuple[str, str]:
        d = c.module.direction
        assert d is not None
        return (d.source, d.target)

    if said is not None:
        kept = tuple(c for c in outcome.chosen if c.module.direction is None or way(c) == said)
        if kept:
            return dataclasses.replace(outcome, chosen=kept)
        return Outcome(reason=Reason.NOT_CONFIGURED, names=(f"{said[0]} to {said[1]}",))
    both = {way(c) for c in directed}
    if any((b, a) in both for a, b in both):
        ids = tuple(c.module.id for c in directed)
        return Outcome(reason=Reason.AMBIGUOUS, names=ids, candidates=ids)
    return outcome
