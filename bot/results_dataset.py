"""The public results dataset: the store's tables, every score signed, in a Hub dataset repo.

MongoDB is the bot's working store; its public record is the dataset repo ``results_dataset`` of
``config/bot.yaml`` (default ``evalbot/results``). It holds the Parquet tables of
:mod:`store.tables` (``data/<table>.parquet``), a dataset card (``README.md``) with one
``datasets`` config per table, and the public key of every key that signed ``scores`` rows
(``keys/<key id>.pem``). The Space reads it; anyone can, with ``datasets``, pandas or DuckDB.

Each ``scores`` row carries the model-index ``type`` and ``args`` a model card gives its metric
(:func:`cardgen.card.hub_metric`; a metric that goes on no card keeps evalbot's id as its type)
and an Ed25519 signature of its canonical form (:func:`store.tables.canonical_row`) by the bot's
key, so ``evalbot verify`` can tell a card value evalbot measured from one edited since.

:func:`publish` commits only what changed, in one commit, and reads almost nothing when nothing
did: when the store's change token, the signing key and the schema are those of the last
publication and the repo's head is still the commit that publication made (or found), it stops
after one request. Otherwise it builds every file, compares each with the repo's head by hash
(the git blob id, or the LFS sha256 of a Parquet file) and commits the files that differ; a repo
that is missing, or whose files someone else changed or deleted, is so repaired. Files the bot
does not write (or no longer writes) are left alone.

Example:
    >>> report = publish(store, api, "evalbot/results", signer=load_signer())  # doctest: +SKIP
    >>> report.summary()  # doctest: +SKIP
    'committed 2 tables at 5e1c0a7 (data/evaluations.parquet, data/scores.parquet)'
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx2
import pyarrow as pa
import yaml
from huggingface_hub import CommitOperationAdd, HfApi
from huggingface_hub.errors import HfHubHTTPError, RepositoryNotFoundError
from huggingface_hub.hf_api import RepoFile

from bot.config import BotConfig
from bot.coverage import census_token, measure
from bot.errors import TokenError
from bot.keys import load_signer
from bot.ratelimit import is_transient, status_of
from cardgen.card import hub_metric
from cardgen.errors import SigningKeyError
from cardgen.signing import Signer
from store import tables as t
from store.codec import as_utc
from store.db import Store
from store.export import change_token, export_tables

log = logging.getLogger(__name__)

LICENSE = "cc-by-4.0"
README = "README.md"
TAGS = ("evalbot", "leaderboard", "evaluation", "model-evaluation", "disaggregated-results")


@dataclass(frozen=True)
class PublishReport:
    """What one publication did.

    Attributes:
        repo_id: The dataset repo.
        commit: The commit made; None when nothing changed (or nothing was looked at).
        changed: The paths that commit wrote.
        skipped: True when the store, key and repo were as the last publication left them, so
            nothing was exported or compared.
    """

    repo_id: str
    commit: str | None
    changed: tuple[str, ...] = ()
    skipped: bool = False

    @property
    def tables(self) -> list[str]:
        """The tables whose files it wrote (a partitioned table counts once)."""
        found = (
            p.removeprefix(f"{t.DATA_DIR}/").split("/")[0].removesuffix(".parquet")
            for p in self.changed
            if p.startswith(f"{t.DATA_DIR}/")
        )
        return list(dict.fromkeys(found))

    def summary(self) -> str:
        if self.commit is None:
            return f"{self.repo_id}: nothing changed"
        return (
            f"{self.repo_id}: committed {len(self.tables)} tables at {self.commit[:7]} "
            f"({', '.join(self.changed)})"
        )


def sign_scores(scores: pa.Table, tasks: Mapping[str, str], signer: Signer) -> pa.Table:
    """``scores`` with each row's model-index ``type`` and ``args``, ``key_id`` and signature.

    Args:
        scores: The unsigned ``scores`` table (:func:`store.export.export_tables`).
        tasks: The task of each evaluation, by ``evaluation_id``.
        signer: The bot's key.
    """
    names: dict[tuple[str, str], tuple[str, str | None]] = {}
    rows = scores.to_pylist()
    for row in rows:
        task, metric = tasks.get(row["evaluation_id"], ""), row["metric"]
        if (task, metric) not in names:
            found = hub_metric(task, metric)
            names[task, metric] = (found[0], t.dumps(found[1])) if found else (metric, None)
        row["type"], row["args"] = names[task, metric]
        row["key_id"] = signer.key_id
        row["signature"] = signer.sign_bytes(t.canonical_row(row))
    return pa.Table.from_pylist(rows, schema=t.SCORES.schema)


def build_tables(store: Store, signer: Signer) -> dict[str, pa.Table]:
    """Every table of the results dataset, ``scores`` signed by ``signer``, whose public key is
    the ``keys`` table (with the date the store gives the key, when it knows it)."""
    tables = export_tables(store)
    evaluations = tables[t.EVALUATIONS.name]
    tasks = dict(
        zip(
            evaluations.column("evaluation_id").to_pylist(),
            evaluations.column("task").to_pylist(),
            strict=True,
        )
    )
    tables[t.SCORES.name] = sign_scores(tables[t.SCORES.name], tasks, signer)
    identity = store.get_identity()
    known = identity is not None and identity.key_id == signer.key_id
    key = {
        "key_id": signer.key_id,
        "public_key_pem": signer.public_key_pem(),
        "updated_at": as_utc(identity.updated_at) if identity is not None and known else None,
    }
    tables[t.KEYS.name] = t.to_table(t.KEYS, [key])
    tables[t.COVERAGE.name] = coverage_table(store)
    return tables


def coverage_table(store: Store) -> pa.Table:
    """The ``coverage`` table: the census and the results counted (:mod:`bot.coverage`)."""
    return t.to_table(t.COVERAGE, measure(store).rows())


def build_files(
    tables: Mapping[str, pa.Table], repo_id: str, *, space_url: str | None = None
) -> dict[str, bytes]:
    """Every file of the dataset repo: the tables, the card and the public keys, by path."""
    files = {
        path: t.parquet_bytes(part, row_group_size=t.BY_NAME[name].row_group_size)
        for name, arrow in tables.items()
        for path, part in t.table_files(t.BY_NAME[name], arrow).items()
    }
    keys = tables[t.KEYS.name].to_pylist()
    empty = [name for name, arrow in tables.items() if arrow.num_rows == 0]
    files[README] = dataset_card(repo_id, keys, space_url=space_url, empty=empty).encode()
    for key in keys:
        files[f"{t.KEYS_DIR}/{key['key_id']}.pem"] = key["public_key_pem"].encode()
    return dict(sorted(files.items()))


def publish(
    store: Store, api: HfApi, repo_id: str, *, signer: Signer, space_url: str | None = None
) -> PublishReport:
    """Bring the dataset repo ``repo_id`` up to date with the store, in at most one commit.

    Args:
        store: The bot's store.
        api: A client whose token may write ``repo_id`` (creating it, public, when missing).
        repo_id: The dataset repo, e.g. ``"evalbot/results"``.
        signer: The key that signs the ``scores`` rows.
        space_url: The Space, linked from the dataset card.

    Raises:
        bot.errors.TokenError: When the Hub refuses the token (HTTP 401/403): it says what the
            token needs.
        huggingface_hub.errors.HfHubHTTPError: Any other Hub error (a rate limit, a 5xx): a
            cycle logs it and publishes next cycle.
    """
    try:
        return _publish(store, api, repo_id, signer=signer, space_url=space_url)
    except HfHubHTTPError as exc:
        if status_of(exc) in (401, 403):
            raise _refused(exc, repo_id) from exc
        raise


def _publish(
    store: Store, api: HfApi, repo_id: str, *, signer: Signer, space_url: str | None
) -> PublishReport:
    state = _state(store, signer, space_url)
    head = _head(api, repo_id)
    if head is not None and store.get_publication(repo_id) == (state, head):
        return PublishReport(repo_id, None, skipped=True)
    if head is None:
        api.create_repo(repo_id, repo_type="dataset", private=False, exist_ok=True)
        head = _head(api, repo_id)
    files = build_files(build_tables(store, signer), repo_id, space_url=space_url)
    remote = _remote_files(api, repo_id, list(files), head)
    changed = [path for path, data in files.items() if not _same(remote.get(path), data)]
    if not changed:
        store.set_publication(repo_id, state, head or "")
        return PublishReport(repo_id, None)
    info = api.create_commit(
        repo_id,
        [CommitOperationAdd(path, files[path]) for path in changed],
        commit_message=_message(changed),
        repo_type="dataset",
        parent_commit=head,
    )
    store.set_publication(repo_id, state, info.oid)
    return PublishReport(repo_id, info.oid, tuple(changed))


def publish_results(config: BotConfig, *, api: HfApi, store: Store) -> PublishReport | None:
    """The end of a cycle: publish to ``results_dataset``, if set. Never fails the cycle: Hub
    trouble is logged and the next cycle publishes; a refused token is logged as an error."""
    repo_id = config.settings.results_dataset
    if repo_id is None:
        return None
    if not api.token:
        log.info("results dataset %s not published: no HF_TOKEN", repo_id)
        return None
    try:
        report = publish(
            store, api, repo_id, signer=load_signer(), space_url=config.settings.space_url
        )
    except (TokenError, FileNotFoundError, SigningKeyError) as exc:  # the token, the key
        log.error("results dataset %s not published: %s", repo_id, exc)
        return None
    except (HfHubHTTPError, httpx2.TransportError) as exc:
        how = "the Hub is busy or down" if is_transient(exc) else "the Hub refused it"
        log.warning("results dataset %s not published (%s: %s); next cycle", repo_id, how, exc)
        return None
    except Exception:  # publishing never fails a cycle whose results are stored already
        log.exception("results dataset %s not published; next cycle tries again", repo_id)
        return None
    if not report.skipped:
        log.info("results dataset: %s", report.summary())
    return report


def _state(store: Store, signer: Signer, space_url: str | None) -> str:
    """What decides the files: the store's content, the key, the schema, the code, the Space."""
    parts = [
        change_token(store),
        census_token(store),
        signer.key_id,
        t.SCHEMA_VERSION,
        importlib.metadata.version("evalbot"),
        space_url,
    ]
    return hashlib.sha256(json.dumps(parts).encode()).hexdigest()


