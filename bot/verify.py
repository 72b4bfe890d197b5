"""``evalbot verify ORG/MODEL[@REV]``: check the evalbot values on a model card against the signed
rows of the results dataset.

evalbot's values on a card are its ``model-index`` results (``source.name: evalbot``). Each is
looked up among the rows of the results dataset's ``scores`` table for the same model, dataset,
config, split and metric ``type`` and ``args`` (the original variant) whose signature verifies,
and gets one verdict:

``ok``        a signed row holds the card's value (as cards round it) for the content the
              revision holds now
``edited``    signed rows exist for that dataset, split and metric, but none holds the card's
              value (or its dataset revision)
``stale``     a signed row holds the value, but for other content: the weights (or config,
              tokenizer) changed since evalbot measured it, so the value describes an older model
``unsigned``  no row with a valid signature by a trusted key says anything about it

The ``.eval_results/evalbot-*.yaml`` entries (Hub Benchmarks) are not checked: an entry names its
benchmark task, not the metric it reports.

Which keys are trusted: by default the ones the dataset publishes (``keys/<key id>.pem``, the
``keys`` table). That proves the card matches the dataset and that the rows are unchanged since
they were signed, not who signed them: whoever can write the dataset can sign rows with a key of
their own. ``--public-key PEM`` pins evalbot's published key (``evalbot verify
--print-public-key`` prints it): then only rows that key signed count, which proves their origin.

Exit status: 0 when every value is ok, 1 when one is not (or the card has none), 2 when the
results dataset or the key cannot be read.
"""

from __future__ import annotations

import enum
import json
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from huggingface_hub import HfApi, hf_hub_download
from huggingface_hub.errors import EntryNotFoundError, HfHubHTTPError

from bot.hub import make_api
from bot.keys import load_signer, print_key, signing_key_path
from bot.settings import Settings
from cardgen.card import SOURCE_NAME, read_results
from cardgen.errors import CardError, SigningKeyError
from cardgen.results import ORIGINAL, rounded
from cardgen.signing import key_id, load_public_key, verify_bytes
from evaluators.errors import FileTooLargeError
from evaluators.hub import fingerprint
from evaluators.limits import read_bounded
from store import tables as t

Row = dict[str, Any]


class Status(enum.StrEnum):
    OK = "ok"
    EDITED = "edited"
    STALE = "stale"
    UNSIGNED = "unsigned"


@dataclass(frozen=True)
class CardValue:
    """One evalbot value as the card's model-index states it.

    Attributes:
        metric: The metric ``type``.
        args: The metric ``args``.
        value: The value as written (cards round to 4 decimals: `cardgen.results.rounded`).
        revision: The dataset revision, when the card states one.
    """

    dataset_id: str
    config: str | None
    split: str
    metric: str
    args: Mapping[str, Any] | None
    value: object
    revision: str | None = None

    def describes(self, row: Row) -> bool:
        """Whether ``row`` measures what this value states (whatever its number)."""
        if (row["variant"], row["dataset_id"], row["split"]) != (
            ORIGINAL,
            self.dataset_id,
            self.split,
        ):
            return False
        args = json.loads(row["args"]) if row["args"] else None
        return (row["dataset_config"] or None, row["type"], args) == (
            self.config or None,
            self.metric,
            dict(self.args) if self.args else None,
        )

    def held_by(self, row: Row) -> bool:
        """Whether ``row`` holds this value, as cards round it, on the same dataset revision."""
        if self.revision is not None and row["dataset_revision"] != self.revision:
            return False
        value, measured = self.value, rounded(row["value"])
        if isinstance(value, bool) or not isinstance(value, int | float) or measured is None:
            return False
        return value == measured

    def label(self) -> str:
        where = "/".join(part for part in (self.config, self.split) if part)
        args = f" ({_show(dict(self.args))})" if self.args else ""
        return f"{self.dataset_id} {where} {self.metric}{args} = {_show(self.value)}"


