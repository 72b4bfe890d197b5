"""Dataset identity: when two spellings name the same dataset, and which modules a name selects.

Model cards spell one dataset many ways (``dair-ai/emotion``, ``Emotion``, ``datasets/emotion``,
``https://huggingface.co/datasets/dair-ai/emotion``, ``imagenet_1k`` for ``imagenet-1k``):
:func:`normalise` maps them to one key. A module's ``trained_on`` names may hold a
``{version}`` placeholder, expanded with each of its ``trained_on_versions`` (a versioned family
such as ``mozilla-foundation/common_voice_{version}_0``).

:class:`DatasetIndex` maps the normalised names to the modules of each task. Several modules of
one task may share a name only as a family (``glue``, ``tweet_eval``): each then has
``config_hints``, and a hint is shared only by modules evaluated together (linked by
``also_evaluate_on`` or on the same dataset repo and config). :func:`check_names` refuses any
other sharing when the config is loaded.

Example:
    >>> normalise(" https://huggingface.co/datasets/Dair-AI/Emotion ")
    'dair-ai/emotion'
    >>> normalise("imagenet_1k") == normalise("ImageNet-1k")
    True
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from evaluators.errors import ConfigError

if TYPE_CHECKING:
    from evaluators.config import EvaluationModule

VERSION = "{version}"
_PREFIXES = re.compile(
    r"^(?:(?:https?://)?(?:www\.)?(?:huggingface\.co|hf\.co)/)?datasets/", re.IGNORECASE
)
_SEPARATORS = re.compile(r"[\s_.\-]+")
_VERSION_MARK = re.compile(r"v(?=\d)")


def normalise(name: str) -> str:
    """One key per dataset spelling: casefolded, ``_ - .`` and spaces as one ``-``, without a
    ``datasets/`` or Hub URL prefix and surrounding whitespace or separators."""
    text = _PREFIXES.sub("", name.strip()).strip().strip("/")
    parts = [_SEPARATORS.sub("-", part.casefold()).strip("-") for part in text.split("/")]
    return "/".join(p for p in parts if p)


def tokens(text: str) -> list[str]:
    """The words of a name (a model id's last part, a model-index config), normalised."""
    return [t for t in re.split(r"[^0-9a-z]+", text.casefold()) if t]


def compact(name: str) -> str:
    """A name without separators and with ``v`` before a version number dropped: ``squad-v2``,
    ``squad_v2`` and ``squad2`` are one key."""
    return _VERSION_MARK.sub("", name.replace("-", ""))


def trained_names(module: EvaluationModule) -> list[str]:
    """The module's ``trained_on`` names with ``{version}`` expanded (as written, not normalised)."""
    names: list[str] = []
    for name in module.trained_on:
        if VERSION in name:
            names.extend(name.replace(VERSION, v) for v in module.trained_on_versions)
        else:
            names.append(name)
    return list(dict.fromkeys(names))


def linked(a: EvaluationModule, b: EvaluationModule) -> bool:
    """Whether two modules are evaluated together: one names the other in ``also_evaluate_on``,
    or both read the same dataset repo and config (another split)."""
    return (
        a.id in b.also_evaluate_on
        or b.id in a.also_evaluate_on
        or (a.dataset.repo == b.dataset.repo and a.dataset.config == b.dataset.config)
    )


class DatasetIndex:
    """Normalised dataset name -> the modules of each task that claim it."""

    def __init__(self, modules: Sequence[EvaluationModule]) -> None:
        self.modules = list(modules)
        self.tasks = frozenset(m.task for m in self.modules)
        self._named: dict[tuple[str, str], list[EvaluationModule]] = defaultdict(list)
        loose: dict[tuple[str, str], set[str]] = defaultdict(set)
        for module in self.modules:
            for name in dict.fromkeys(normalise(n) for n in trained_names(module)):
                self._named[(module.task, name)].append(module)
                loose[(module.task, compact(name))].add(name)
        # a spelling without separators or version mark (squad2, conll-2003) names the
        # dataset when it is one name's only such spelling
        self._loose = {k: next(iter(v)) for k, v in loose.items() if len(v) == 1}

    def named(self, task: str | None, name: str) -> list[EvaluationModule]:
        """The modules of ``task`` that list ``name`` (any spelling) in ``trained_on``."""
        if task is None:
            return []
        norm = normalise(name)
        found = self._named.get((task, norm))
        if found is None:
            found = self._named.get((task, self._loose.get((task, compact(norm)), "")), [])
        return list(found)

    def names(self, task: str) -> dict[str, list[EvaluationModule]]:
        """Every normalised name of ``task``'s modules -> its modules."""
        return {name: mods for (t, name), mods in self._named.items() if t == task}


def check_names(files: Iterable[tuple[Path, EvaluationModule]]) -> None:
    """Refuse two modules of one task that claim the same dataset name without being a family.

    Raises:
        ConfigError: naming both files and what to change.
    """
    items = list(files)
    path_of = {m.id: p for p, m in items}
    for path, module in items:
        if any(VERSION in n for n in module.trained_on) and not module.trained_on_versions:
            raise ConfigError(
                str(path),
                f"trained_on: a name with '{VERSION}' needs trained_on_versions (the versions "
                f"this module accepts, e.g. ['11', '13'])",
            )
    index = DatasetIndex([m for _, m in items])
    for (task, name), mods in index._named.items():
        if len(mods) < 2:
            continue
        bare = [m for m in mods if not m.config_hints]
        if bare:
            other = next(m for m in mods if m is not bare[0])
            raise ConfigError(
                str(path_of[bare[0].id]),
                f"trained_on: '{name}' ({task}) is also claimed by {path_of[other.id]}; "
                f"modules sharing a dataset name are a family: give each config_hints (the words "
                f"that name its config, e.g. [sst2, sst-2]), or remove the name from one",
            )
        for i, a in enumerate(mods):
            hints = {normalise(h) for h in a.config_hints}
            for b in mods[i + 1 :]:
                shared = sorted(hints & {normalise(h) for h in b.config_hints})
                if shared and not linked(a, b):
                    raise ConfigError(
                        str(path_of[a.id]),
                        f"config_hints: '{shared[0]}' of the '{name}' family is also claimed by "
                        f"{path_of[b.id]}; a hint names one config: change one, or link the "
                        f"modules with also_evaluate_on when both are to be evaluated",
                    )


def dataset_aliases(modules: Sequence[EvaluationModule]) -> dict[str, str]:
    """Every name the modules know a dataset by -> its Hub id: each module's ``dataset.repo``
    and its ``trained_on`` names, keyed by :func:`normalise` (and by :func:`compact` where that
    spelling is one name's only one). A bare name (``emotion``) stands for the module's repo; a
    Hub id (``mozilla-foundation/common_voice_11_0``) for itself, as the module spells it, even
    where the module evaluates on a mirror. A name that two modules give different repos is
    left out: it names no one dataset.

    Example:
        >>> from evaluators.config import load_modules
        >>> aliases = dataset_aliases([f.module for f in load_modules(Path("config/tasks"))])
        >>> aliases["emotion"], aliases["imdb"]  # doctest: +SKIP
        ('dair-ai/emotion', 'stanfordnlp/imdb')
    """
    found: dict[str, set[str]] = defaultdict(set)
    for module in modules:
        for name in (module.dataset.repo, *trained_names(module)):
            found[normalise(name)].add(name if "/" in name else module.dataset.repo)
    loose: dict[str, set[str]] = defaultdict(set)
    for key, repos in found.items():
        loose[compact(key)] |= repos
    aliases = {key: next(iter(repos)) for key, repos in loose.items() if len(repos) == 1}
    aliases.update({key: next(iter(repos)) for key, repos in found.items() if len(repos) == 1})
    return aliases


def hub_dataset_id(name: str, aliases: Mapping[str, str]) -> str:
    """The Hub id of a dataset as a model card spells it (``aliases``: :func:`dataset_aliases`);
    a name no module knows stays as written, lower-cased and without a ``datasets/`` or Hub URL
    prefix.

    Example:
        >>> aliases = {"emotion": "dair-ai/emotion", "dair-ai/emotion": "dair-ai/emotion"}
        >>> hub_dataset_id("https://huggingface.co/datasets/Emotion", aliases)
        'dair-ai/emotion'
        >>> hub_dataset_id("datasets/Acme/My_Data", aliases)
        'acme/my_data'
    """
    key = normalise(name)
    found = aliases.get(key) or aliases.get(compact(key))
    if found is not None:
        return found
    return _PREFIXES.sub("", name.strip()).strip().strip("/").lower()