def _head(api: HfApi, repo_id: str) -> str | None:
    """The repo's head commit; None when there is no such repo."""
    try:
        sha = api.dataset_info(repo_id).sha
    except RepositoryNotFoundError:
        return None
    return str(sha) if sha else None


def _remote_files(
    api: HfApi, repo_id: str, paths: list[str], head: str | None
) -> dict[str, RepoFile]:
    found = api.get_paths_info(repo_id, paths, repo_type="dataset", revision=head)
    return {f.path: f for f in found if isinstance(f, RepoFile)}


def _same(remote: RepoFile | None, data: bytes) -> bool:
    """Whether the repo's file holds ``data``: its LFS sha256, or its git blob id."""
    if remote is None:
        return False
    if remote.lfs is not None:
        return remote.lfs.sha256 == hashlib.sha256(data).hexdigest()
    return remote.blob_id == hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def _message(changed: list[str]) -> str:
    names = [p.removeprefix(f"{t.DATA_DIR}/").removesuffix(".parquet") for p in changed]
    return f"Update {', '.join(names)}"


def _refused(exc: HfHubHTTPError, repo_id: str) -> TokenError:
    namespace = repo_id.split("/", 1)[0]
    return TokenError(
        f"the Hub refused to let HF_TOKEN write the results dataset {repo_id} "
        f"(HTTP {status_of(exc) or '?'}): use a write token of '{namespace}' or of a member of "
        "that organization with write access, or set results_dataset in config/bot.yaml to a "
        "dataset repo the token can write (null: publish none)"
    )


