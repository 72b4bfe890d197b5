"""Evaluation modules that a dataset configures itself, from its card's ``train-eval-index``.

Hugging Face's Evaluation on the Hub read a list under ``train-eval-index`` in a dataset card's
YAML: each entry names a ``config``, a ``task`` and ``task_id``, the ``splits`` (``eval_split``
is evaluated) and a ``col_mapping`` from the dataset's columns to standard names (``text`` and
``target`` for classification, ``tokens`` and ``tags`` for NER, ``question``, ``context`` and
``answers.text``/``answers.answer_start`` for extractive QA). :func:`module_from_card` turns the
first usable entry into an :class:`~evaluators.config.EvaluationModule`; class names come from
the card's ``dataset_info.features`` (``ClassLabel``). Nothing here reads the network.

A maintainer's YAML module always wins over a card: :func:`covers` says whether one does.
:func:`to_yaml` prints a derived module as a file to review and commit.

Example:
    >>> derived = module_from_card("acme/tweets", card, revision=sha, features=None)  # doctest: +SKIP
    >>> derived.module.id, derived.module.dataset.columns.roles()  # doctest: +SKIP
    ('acme--tweets', {'input': 'text', 'label': 'label'})
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from evaluators import tasks as task_types
from evaluators.config import COMMIT_SHA, EvaluationModule, read_yaml
from evaluators.errors import CardModuleError, ConfigError

SOURCE = "card"

# The card's `task` -> our task type.
CARD_TASKS: Mapping[str, str] = {
    "text-classification": "text-classification",
    "image-classification": "image-classification",
    "token-classification": "token-classification",
    "question-answering": "question-answering",
    "summarization": "summarization",
    "translation": "translation",
    "automatic-speech-recognition": "automatic-speech-recognition",
    "audio-classification": "audio-classification",
}
# The card's `task_id` (AutoTrain's names; `-` read as `_`) -> our task type.
TASK_IDS: Mapping[str, str] = {
    "binary_classification": "text-classification",
    "multi_class_classification": "text-classification",
    "image_binary_classification": "image-classification",
    "image_multi_class_classification": "image-classification",
    "entity_extraction": "token-classification",
    "extractive_question_answering": "question-answering",
    "summarization": "summarization",
    "translation": "translation",
    "speech_recognition": "automatic-speech-recognition",
    "audio_classification": "audio-classification",
    "keyword_spotting": "audio-classification",
    "audio_intent_classification": "audio-classification",
    "audio_language_identification": "audio-classification",
}
# Standard names of `col_mapping` that are not our role names.
STANDARD_ROLES: Mapping[str, str] = {
    "text": "input",
    "image": "input",
    "audio": "input",
    "target": "label",
}
# Standard names of `col_mapping` for tasks that generate text: source text -> target text.
GENERATION_ROLES: Mapping[str, str] = {"text": "input", "source": "input", "target": "target"}
# Standard names of `col_mapping` for speech recognition (Evaluation on the Hub's LibriSpeech:
# `{file: path, audio: audio, text: text}`); `path` names a file column evalbot does not read.
SPEECH_ROLES: Mapping[str, str | None] = {"audio": "input", "text": "target", "path": None}
# Sub-fields of a role whose column is a struct: what our loaders read in it.
ROLE_FIELDS: Mapping[str, tuple[str, ...]] = {"answers": ("text", "answer_start")}
# The role whose ClassLabel names are `dataset.labels`, for task types that need labels.
LABEL_ROLES = ("label", "tags")
# Keys a task's template under `_templates/` may give a derived module.
TEMPLATE_KEYS = (
    "perturbations",
    "processors",
    "batch_size",
    "max_length",
    "score_threshold",
    "generation",
)


@dataclass(frozen=True)
class DerivedModule:
    """A module derived from a dataset card.

    Attributes:
        module: The evaluation module, validated as a YAML module is.
        source: Where it came from: ``"card"``.
        dataset_id: The dataset whose card it was read from.
        revision: The dataset commit whose card was read (None when unknown).
        warnings: What a maintainer should review before committing it as YAML.
    """

    module: EvaluationModule
    source: str
    dataset_id: str
    revision: str | None
    warnings: tuple[str, ...] = ()


def module_id(dataset_id: str) -> str:
    """The id of a module derived for ``dataset_id``: lowercase, ``/`` as ``--``.

    >>> module_id("Acme/Tweets_v2")
    'acme--tweets_v2'
    """
    return dataset_id.strip().lower().replace("/", "--")


def covers(modules: Iterable[EvaluationModule], dataset_id: str) -> bool:
    """Whether one of ``modules`` evaluates ``dataset_id`` (its ``dataset.repo`` or one of its
    ``trained_on``, case-insensitively): then the dataset's card is never read."""
    wanted = dataset_id.casefold()
    return any(
        m.dataset.repo.casefold() == wanted or wanted in {t.casefold() for t in m.trained_on}
        for m in modules
    )


