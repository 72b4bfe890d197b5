"""Every module checked against the Hub it points at (``evalbot validate --online``).

For each module: its dataset exists and the bot's token may read its files (a gated dataset
needs its terms accepted by the bot's account), the pinned revision exists, the config and split
exist at it, the configured columns (and object fields) exist, and the class names of the label
column are ``dataset.labels`` (compared as evaluation compares them: ``evaluators.labels``
normalisation, any order). The features come from ``datasets`` streaming the split: the card's
``dataset_info`` or the data files' schema, never the rows. With no Hub reachable, nothing is
checked and every line says so.

Example:
    >>> for check in check_modules(config.modules, endpoint=url, token=token):  # doctest: +SKIP
    ...     print(check.line())
    ok: config/tasks/text-classification/emotion.yaml: module 'emotion': dair-ai/emotion@cab853a1
    split test: columns text, label; its class names are dataset.labels
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import datasets
import httpx2
from huggingface_hub import HfApi
from huggingface_hub.errors import (
    GatedRepoError,
    HfHubHTTPError,
    LocalEntryNotFoundError,
    OfflineModeIsEnabled,
    RepositoryNotFoundError,
    RevisionNotFoundError,
)

from bot.errors import HubUnreachableError
from bot.hub import preflight
from evaluators.config import EvaluationModule, ModuleFile
from evaluators.datasets_io import (
    has_loading_script,
    is_loading_script_error,
    loading_script_fix,
)
from evaluators.labels import normalize

Status = Literal["ok", "error", "not checked"]


@dataclass(frozen=True)
class ModuleCheck:
    """The check of one module against the Hub; ``detail`` says what was found, or what is
    wrong and what to change."""

    item: ModuleFile
    status: Status
    detail: str

    @property
    def wrong(self) -> bool:
        return self.status == "error"

    def line(self) -> str:
        return f"{self.status}: {self.item.path}: module '{self.item.module.id}': {self.detail}"


def check_modules(
    modules: Sequence[ModuleFile], *, endpoint: str, token: str | None
) -> list[ModuleCheck]:
    """Check every module's dataset on the Hub at ``endpoint`` with the bot's ``token``.

    Args:
        modules: The modules, with the files they were read from.
        endpoint: The Hub (``HF_ENDPOINT``; ``datasets`` reads the same variable).
        token: The bot's token (``HF_TOKEN``), or None to check as an anonymous user.

    Returns:
        One check per module, in order: ``ok``, ``error`` (the module does not match its
        dataset) or ``not checked`` (the Hub could not be reached or answered with an outage).
    """
    try:  # one quick look first: the clients would retry an unreachable Hub for half a minute
        preflight(endpoint, timeout=5.0)
    except HubUnreachableError:
        why = f"could not reach the Hub at {endpoint} to read the dataset"
        return [ModuleCheck(item, "not checked", why) for item in modules]
    api = HfApi(endpoint=endpoint, token=token)
    return [_check(item, api, endpoint=endpoint, token=token) for item in modules]


def _check(item: ModuleFile, api: HfApi, *, endpoint: str, token: str | None) -> ModuleCheck:
    try:
        return _compare(item, api, endpoint=endpoint, token=token)
    except (httpx2.TransportError, LocalEntryNotFoundError, OfflineModeIsEnabled) as exc:
        return ModuleCheck(item, "not checked", f"could not reach the Hub at {endpoint} ({exc})")
    except HfHubHTTPError as exc:
        status = exc.response.status_code if exc.response is not None else None
        if status is None or status >= 500 or status == 429:
            return ModuleCheck(item, "not checked", f"the Hub at {endpoint} answered {status}")
        refused = f"{item.module.dataset.repo}: the Hub refused it ({exc.server_message or exc})"
        return ModuleCheck(item, "error", refused)


def _compare(item: ModuleFile, api: HfApi, *, endpoint: str, token: str | None) -> ModuleCheck:
    ref = item.module.dataset
    sha = _readable_revision(item.module, api, endpoint=endpoint, token=token)
    if isinstance(sha, _Problem):
        return ModuleCheck(item, "error", sha.problem)
    where = f"{ref.repo}@{sha[:8]}" + (f" config {ref.config}" if ref.config else "")
    if ref.format == "coco-zip":
        features = _zip_features(item.module, api, sha)
    else:
        features = _features(item.module, sha, token=token)
    if isinstance(features, _Problem):
        return ModuleCheck(item, "error", f"{where}: {features.problem}")
    where += f" split {ref.split}"
    if features is None:
        undeclared = "declares no features: columns and labels are checked when evaluated"
        return ModuleCheck(item, "not checked", f"{where} {undeclared}")
    labelled = _label_column(item.module)
    names = _class_names(item.module, features) if labelled in features else None
    problem = _columns(item.module, features) or _labels(item.module, names)
    if problem is not None:
        return ModuleCheck(item, "error", f"{where}: {problem}")
    found = f"columns {', '.join(ref.columns.roles().values())}; " + (
        "its class names are dataset.labels"
        if names is not None
        else "plain label values, checked against dataset.labels when evaluated"
    )
    unpinned = "" if ref.revision else f" (not pinned: {ref.head} is at {sha}; pin it)"
    return ModuleCheck(item, "ok", f"{where}: {found}{unpinned}")


@dataclass(frozen=True)
class _Problem:
    """What is wrong with a module, and what to change."""

    problem: str


def _readable_revision(
    module: EvaluationModule, api: HfApi, *, endpoint: str, token: str | None
) -> str | _Problem:
    """The commit sha of the module's revision (its pin, or main's head), once the dataset is
    known to exist and to be readable with ``token``."""
    ref = module.dataset
    try:
        info = api.dataset_info(ref.repo, revision=ref.revision or ref.head)
        api.auth_check(ref.repo, repo_type="dataset")
    except GatedRepoError:
        if token is None:
            fix = "set HF_TOKEN to the bot's token, whose account has accepted its terms"
        else:
            fix = "accept its terms on the Hub with the bot's account (that of HF_TOKEN)"
        return _Problem(f"{ref.repo} is gated and the bot's token may not read it: {fix}")
    except RepositoryNotFoundError:
        return _Problem(
            f"there is no dataset {ref.repo} on the Hub at {endpoint} (or it is private to "
            "another account); fix dataset.repo"
        )
    except RevisionNotFoundError:
        if ref.revision is None:  # no Parquet conversion (the Hub has not converted it)
            return _Problem(
                f"{ref.repo} has no {ref.head}; remove dataset.format: parquet-export, or pin "
                "dataset.revision to a commit that has data files"
            )
        return _Problem(
            f"{ref.repo} has no commit {ref.revision}; set dataset.revision to a full commit "
            "sha from the dataset's commit history"
        )
    if not info.sha:
        return _Problem(f"the Hub names no commit of {ref.repo} at {ref.revision or ref.head}")
    return info.sha


def _features(module: EvaluationModule, sha: str, *, token: str | None) -> Any:
    """The split's ``datasets.Features`` (None when undeclared), or the problem that keeps
    ``datasets`` from opening it."""
    ref = module.dataset
    where: dict[str, Any] = (
        {"data_dir": ref.config or "default"}
        if ref.format == "parquet-export"
        else {"name": ref.config}
    )
    try:
        split = datasets.load_dataset(
            ref.repo, split=ref.split, revision=sha, token=token, streaming=True, **where
        )
    except (ValueError, FileNotFoundError) as exc:
        # `datasets` answers a loading script with its cache of another load, when it has one
        if ref.format == "datasets" and has_loading_script(ref.repo, sha, token=token):
            return _script_problem()
        if isinstance(exc, FileNotFoundError):  # no data files at this revision
            return _Problem(f"{exc}; pin a revision that has the data files")
        key = "dataset.split" if str(exc).startswith("Bad split") else "dataset.config"
        return _Problem(f"{exc}; fix {key}")
    except RuntimeError as exc:
        if not is_loading_script_error(exc):
            raise
        return _script_problem()
    return split.features


def _script_problem() -> _Problem:
    return _Problem(loading_script_fix())


def _zip_features(module: EvaluationModule, api: HfApi, sha: str) -> Any:
    """A COCO zip's features are the reader's (``evaluators.coco_zip``), once the zip exists at
    ``sha``: its json and images are checked when the split is evaluated."""
    from evaluators.coco_zip import FEATURES

    ref = module.dataset
    assert ref.files is not None  # the schema requires it for coco-zip
    if not api.file_exists(ref.repo, ref.files, repo_type="dataset", revision=sha):
        return _Problem(f"there is no file {ref.files} in the repo; fix dataset.files")
    return FEATURES


def _columns(module: EvaluationModule, features: datasets.Features) -> str | None:
    ref = module.dataset
    missing = [c for c in ref.columns.roles().values() if c not in features]
    if missing:
        return f"columns {missing} not found (it has {list(features)}); fix dataset.columns"
    if ref.objects is None:
        return None
    fields = _object_fields(features[ref.columns.label])
    spec = ref.objects
    wanted = [f for f in (spec.bbox, spec.category, spec.area, spec.iscrowd) if f is not None]
    absent = [f for f in wanted if f not in fields]
    if absent:
        return (
            f"object fields {absent} not found in column '{ref.columns.label}' (its objects "
            f"have {sorted(fields)}); fix dataset.objects"
        )
    return None


def _label_column(module: EvaluationModule) -> str:
    """The column holding the classes: `label` (classification, detection) or `tags` (token
    classification, a list per example); empty for tasks without classes."""
    roles = module.dataset.columns.roles()
    return roles.get("label") or roles.get("tags") or ""


def _class_names(module: EvaluationModule, features: datasets.Features) -> list[str] | None:
    """The ClassLabel names of the label column (for detection: of each object's category;
    for token classification: of each word's tag), or None when it holds plain values."""
    feature = features[_label_column(module)]
    if module.dataset.objects is not None:
        feature = _object_fields(feature).get(module.dataset.objects.category)
    while hasattr(feature, "feature") and not isinstance(feature, datasets.ClassLabel):
        feature = feature.feature  # a Sequence of objects stores each field as a list
    return list(feature.names) if isinstance(feature, datasets.ClassLabel) else None


def _labels(module: EvaluationModule, names: list[str] | None) -> str | None:
    """What differs between the Hub's class names and ``dataset.labels``, compared as
    evaluation compares them (normalised, in any order)."""
    ref = module.dataset
    if names is None:
        return None
    hub = {normalize(name): name for name in names}
    wanted = {normalize(label): label for label in ref.labels}
    if sorted(hub) == sorted(wanted):
        return None
    extra = [name for key, name in hub.items() if key not in wanted]
    lacking = [label for key, label in wanted.items() if key not in hub]
    return (
        f"the class names of '{ref.columns.label}' differ from dataset.labels: the Hub has "
        f"{extra[:12]} that the module lacks, the module has {lacking[:12]} that the Hub lacks; "
        "fix dataset.labels (the Hub's ClassLabel names, in class order)"
    )


def _object_fields(feature: Any) -> dict[str, Any]:
    """The fields of each object in a list-of-objects feature (``List`` of a dict, or a
    ``Sequence`` of a dict as ``datasets`` stores it); empty for anything else."""
    while not isinstance(feature, dict):
        if isinstance(feature, list) and feature:
            feature = feature[0]
        elif hasattr(feature, "feature"):
            feature = feature.feature
        else:
            return {}
    return dict(feature)
