"""``evalbot verify ORG/MODEL[@REV]``: check the signed evalbot results on a model card.

Every `model-index` metric with a `verifyToken` is checked twice: the token must verify against
evalbot's public key, and what it signs must be what the card states (repo, dataset, config,
split, dataset revision, metric type and args, value). So an edited value fails although its token
is intact. An evalbot result without a token fails too; tokens of other signers (the Hub's old
evaluation service) are listed and skipped. evalbot's ``.eval_results/evalbot-*.yaml`` entries
(Hub Benchmarks) are checked the same way: repo, dataset, task, dataset revision and value.

Exit status: 0 when every evalbot value verifies, 1 when one does not (or there is none), 2 when
no key can be read.
"""

from __future__ import annotations

import enum
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from huggingface_hub import EvalResult, HfApi, hf_hub_download
from huggingface_hub.errors import EntryNotFoundError

from bot.hub import make_api
from bot.keys import load_signer, signing_key_path
from bot.settings import Settings
from cardgen.card import SOURCE_NAME, read_results
from cardgen.errors import CardError, SigningKeyError, TokenError, TokenProblem
from cardgen.eval_results import FOLDER, PREFIX
from cardgen.signing import Signer, entry_claims, key_id, load_public_key, verify_token

_LABELS = {
    "sub": "repo",
    "dataset": "dataset",
    "config": "config",
    "split": "split",
    "revision": "dataset revision",
    "metric": "metric",
    "args": "metric args",
    "value": "value",
}


class Status(enum.StrEnum):
    OK = "ok"
    TAMPERED = "TAMPERED"
    INVALID = "INVALID"
    NO_TOKEN = "no token"
    SKIPPED = "skipped"  # a token that is not evalbot's, on a result that is not evalbot's


@dataclass(frozen=True)
class Check:
    """The verdict on one model-index metric."""

    result: EvalResult
    status: Status
    detail: str

    @property
    def failed(self) -> bool:
        return self.status in (Status.TAMPERED, Status.INVALID, Status.NO_TOKEN)

    def line(self) -> str:
        r = self.result
        where = "/".join(str(part) for part in (r.dataset_config, r.dataset_split) if part)
        args = f" ({_show(r.metric_args)})" if r.metric_args else ""
        return f"{r.dataset_type} {where} {r.metric_type}{args} = {_show(r.metric_value)}: {self.detail}"


def check_result(
    result: EvalResult, *, repo_id: str, public_keys: Mapping[str, Ed25519PublicKey]
) -> Check | None:
    """Check one metric; None for a metric that is neither evalbot's nor carries a token."""
    ours = result.source_name == SOURCE_NAME
    if result.verify_token is None:
        return Check(result, Status.NO_TOKEN, "no token") if ours else None
    try:
        signed = verify_token(result.verify_token, public_keys)
    except TokenError as error:
        if not ours and error.problem is not TokenProblem.BAD_SIGNATURE:
            whose = f"key id {error.kid}" if error.kid else "no key id"
            return Check(result, Status.SKIPPED, f"skipped: not evalbot's token ({whose})")
        if error.problem is TokenProblem.BAD_SIGNATURE:
            return Check(result, Status.INVALID, "INVALID signature")
        return Check(result, Status.INVALID, f"INVALID token: {error}")
    stated = entry_claims(repo_id, result)
    differences = [
        f"{_LABELS[name]} in card {_show(value)} ≠ signed {_show(signed.get(name))}"
        for name, value in stated.items()
        if value != signed.get(name)
    ]
    if differences:
        return Check(result, Status.TAMPERED, "TAMPERED: " + "; ".join(differences))
    return Check(result, Status.OK, f"ok ({_provenance(signed)})")


@dataclass(frozen=True)
class EntryCheck:
    """The verdict on one entry of an ``.eval_results`` file evalbot wrote."""

    path: str
    dataset: str
    value: object
    status: Status
    detail: str

    @property
    def failed(self) -> bool:
        return self.status in (Status.TAMPERED, Status.INVALID, Status.NO_TOKEN)

    def line(self) -> str:
        return f"{self.path}: {self.dataset} = {_show(self.value)}: {self.detail}"


def check_eval_results(
    path: str, text: str, *, repo_id: str, public_keys: Mapping[str, Ed25519PublicKey]
) -> list[EntryCheck]:
    """Check each entry of one of evalbot's ``.eval_results`` files against its token."""
    try:
        entries = yaml.safe_load(text)
    except yaml.YAMLError as error:
        return [EntryCheck(path, "?", None, Status.INVALID, f"INVALID YAML: {error}")]
    if not isinstance(entries, list):
        return [EntryCheck(path, "?", None, Status.INVALID, "INVALID: not a list of entries")]
    return [_check_entry(path, entry, repo_id, public_keys) for entry in entries]