def module_from_card(
    dataset_id: str,
    card_yaml: Mapping[str, Any],
    *,
    revision: str | None,
    features: Mapping[str, Any] | Sequence[Any] | None,
    config: str | None = None,
    tasks_dir: Path | None = None,
) -> DerivedModule:
    """The evaluation module that ``dataset_id``'s card configures in its ``train-eval-index``.

    Args:
        dataset_id: The dataset on the Hub (``org/name``).
        card_yaml: The card's YAML front matter (the Hub's ``cardData``).
        revision: The commit sha of the dataset whose card this is; pinned as
            ``dataset.revision`` when it is a full sha.
        features: The split's features as the caller read them: the card's
            ``dataset_info.features`` list, or ``datasets.Features.to_dict()``; None: the card's
            own ``dataset_info``.
        config: Take the entry of this dataset config only (None: the first usable entry).
        tasks_dir: The folder of the YAML modules; its ``_templates/<task>.yaml`` gives the
            perturbations, processors and sizes of the derived module.

    Returns:
        The module with where it came from and what to review.

    Raises:
        CardModuleError: the card has no usable entry, or one that cannot be evaluated; the
            message says what is missing.

    Example:
        >>> card = {"dataset_info": {"features": [{"name": "text", "dtype": "string"},
        ...     {"name": "label", "dtype": {"class_label": {"names": {"0": "neg", "1": "pos"}}}}]},
        ...     "train-eval-index": [{"config": "default", "task": "text-classification",
        ...     "task_id": "binary_classification", "splits": {"eval_split": "test"},
        ...     "col_mapping": {"text": "text", "label": "target"}}]}
        >>> derived = module_from_card("acme/reviews", card, revision=None, features=None)
        >>> derived.module.id, derived.module.dataset.labels
        ('acme--reviews', ['neg', 'pos'])
    """
    entry, task = _entry(dataset_id, card_yaml, config)
    warnings: list[str] = []
    fix = _fix(task, dataset_id)
    roles = _roles(dataset_id, entry.get("col_mapping"), task, fix)
    split = _split(dataset_id, entry, fix)
    entry_config = _config(card_yaml, entry.get("config"), warnings)
    declared = _features(card_yaml, entry_config) if features is None else features
    columns = _columns(declared)
    if columns is not None:
        absent = sorted({c.split(".")[0] for c in roles.values() if c.split(".")[0] not in columns})
        if absent:
            raise CardModuleError(
                dataset_id,
                f"train-eval-index col_mapping names columns {absent} that the card's "
                f"dataset_info.features lack (it has {sorted(columns)}); {fix}",
            )
    labels: list[str] = []
    if task_types.get(task).needs_labels:
        labels = _labels(dataset_id, roles, columns, fix)
    if revision is not None and not COMMIT_SHA.fullmatch(revision):
        warnings.append(f"revision {revision!r} is not a full commit sha: not pinned")
        revision = None
    if revision is None:
        warnings.append("dataset.revision is not pinned: pin the commit sha you evaluated")
    dataset: dict[str, Any] = {
        "repo": dataset_id,
        "name": _name(card_yaml, dataset_id),
        "config": entry_config,
        "split": split,
        "revision": revision,
        "columns": roles,
    }
    if labels:
        dataset["labels"] = labels
    data: dict[str, Any] = {
        "id": module_id(dataset_id),
        "task": task,
        "version": 1,
        "dataset": dataset,
        "trained_on": [dataset_id],
        **_template(tasks_dir, task, warnings),
    }
    if task == "translation":
        direction = direction_of(roles, entry_config)
        if direction is None:
            raise CardModuleError(
                dataset_id,
                f"cannot tell the languages of the translation: name the columns' fields "
                f"(translation.de: source, translation.en: target) or a config such as de-en; "
                f"{fix}",
            )
        data["direction"] = direction
    try:
        module = EvaluationModule.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or '(top)'}: {err['msg']}"
            for err in exc.errors()
        )
        raise CardModuleError(
            dataset_id, f"the derived module is invalid: {problems}; {fix}"
        ) from exc
    return DerivedModule(
        module=module,
        source=SOURCE,
        dataset_id=dataset_id,
        revision=revision,
        warnings=tuple(warnings),
    )