# -- the dataset card ------------------------------------------------------------------------


def dataset_card(
    repo_id: str,
    keys: Iterable[Mapping[str, Any]],
    *,
    space_url: str | None = None,
    empty: Iterable[str] = (),
) -> str:
    """The dataset's README.md: front matter (one ``datasets`` config per table that has rows:
    ``datasets`` cannot load an empty split) and the documentation of every table.

    A pure function of its arguments: no date, no count, so new rows leave it as it is.
    """
    skipped = set(empty)
    configs = [
        {"config_name": table.name, "data_files": table.path}
        for table in t.TABLES
        if table.name not in skipped
    ]
    front = {
        "license": LICENSE,
        "pretty_name": "evalbot results",
        "tags": list(TAGS),
        "configs": configs,
    }
    metadata = yaml.safe_dump(front, sort_keys=False, allow_unicode=True)
    sections = [
        _intro(repo_id, space_url),
        _reading(repo_id),
        _tables(),
        _signatures(list(keys)),
    ]
    return f"---\n{metadata}---\n\n" + "\n\n".join(sections) + "\n"


def _intro(repo_id: str, space_url: str | None) -> str:
    space = f" The [evalbot Space]({space_url}) shows them." if space_url else ""
    return (
        "# evalbot results\n\n"
        "What evalbot measured: models found on the Hugging Face Hub, evaluated on the datasets "
        "they were trained on and on perturbed variants of them, with per-class (disaggregated) "
        f"results, runtimes, calibration and the most confident errors.{space} Every metric "
        "value is one signed row of `scores` (see Signatures).\n\n"
        f"Schema version {t.SCHEMA_VERSION}: it changes when a column is renamed, removed or "
        "retyped (a new nullable column does not change it). Metric values are fractions in "
        "[0, 1] (or the metric's own unit) at full precision; model cards show them rounded to "
        "4 decimals. Nested values (calibration bins, intervals, label mappings, per-class "
        "task metrics, perturbation parameters) are JSON strings. Timestamps are UTC. "
        "`evaluation_id` names one evaluation (a model revision on a dataset split and variant, "
        "at one config and code version) in every table. The tables are rewritten whole at each "
        "publication, rows sorted, so an unchanged table is never committed again; the commit "
        f"history of `{repo_id}` is the history of the record.\n\n"
        "The examples are excerpts of the evaluated datasets, under those datasets' own terms."
    )