@dataclass(frozen=True)
class Check:
    """The verdict on one card value."""

    value: CardValue
    status: Status
    detail: str

    def line(self) -> str:
        return f"{self.value.label()}: {self.status} ({self.detail})"


@dataclass(frozen=True)
class Revision:
    """The model revision a card belongs to: its commit and its content fingerprint."""

    sha: str
    fingerprint: str

    def holds(self, row: Row) -> bool:
        """Whether ``row`` was measured on the content this revision holds."""
        return row["model_sha"] == self.sha or (
            bool(self.fingerprint) and row["fingerprint"] == self.fingerprint
        )


def check_value(
    value: CardValue, signed: Sequence[Row], unverified: Sequence[Row], revision: Revision
) -> Check:
    """The verdict on one value, from the model's rows whose signature verifies (``signed``)
    and those whose signature does not (``unverified``)."""
    about = [r for r in signed if value.describes(r)]
    if not about:
        bad = sum(value.describes(r) for r in unverified)
        why = (
            f"{bad} rows for it, none signed by a trusted key"
            if bad
            else "no signed row in the results dataset"
        )
        return Check(value, Status.UNSIGNED, why)
    holding = [r for r in about if value.held_by(r)]
    current = [r for r in holding if revision.holds(r)]
    if current:
        row = current[0]
        return Check(value, Status.OK, f"signed {_provenance(row)}")
    if holding:
        row = holding[0]
        return Check(
            value,
            Status.STALE,
            f"signed {_provenance(row)}; the repo's weights or config have changed since",
        )
    ordered = sorted(about, key=lambda r: not revision.holds(r))
    signed_values = ", ".join(dict.fromkeys(_show(rounded(r["value"])) for r in ordered))
    revisions = {r["dataset_revision"] for r in ordered}
    detail = f"evalbot signed {signed_values}"
    if value.revision is not None and value.revision not in revisions:
        detail += f" on dataset revision {', '.join(sorted(str(r)[:7] for r in revisions))}"
    return Check(value, Status.EDITED, detail)


def card_values(text: str, *, repo_id: str) -> list[CardValue]:
    """evalbot's model-index values on a card, in card order.

    Raises:
        CardError: When the card's front matter cannot be read.
    """
    return [
        CardValue(
            dataset_id=r.dataset_type,
            config=r.dataset_config,
            split=r.dataset_split or "",
            metric=r.metric_type,
            args=r.metric_args,
            value=r.metric_value,
            revision=r.dataset_revision,
        )
        for r in read_results(text, repo_id=repo_id)
        if r.source_name == SOURCE_NAME
    ]


def split_rows(
    rows: Sequence[Row], keys: Mapping[str, Ed25519PublicKey]
) -> tuple[list[Row], list[Row]]:
    """(rows whose signature verifies with the key they name, among ``keys``; the others)."""
    signed: list[Row] = []
    unverified: list[Row] = []
    for row in rows:
        key = keys.get(row["key_id"] or "")
        ok = key is not None and verify_bytes(key, t.canonical_row(row), row["signature"])
        (signed if ok else unverified).append(row)
    return signed, unverified


def verify_repo(
    target: str, *, settings: Settings, dataset: str, public_key: Path | None = None
) -> int:
    """Check the evalbot values of ``ORG/MODEL[@REV]`` against ``dataset``; print one line per
    value and a summary.

    Returns:
        The exit status (see the module docstring).
    """
    repo_id, _, wanted = target.partition("@")
    api = make_api(settings, need_token=False)
    try:
        pinned = _pinned_key(public_key)
    except (OSError, SigningKeyError) as error:
        print(f"evalbot verify: {error}", file=sys.stderr)
        return 2
    info = api.model_info(repo_id, revision=wanted or None, files_metadata=True)
    revision = Revision(sha=str(info.sha), fingerprint=fingerprint(info.siblings))
    text = _card_text(api, repo_id, revision, [s.rfilename for s in info.siblings or ()])
    try:
        values = card_values(text, repo_id=repo_id) if text is not None else []
    except CardError as error:
        print(f"{target}: {error}")
        return 1
    try:
        rows, keys = _dataset_rows(api, dataset, repo_id, pinned)
    except (HfHubHTTPError, SigningKeyError) as error:
        print(
            f"evalbot verify: cannot read the results dataset {dataset}: {error}", file=sys.stderr
        )
        return 2
    trust = (
        f"pinned key {', '.join(keys)}"
        if pinned is not None
        else f"the dataset's keys {', '.join(keys) or '(none)'}: this shows the card matches "
        "the dataset, not who signed it (pin evalbot's key with --public-key)"
    )
    print(f"Checking {target} (revision {revision.sha[:7]}) against {dataset}, trusting {trust}")
    signed, unverified = split_rows(rows, keys)
    checks = [check_value(v, signed, unverified, revision) for v in values]
    for check in checks:
        print(check.line())
    return _summary(checks)