def _fix(task: str | None, dataset_id: str) -> str:
    folder = task or "<task>"
    return (
        f"a maintainer can write config/tasks/{folder}/{module_id(dataset_id)}.yaml for it instead"
    )


def _entry(
    dataset_id: str, card_yaml: Mapping[str, Any], config: str | None
) -> tuple[Mapping[str, Any], str]:
    """The first entry (of ``config``, when given) whose task is a registered task type."""
    index = card_yaml.get("train-eval-index") if isinstance(card_yaml, Mapping) else None
    if not index:
        raise CardModuleError(
            dataset_id, f"the dataset card has no train-eval-index; {_fix(None, dataset_id)}"
        )
    if isinstance(index, Mapping):
        index = [index]
    if not isinstance(index, list):
        raise CardModuleError(
            dataset_id,
            f"train-eval-index must be a list of entries, not {type(index).__name__}; "
            f"{_fix(None, dataset_id)}",
        )
    entries = [e for e in index if isinstance(e, Mapping)]
    if config is not None:
        entries = [e for e in entries if str(e.get("config")) == config]
        if not entries:
            known = sorted({str(e.get("config")) for e in index if isinstance(e, Mapping)})
            raise CardModuleError(
                dataset_id,
                f"train-eval-index has no entry for config {config!r} (it has {known}); "
                f"{_fix(None, dataset_id)}",
            )
    seen = []
    for entry in entries:
        task = card_task(entry.get("task"), entry.get("task_id"))
        if task is not None and task_types.find(task) is not None:
            return entry, task
        seen.append(f"{entry.get('task')}/{entry.get('task_id')}")
    supported = sorted(t for t in set(CARD_TASKS.values()) if task_types.find(t) is not None)
    raise CardModuleError(
        dataset_id,
        f"no train-eval-index entry is of a task evalbot evaluates (it has {seen}; evalbot "
        f"evaluates {supported}); {_fix(None, dataset_id)}",
    )


def card_task(task: Any, task_id: Any) -> str | None:
    """Our task type for a card's ``task`` and ``task_id``; None when it is not one of ours
    (e.g. ``natural_language_inference``: pairs of texts, or ``summarization``).

    >>> card_task("image-classification", "multi_class_classification")
    'image-classification'
    >>> card_task("text-classification", "natural_language_inference") is None
    True
    """
    name = str(task).strip().lower() if task else None
    if task_id in (None, ""):
        return CARD_TASKS.get(name) if name else None
    by_id = TASK_IDS.get(str(task_id).strip().lower().replace("-", "_"))
    if by_id is None:
        return None
    if name == "image-classification" and by_id == "text-classification":
        return "image-classification"  # image cards wrote the plain classification task_ids
    if name is not None and CARD_TASKS.get(name) != by_id:
        return None
    return by_id


def _pairs(col_mapping: Mapping[Any, Any], prefix: str = "") -> Iterable[tuple[str, str]]:
    """(dataset path, standard path) pairs: ``answers: {text: text}`` and
    ``answers.text: answers.text`` both give ``("answers.text", "answers.text")``."""
    for column, standard in col_mapping.items():
        if isinstance(standard, Mapping):
            for sub, std in _pairs(standard):
                yield f"{prefix}{column}.{sub}", f"{prefix}{column}.{std}"
        else:
            yield f"{prefix}{column}", str(standard)