def _reading(repo_id: str) -> str:
    path = f"hf://datasets/{repo_id}/{t.SCORES.path}"
    return (
        "## Reading it\n\n"
        "Each table is a config of this dataset (one `train` split); a table without rows has "
        "no config until it has some (`datasets` cannot load an empty split), while pandas and "
        "DuckDB read its file as an empty table:\n\n"
        "```python\n"
        "from datasets import load_dataset\n\n"
        f'scores = load_dataset("{repo_id}", "scores", split="train")\n'
        "```\n\n"
        "With pandas:\n\n"
        "```python\n"
        "import pandas as pd\n\n"
        f'scores = pd.read_parquet("{path}")\n'
        'scores[(scores.metric == "accuracy") & (scores.variant == "original")]\n'
        "```\n\n"
        "With DuckDB:\n\n"
        "```sql\n"
        "SELECT model_id, dataset_id, split, value\n"
        f"FROM '{path}'\n"
        "WHERE metric = 'accuracy' AND variant = 'original'\n"
        "ORDER BY value DESC;\n"
        "```"
    )


def _tables() -> str:
    parts = ["## Tables"]
    for table in t.TABLES:
        rows = "\n".join(
            f"| `{name}` | {_type(table.schema.field(name).type)} | {doc} |"
            for name, doc in table.columns.items()
        )
        parts.append(
            f"### `{table.name}`\n\n{table.doc} File `{table.path}`, rows sorted by "
            f"{', '.join(f'`{c}`' for c in table.sort)}.\n\n"
            f"| column | type | meaning |\n|---|---|---|\n{rows}"
        )
    return "\n\n".join(parts)


def _type(kind: pa.DataType) -> str:
    return str(kind).replace("<item: ", "<").replace("[us, tz=UTC]", " (UTC)")


def _signatures(keys: list[Mapping[str, Any]]) -> str:
    columns = ", ".join(f"`{c}`" for c in t.SIGNED_COLUMNS)
    listed = "\n\n".join(
        f"Key `{k['key_id']}` (`{t.KEYS_DIR}/{k['key_id']}.pem`):\n\n```\n"
        f"{str(k['public_key_pem']).strip()}\n```"
        for k in keys
    )
    return (
        "## Signatures\n\n"
        "Each `scores` row is signed with evalbot's Ed25519 key. The signature covers the row's "
        f"canonical form: the columns {columns} as a JSON object with sorted keys, no spaces, "
        "UTF-8, and each float written as its shortest repr (Python's `json.dumps(..., "
        "sort_keys=True, separators=(',', ':'), ensure_ascii=False)`). `signature` is the "
        "signature in base64url without padding; `key_id` names the key, whose public key is "
        f"in `{t.KEYS_DIR}/<key_id>.pem` and in the `keys` table. `type` and `args` are the "
        "model-index metric a model card gives the value (evalbot's metric id when no card "
        "shows it).\n\n"
        "`evalbot verify ORG/MODEL` checks each evalbot value on a model card against these "
        "rows. Checking against the key published here proves that a row is unchanged since "
        "this dataset's signer wrote it; pin evalbot's key (`--public-key`) to prove it was "
        "evalbot. By hand:\n\n"
        "```python\n"
        "import base64, json\n"
        "from cryptography.hazmat.primitives.serialization import load_pem_public_key\n\n"
        f"SIGNED = {list(t.SIGNED_COLUMNS)}\n"
        "def verify(row, pem: bytes) -> None:  # raises InvalidSignature when it does not hold\n"
        "    data = json.dumps({k: row[k] for k in SIGNED}, sort_keys=True,\n"
        "                      separators=(',', ':'), ensure_ascii=False).encode()\n"
        "    signature = base64.urlsafe_b64decode(row['signature'] + '==')\n"
        "    load_pem_public_key(pem).verify(signature, data)\n"
        "```\n\n" + (listed or "No key has signed rows yet.")
    )