def print_public_key() -> int:
    """Print the public key of the local signing key as PEM (its id on stderr)."""
    print_key(load_signer(), signing_key_path())
    return 0


def _card_text(api: HfApi, repo_id: str, revision: Revision, names: Sequence[str]) -> str | None:
    if "README.md" not in names:
        return None
    local = hf_hub_download(
        repo_id, "README.md", revision=revision.sha, token=api.token, endpoint=api.endpoint
    )
    try:
        return read_bounded(Path(local), "README.md").decode("utf-8", errors="replace")
    except FileTooLargeError:
        return None  # over its cap: read as no card


def _dataset_rows(
    api: HfApi, dataset: str, repo_id: str, pinned: Ed25519PublicKey | None
) -> tuple[list[Row], dict[str, Ed25519PublicKey]]:
    """The model's ``scores`` rows in ``dataset`` and the keys to check them with."""

    def download(path: str) -> str:
        return hf_hub_download(
            dataset, path, repo_type="dataset", token=api.token, endpoint=api.endpoint
        )

    scores = pq.read_table(download(t.SCORES.path), filters=[("model_id", "==", repo_id)])
    rows: list[Row] = scores.to_pylist()
    if pinned is not None:
        return rows, {key_id(pinned): pinned}
    keys: dict[str, Ed25519PublicKey] = {}
    for pem in pq.read_table(download(t.KEYS.path)).column("public_key_pem").to_pylist():
        key = load_public_key(str(pem).encode(), source=f"{dataset}/{t.KEYS.path}")
        keys[key_id(key)] = key
    for kid in sorted({str(r["key_id"]) for r in rows if r["key_id"]} - set(keys)):
        try:  # a key that signed earlier rows and is no longer the dataset's current one
            path = download(f"{t.KEYS_DIR}/{kid}.pem")
        except EntryNotFoundError:
            continue
        key = load_public_key(Path(path).read_bytes(), source=f"{dataset}/{t.KEYS_DIR}/{kid}.pem")
        keys[key_id(key)] = key
    return rows, keys


def _pinned_key(path: Path | None) -> Ed25519PublicKey | None:
    if path is None:
        return None
    return load_public_key(path.read_bytes(), source=path)


def _summary(checks: Sequence[Check]) -> int:
    if not checks:
        print("No evalbot values on this card: nothing verifies.")
        return 1
    counts = {status: sum(c.status is status for c in checks) for status in Status}
    tally = ", ".join(f"{n} {status}" for status, n in counts.items() if n)
    if counts[Status.OK] < len(checks):
        print(
            f"{len(checks)} evalbot values: {tally}. The card does not match what evalbot signed."
        )
        return 1
    print(f"{len(checks)} evalbot values: {tally}. All verify.")
    return 0


def _provenance(row: Row) -> str:
    return f"for model revision {str(row['model_sha'])[:7]} with key {row['key_id']}"


def _show(value: object) -> str:
    if value is None:
        return "none"
    if isinstance(value, dict):
        return ", ".join(f"{key}={_show(item)}" for key, item in value.items())
    return str(value)