def _roles(dataset_id: str, col_mapping: Any, task: str, fix: str) -> dict[str, str]:
    """``dataset.columns`` (role -> dataset column) from the card's column -> standard name."""
    if not isinstance(col_mapping, Mapping) or not col_mapping:
        raise CardModuleError(
            dataset_id, f"the train-eval-index entry has no col_mapping (column: name); {fix}"
        )
    task_type = task_types.get(task)
    if task_type.generates:
        return _generation_roles(dataset_id, col_mapping, task, fix)
    if task == "automatic-speech-recognition":
        return _speech_roles(dataset_id, col_mapping, task, fix)
    readable = (*task_type.columns, *task_type.optional_columns)
    roles: dict[str, str] = {}
    for column_path, standard_path in _pairs(col_mapping):
        column, _, field = column_path.partition(".")
        standard, _, std_field = standard_path.partition(".")
        role = STANDARD_ROLES.get(standard, standard) if "input" in readable else standard
        if role not in readable:
            raise CardModuleError(
                dataset_id,
                f"col_mapping maps column '{column_path}' to '{standard_path}', which task "
                f"'{task}' does not read (it reads {_standard_names(readable)}); {fix}",
            )
        wanted = ROLE_FIELDS.get(role, ())
        if (field or std_field) and (field != std_field or std_field not in wanted):
            raise CardModuleError(
                dataset_id,
                f"col_mapping maps '{column_path}' to '{standard_path}': evalbot reads "
                f"'{role}' as one column with the fields {list(wanted)} under their own "
                f"names; {fix}",
            )
        if roles.setdefault(role, column) != column:
            raise CardModuleError(
                dataset_id,
                f"col_mapping maps both '{roles[role]}' and '{column}' to '{standard}'; {fix}",
            )
    missing = [role for role in task_type.columns if role not in roles]
    if missing:
        raise CardModuleError(
            dataset_id,
            f"col_mapping names no column for {_standard_names(missing)} (task '{task}' needs "
            f"{_standard_names(task_type.columns)}; it maps {dict(_pairs(col_mapping))}); {fix}",
        )
    return roles


def _generation_roles(dataset_id: str, col_mapping: Any, task: str, fix: str) -> dict[str, str]:
    """``input`` and ``target`` of a generation task: ``{dialogue: text, summary: target}``, or
    fields of a struct column, ``{translation.de: source, translation.en: target}`` (the role's
    column is then the path ``translation.de``)."""
    roles: dict[str, str] = {}
    for column_path, standard in _pairs(col_mapping):
        role = GENERATION_ROLES.get(standard)
        if role is None:
            raise CardModuleError(
                dataset_id,
                f"col_mapping maps column '{column_path}' to '{standard}'; task '{task}' reads "
                f"the source text ('text' or 'source') and the 'target' text; {fix}",
            )
        if roles.setdefault(role, column_path) != column_path:
            raise CardModuleError(
                dataset_id,
                f"col_mapping maps both '{roles[role]}' and '{column_path}' to the {role}; {fix}",
            )
    missing = [role for role in ("input", "target") if role not in roles]
    if missing:
        raise CardModuleError(
            dataset_id,
            f"col_mapping names no {' and no '.join(missing)} column (task '{task}' reads a "
            f"source text and a target text; it maps {dict(_pairs(col_mapping))}); {fix}",
        )
    return roles


def _speech_roles(dataset_id: str, col_mapping: Any, task: str, fix: str) -> dict[str, str]:
    """``input`` (audio) and ``target`` (transcript) of a speech recognition entry."""
    roles: dict[str, str] = {}
    for column_path, standard in _pairs(col_mapping):
        if standard not in SPEECH_ROLES:
            raise CardModuleError(
                dataset_id,
                f"col_mapping maps column '{column_path}' to '{standard}'; task '{task}' reads "
                f"the 'audio' and its transcript 'text'; {fix}",
            )
        role = SPEECH_ROLES[standard]
        if role is not None:
            roles[role] = column_path
    missing = [name for name, role in (("audio", "input"), ("text", "target")) if role not in roles]
    if missing:
        raise CardModuleError(
            dataset_id,
            f"col_mapping names no {' and no '.join(missing)} column (task '{task}' reads the "
            f"audio and its transcript); {fix}",
        )
    return roles