def _check_entry(
    path: str, entry: object, repo_id: str, public_keys: Mapping[str, Ed25519PublicKey]
) -> EntryCheck:
    entry = entry if isinstance(entry, dict) else {}
    found = entry.get("dataset")
    dataset: dict[str, Any] = found if isinstance(found, dict) else {}
    name, value = str(dataset.get("id", "?")), entry.get("value")
    token = entry.get("verifyToken")
    if token is None:
        return EntryCheck(path, name, value, Status.NO_TOKEN, "no token")
    try:
        signed = verify_token(token, public_keys)
    except TokenError as error:
        return EntryCheck(path, name, value, Status.INVALID, f"INVALID token: {error}")
    stated = {
        "sub": repo_id,
        "dataset": dataset.get("id"),
        "task_id": dataset.get("task_id"),
        "revision": dataset.get("revision"),
        "value": value,
    }
    differences = [
        f"{key} in file {_show(item)} ≠ signed {_show(signed.get(key))}"
        for key, item in stated.items()
        if item != signed.get(key)
    ]
    if differences:
        return EntryCheck(path, name, value, Status.TAMPERED, "TAMPERED: " + "; ".join(differences))
    return EntryCheck(path, name, value, Status.OK, f"ok ({_provenance(signed)})")


def check_card(
    text: str, *, repo_id: str, public_keys: Mapping[str, Ed25519PublicKey]
) -> list[Check]:
    """Check every metric of the card's model-index (see `check_result`), in card order.

    Raises:
        CardError: When the card's front matter cannot be read.
    """
    checks = (
        check_result(r, repo_id=repo_id, public_keys=public_keys)
        for r in read_results(text, repo_id=repo_id)
    )
    return [check for check in checks if check is not None]


def verify_repo(target: str, *, settings: Settings, public_key: Path | None) -> int:
    """Download the card of ``ORG/MODEL[@REV]``, check it, print one line per metric.

    Returns:
        The exit status (see the module docstring).
    """
    repo_id, _, revision = target.partition("@")
    try:
        keys = _public_keys(public_key)
    except (FileNotFoundError, SigningKeyError) as error:
        print(f"evalbot verify: {error}", file=sys.stderr)
        return 2
    api = make_api(settings, need_token=False)
    try:
        path = hf_hub_download(
            repo_id,
            "README.md",
            revision=revision or None,
            token=api.token,
            endpoint=api.endpoint,
        )
    except EntryNotFoundError:
        print(f"{target}: no README.md, nothing to verify")
        return 1
    text = Path(path).read_text(encoding="utf-8")
    print(f"Checking the model card of {target} with evalbot key {', '.join(keys)}")
    try:
        checks = check_card(text, repo_id=repo_id, public_keys=keys)
    except CardError as error:
        print(f"{target}: {error}")
        return 1
    all_checks: list[Check | EntryCheck] = [
        *checks,
        *_eval_results_checks(api, repo_id, revision, keys),
    ]
    for check in all_checks:
        print(check.line())
    return _summary(all_checks)


def _eval_results_checks(
    api: HfApi, repo_id: str, revision: str, keys: Mapping[str, Ed25519PublicKey]
) -> list[EntryCheck]:
    """The checks of evalbot's ``.eval_results`` files in the revision (none: no checks)."""
    found = []
    for name in api.list_repo_files(repo_id, revision=revision or None):
        if name.startswith(f"{FOLDER}/{PREFIX}") and name.endswith(".yaml"):
            local = hf_hub_download(
                repo_id, name, revision=revision or None, token=api.token, endpoint=api.endpoint
            )
            text = Path(local).read_text(encoding="utf-8", errors="replace")
            found += check_eval_results(name, text, repo_id=repo_id, public_keys=keys)
    return found


def print_public_key() -> int:
    """Print the public key of the local signing key (created if absent) as PEM."""
    signer = load_signer()
    print(signer.public_key_pem(), end="")
    print(f"key id {signer.key_id} ({signing_key_path()})", file=sys.stderr)
    return 0


def _public_keys(public_key: Path | None) -> dict[str, Ed25519PublicKey]:
    if public_key is not None:
        key = load_public_key(public_key.read_bytes(), source=public_key)
        return {key_id(key): key}
    path = signing_key_path()
    if not path.exists():
        raise FileNotFoundError(
            f"no signing key at {path}: pass --public-key with evalbot's published key, "
            "or set EVALBOT_SIGNING_KEY"
        )
    signer = Signer.load(path)
    return {signer.key_id: signer.public_key}


def _summary(checks: Sequence[Check | EntryCheck]) -> int:
    ours = [c for c in checks if c.status is not Status.SKIPPED]
    if not ours:
        print("No evalbot values on this card: nothing verifies.")
        return 1
    counts = {status: sum(c.status is status for c in ours) for status in Status}
    tally = ", ".join(f"{n} {status}" for status, n in counts.items() if n)
    if any(c.failed for c in ours):
        print(f"{len(ours)} evalbot values: {tally}. The card does not match what evalbot signed.")
        return 1
    print(f"{len(ours)} evalbot values: {tally}. All verify.")
    return 0


def _provenance(claims: Mapping[str, Any]) -> str:
    sha, issued = claims.get("model_sha"), claims.get("iat")
    parts = [f"model revision {sha[:7]}" if isinstance(sha, str) else "no model revision"]
    if isinstance(issued, int) and not isinstance(issued, bool):
        parts.append(f"signed {datetime.fromtimestamp(issued, UTC):%Y-%m-%d}")
    return ", ".join(parts)


def _show(value: object) -> str:
    if value is None:
        return "none"
    if isinstance(value, dict):
        return ", ".join(f"{key}={_show(item)}" for key, item in value.items())
    return str(value)