def direction_of(roles: Mapping[str, str], config: str | None) -> dict[str, str] | None:
    """A translation's languages from its columns' fields (``translation.de`` ->
    ``translation.en``), else from its config's name (``de-en``); None when neither says.

    >>> direction_of({"input": "translation.de", "target": "translation.en"}, None)
    {'source': 'de', 'target': 'en'}
    >>> direction_of({"input": "src", "target": "tgt"}, "ro-en")
    {'source': 'ro', 'target': 'en'}
    """
    from evaluators.languages import ISO_639_1

    source = roles.get("input", "").rpartition(".")[2]
    target = roles.get("target", "").rpartition(".")[2]
    if source in ISO_639_1 and target in ISO_639_1 and source != target:
        return {"source": source, "target": target}
    parts = re.split(r"[-_]", config or "")
    if len(parts) == 2 and all(p in ISO_639_1 for p in parts) and parts[0] != parts[1]:
        return {"source": parts[0], "target": parts[1]}
    return None


def _standard_names(roles: Iterable[str]) -> list[str]:
    """Our roles as a card names them (``input`` -> ``text``, ``label`` -> ``target``)."""
    back = {"input": "text", "label": "target"}
    return [back.get(role, role) for role in roles]


def _split(dataset_id: str, entry: Mapping[str, Any], fix: str) -> str:
    splits = entry.get("splits")
    split = splits.get("eval_split") if isinstance(splits, Mapping) else None
    if not isinstance(split, str) or not split.strip():
        raise CardModuleError(
            dataset_id, f"the train-eval-index entry names no splits.eval_split; {fix}"
        )
    return split.strip()


def _name(card_yaml: Mapping[str, Any], dataset_id: str) -> str:
    pretty = card_yaml.get("pretty_name")
    return pretty.strip() if isinstance(pretty, str) and pretty.strip() else dataset_id


def _declared_configs(card_yaml: Mapping[str, Any]) -> list[tuple[str, bool]]:
    """(config name, is the default) of each config the card declares (``configs`` first, else
    ``dataset_info``'s ``config_name``)."""
    found: list[tuple[str, bool]] = []
    for key in ("configs", "dataset_info"):
        items = card_yaml.get(key)
        for item in items if isinstance(items, list) else [items]:
            if isinstance(item, Mapping) and item.get("config_name") is not None:
                found.append((str(item["config_name"]), bool(item.get("default"))))
        if found:
            return found
    return found


def _config(card_yaml: Mapping[str, Any], raw: Any, warnings: list[str]) -> str | None:
    """The entry's config; ``default`` (or none) where the card declares no such config is
    read as the card's default config (Evaluation on the Hub wrote ``default`` for it)."""
    config = str(raw) if raw not in (None, "") else None
    declared = _declared_configs(card_yaml)
    names = [name for name, _ in declared]
    if not declared or config in names:
        return config
    if config in (None, "default"):
        chosen = next((name for name, default in declared if default), names[0])
        warnings.append(
            f"train-eval-index names config {config!r}, which the card does not declare: "
            f"the card's default config {chosen!r} is evaluated"
        )
        return chosen
    warnings.append(f"train-eval-index names config {config!r}; the card declares {names}")
    return config


def _features(card_yaml: Mapping[str, Any], config: str | None) -> Any:
    """The ``dataset_info.features`` of ``config`` (or of the only config) in the card."""
    info = card_yaml.get("dataset_info")
    infos: list[Mapping[str, Any]] = [
        i for i in (info if isinstance(info, list) else [info]) if isinstance(i, Mapping)
    ]
    if len(infos) > 1:
        infos = [i for i in infos if i.get("config_name", "default") == (config or "default")]
    return infos[0].get("features") if len(infos) == 1 else None


def _columns(features: Any) -> dict[str, Any] | None:
    """Column -> feature, from either form of ``features``; None when it declares none."""
    if isinstance(features, Mapping) and features:
        return dict(features)
    if isinstance(features, list) and features:
        return {
            str(item["name"]): item
            for item in features
            if isinstance(item, Mapping) and "name" in item
        }
    return None


def _class_names(feature: Any) -> list[str] | None:
    """The ClassLabel names in a feature (of a sequence's items too), in class order."""
    if not isinstance(feature, Mapping):
        return None
    if feature.get("_type") == "ClassLabel":  # datasets' Features.to_dict()
        names = feature.get("names")
        return [str(n) for n in names] if isinstance(names, list) else None
    if isinstance(feature.get("class_label"), Mapping):  # the card's YAML
        names = feature["class_label"].get("names")
        if isinstance(names, Mapping):
            try:
                return [str(names[k]) for k in sorted(names, key=int)]
            except (TypeError, ValueError):
                return None
        return [str(n) for n in names] if isinstance(names, list) else None
    for key in ("dtype", "sequence", "list", "feature"):
        found = _class_names(feature.get(key))
        if found is not None:
            return found
    return None


def _labels(
    dataset_id: str, roles: Mapping[str, str], columns: dict[str, Any] | None, fix: str
) -> list[str]:
    role = next(r for r in LABEL_ROLES if r in roles)
    column = roles[role]
    names = _class_names(columns.get(column)) if columns is not None else None
    if not names:
        raise CardModuleError(
            dataset_id,
            f"the card's dataset_info.features declare no ClassLabel names for column "
            f"'{column}': evalbot needs the class names in class order as dataset.labels; "
            f"{fix}",
        )
    return names


def _template(tasks_dir: Path | None, task: str, warnings: list[str]) -> dict[str, Any]:
    """The defaults of ``task``'s template (``_templates/<task>.yaml``), if there is one."""
    if tasks_dir is None:
        return {}
    path = tasks_dir / "_templates" / f"{task.replace('-', '_')}.yaml"
    if not path.is_file():
        return {}
    try:
        data = read_yaml(path)
    except ConfigError as exc:
        warnings.append(f"template not used: {exc}")
        return {}
    if data.get("task", task) != task:
        return {}
    return {key: data[key] for key in TEMPLATE_KEYS if key in data}


# -- YAML ------------------------------------------------------------------------------------

DATASET_KEYS = (
    "repo",
    "name",
    "config",
    "split",
    "revision",
    "columns",
    "objects",
    "labels",
    "description",
    "homepage",
    "reference",
)


def to_yaml(module: EvaluationModule, *, comments: Sequence[str] = ()) -> str:
    """``module`` as a YAML module file a maintainer can commit as
    ``config/tasks/<task>/<id>.yaml``: self-contained (no ``include:``), keys in the order of
    the shipped modules, values left at their defaults omitted, ``comments`` on top.

    >>> print(to_yaml(module, comments=["Derived from acme/reviews's card."]))  # doctest: +SKIP
    # Derived from acme/reviews's card.
    id: acme--reviews
    task: text-classification
    ...
    """
    dumped = module.model_dump(mode="json")
    task_type = task_types.get(module.task)
    always = {"id", "task", "version", "dataset", "trained_on", "perturbations", "batch_size"}
    if task_type.modality == "text":
        always.add("max_length")
    out: dict[str, Any] = {}
    for key, field in EvaluationModule.model_fields.items():
        value = dumped[key]
        if key == "dataset":
            value = {k: value[k] for k in DATASET_KEYS if k in value and _kept(k, value[k])}
            value["columns"] = module.dataset.columns.roles()
        elif key == "processors":
            if value == list(task_type.processors):
                continue
        elif key not in always and value == field.get_default(call_default_factory=True):
            continue
        out[key] = value
    header = "".join(f"# {line}\n" for text in comments for line in textwrap.wrap(text, 98) or [""])
    body = yaml.safe_dump(
        out, sort_keys=False, allow_unicode=True, default_flow_style=None, width=100
    )
    return header + body


def _kept(key: str, value: Any) -> bool:
    """Whether a ``dataset`` key is written (``config`` and ``revision`` always are)."""
    return key in ("config", "revision") or value not in (None, [], {})
