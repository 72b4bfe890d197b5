"""The public results dataset on the sandbox Hub: one commit per change, only the changed files,
signed scores, and tables that `datasets`, pandas and DuckDB read over `hf://`."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import datasets
import duckdb
import pandas as pd
import pyarrow.parquet as pq
import pytest
from huggingface_hub import HfApi, HfFileSystem, hf_hub_download

from bot.cli import main
from bot.config import BotConfig, BotSettings
from bot.errors import TokenError
from bot.results_dataset import build_tables, publish, publish_results
from cardgen.signing import Signer, load_public_key, verify_bytes
from sandbox.server import RunningSandbox
from store import tables as t
from store.db import Store
from store.embedded import EmbeddedMongo
from store.outcomes import pack as pack_outcomes
from store.types import (
    DatasetExampleRecord,
    DatasetRecord,
    DatasetSplitRecord,
    ModelRecord,
    ModelStatus,
    SigningIdentity,
    VariantRecord,
)
from tests.sandbox.helpers import Admin
from tests.store.test_store import make_record

from .conftest import write_config

RESULT_TABLES = ("evaluations", "scores", "class_results", "runtimes", "misclassifications")


@pytest.fixture
def signer(tmp_path: Path) -> Signer:
    return Signer.load_or_create(tmp_path / "signing-key.pem")


@pytest.fixture
def repo_id() -> str:
    return f"evalbot/results-{uuid.uuid4().hex[:8]}"


def seed(store: Store) -> Store:
    """A dataset with a split, a variant and an example; two evaluated models."""
    store.upsert_dataset(
        DatasetRecord("dair-ai/emotion", "Emotion", "text", "text-classification", ("x", "y", "z"))
    )
    store.upsert_split(DatasetSplitRecord("dair-ai/emotion", "b" * 40, "test", 3, (2, 1, 0)))
    store.add_examples([DatasetExampleRecord("dair-ai/emotion", "test", 1, "y", 2, text="hey")])
    store.upsert_variant(VariantRecord("lowercase", "lowercase", "text", "Lower.", "str.lower"))
    for repo in ("demo/a", "demo/b"):
        store.upsert_model(ModelRecord(repo, "a" * 40, pipeline_tag="text-classification"))
        store.set_model_status(repo, "a" * 40, ModelStatus.EVALUATED)
        metrics = {"accuracy": 2 / 3, "macro_f1": 0.5, "weighted_f1": 0.55}
        outcomes = pack_outcomes(truth=[0, 0, 1], predicted=[0, 0, 0], confidence=[0.9, 0.8, 0.6])
        store.save_result(
            make_record(model_id=repo, metrics=metrics, fingerprint="sha256:f", outcomes=outcomes)
        )
    return store


def commits(api: HfApi, repo_id: str) -> list[str]:
    return [c.commit_id for c in api.list_repo_commits(repo_id, repo_type="dataset")]


def test_a_publication_creates_the_repo_and_every_table_reads_back(
    sandbox: RunningSandbox, store: Store, bot_api: HfApi, signer: Signer, repo_id: str
) -> None:
    seed(store)
    report = publish(store, bot_api, repo_id, signer=signer, space_url="https://x.test/space")

    assert report.commit is not None and commits(bot_api, repo_id)[0] == report.commit
    assert len(commits(bot_api, repo_id)) == 2  # the repo's initial commit, then ours
    assert not bot_api.dataset_info(repo_id).private
    assert set(report.changed) == {
        *(table.path for table in t.TABLES if not table.partition),
        "data/outcomes/dair-ai--emotion.parquet",  # one file per dataset
        "README.md",
        f"keys/{signer.key_id}.pem",
    }
    assert report.tables == [table.name for table in sorted(t.TABLES, key=lambda x: x.path)]
    assert report.summary().startswith(
        f"{repo_id}: committed {len(t.TABLES)} tables at {report.commit[:7]}"
    )

    expected = build_tables(store, signer)
    for name in (table.name for table in t.TABLES if expected[table.name].num_rows):
        loaded = datasets.load_dataset(repo_id, name, split="train")
        assert loaded.column_names == t.BY_NAME[name].schema.names
        assert loaded.num_rows == expected[name].num_rows
    assert expected["problems"].num_rows == 0  # no config: datasets cannot load an empty split
    with pytest.raises(ValueError, match="problems"):
        datasets.load_dataset(repo_id, "problems", split="train")
    scores = pd.read_parquet(f"hf://datasets/{repo_id}/data/scores.parquet")
    assert set(scores.model_id) == {"demo/a", "demo/b"} and len(scores) == 6
    fs = HfFileSystem()
    for table in t.TABLES:  # every table, as the Space and pandas read it
        for path, part in t.table_files(table, expected[table.name]).items():
            with fs.open(f"datasets/{repo_id}/{path}", "rb") as file:
                assert pq.read_table(file).equals(part)
    duckdb.register_filesystem(fs)
    best = duckdb.sql(
        f"SELECT count(*) FROM 'hf://datasets/{repo_id}/data/scores.parquet' "
        "WHERE type = 'f1' AND args = '{\"average\":\"macro\"}'"
    ).fetchall()
    assert best == [(2,)]

    card = Path(hf_hub_download(repo_id, "README.md", repo_type="dataset")).read_text()
    assert "- config_name: class_results\n  data_files: data/class_results.parquet\n" in card
    assert "config_name: problems" not in card and "### `problems`" in card
    assert f"Schema version {t.SCHEMA_VERSION}" in card and signer.public_key_pem() in card
    assert f"hf://datasets/{repo_id}/data/scores.parquet" in card


def test_only_what_changed_is_committed(
    sandbox: RunningSandbox, store: Store, bot_api: HfApi, signer: Signer, repo_id: str
) -> None:
    seed(store)
    identity = SigningIdentity(signer.key_id, signer.public_key_pem())
    store.set_identity(identity)  # a worker starts
    first = publish(store, bot_api, repo_id, signer=signer)
    history = commits(bot_api, repo_id)
    keys = pq.read_table(hf_hub_download(repo_id, "data/keys.parquet", repo_type="dataset"))
    stored = store.get_identity()
    assert stored is not None and keys.column("updated_at").to_pylist() == [stored.updated_at]

    store.set_identity(replace(identity, updated_at=identity.updated_at + timedelta(hours=1)))
    again = publish(store, bot_api, repo_id, signer=signer)  # a restarted worker: the same key
    assert (again.commit, again.skipped, again.summary()) == (
        None,
        True,
        f"{repo_id}: nothing changed",
    )
    store.poll_state.delete_many({})  # forgotten: every file is compared, none differs
    compared = publish(store, bot_api, repo_id, signer=signer)
    assert (compared.commit, compared.skipped) == (None, False)
    assert commits(bot_api, repo_id) == history

    store.save_result(make_record(model_id="demo/b", split="validation", fingerprint="sha256:f"))
    new = publish(store, bot_api, repo_id, signer=signer)
    assert new.commit is not None and commits(bot_api, repo_id) == [new.commit, *history]
    assert set(new.changed) == {f"data/{name}.parquet" for name in RESULT_TABLES}
    info = bot_api.get_paths_info(
        repo_id,
        ["data/models.parquet", "README.md", "data/scores.parquet"],
        repo_type="dataset",
        expand=True,
    )
    last = {f.path: f.last_commit.oid for f in info if f.last_commit is not None}
    assert last == {
        "data/models.parquet": first.commit,
        "README.md": first.commit,
        "data/scores.parquet": new.commit,
    }

    # a hand (the bot's token, another process) deletes a table and edits the card: the next
    # publication sees the head move and restores both
    bot_api.delete_file("data/keys.parquet", repo_id, repo_type="dataset")
    bot_api.upload_file(
        path_or_fileobj=b"---\nlicense: mit\n---\n# mine\n",
        path_in_repo="README.md",
        repo_id=repo_id,
        repo_type="dataset",
    )
    repaired = publish(store, bot_api, repo_id, signer=signer)
    assert repaired.changed == ("README.md", "data/keys.parquet")


def test_scores_are_signed_and_a_tampered_row_fails(
    sandbox: RunningSandbox, store: Store, bot_api: HfApi, signer: Signer, repo_id: str
) -> None:
    seed(store)
    publish(store, bot_api, repo_id, signer=signer)
    path = hf_hub_download(repo_id, "data/scores.parquet", repo_type="dataset")
    pem = hf_hub_download(repo_id, f"keys/{signer.key_id}.pem", repo_type="dataset")
    key = load_public_key(Path(pem).read_bytes())
    rows = pq.read_table(path).to_pylist()

    assert {(r["metric"], r["type"], r["args"]) for r in rows} == {
        ("accuracy", "accuracy", None),
        ("macro_f1", "f1", '{"average":"macro"}'),
        ("weighted_f1", "weighted_f1", None),  # no card shows it: evalbot's own id
    }
    assert all(r["key_id"] == signer.key_id for r in rows)
    assert all(verify_bytes(key, t.canonical_row(r), r["signature"]) for r in rows)
    row = rows[0]
    for tampered in (
        {**row, "value": row["value"] + 0.01},
        {**row, "model_id": "demo/c"},
        {**row, "type": "f1"},
    ):
        assert not verify_bytes(key, t.canonical_row(tampered), row["signature"])
    assert not verify_bytes(key, t.canonical_row(row), row["signature"] + "=")
    other = Signer.load_or_create(Path(path).parent / "other-key.pem")
    assert not verify_bytes(other.public_key, t.canonical_row(row), row["signature"])


def test_a_refused_token_is_typed_and_hub_trouble_never_fails_a_cycle(
    sandbox: RunningSandbox,
    store: Store,
    bot_api: HfApi,
    signer: Signer,
    repo_id: str,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seed(store)
    with pytest.raises(TokenError, match=r"results dataset someone/results \(HTTP 403\)"):
        publish(store, bot_api, "someone/results", signer=signer)  # not evalbot's namespace

    config = BotConfig(tmp_path, BotSettings(results_dataset=repo_id), [])
    monkeypatch.setenv("EVALBOT_SIGNING_KEY", str(tmp_path / "absent.pem"))
    assert publish_results(config, api=bot_api, store=store) is None
    assert "not published: no signing key at" in caplog.text

    monkeypatch.setenv("EVALBOT_SIGNING_KEY", str(tmp_path / "signing-key.pem"))
    admin = Admin(sandbox.url)
    admin.fault(status=503, count=3, path_prefix=f"/api/datasets/{repo_id}")
    try:
        assert publish_results(config, api=bot_api, store=store) is None
    finally:
        admin.clear_faults()
    assert "not published (the Hub is busy or down: " in caplog.text
    report = publish_results(config, api=bot_api, store=store)
    assert report is not None and report.commit is not None
    off = BotConfig(tmp_path, BotSettings(results_dataset=None), [])
    assert publish_results(off, api=bot_api, store=store) is None


def test_publish_results_once_from_the_command_line(
    sandbox: RunningSandbox,
    mongo: EmbeddedMongo,
    store: Store,
    bot_token: str,
    signer: Signer,
    repo_id: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    seed(store)
    config = write_config(tmp_path / "config", results_dataset=repo_id)
    for name, value in {
        "HF_TOKEN": bot_token,
        "MONGODB_URI": mongo.uri,
        "EVALBOT_DB": store.db.name,
        "EVALBOT_CONFIG": str(config.path),
        "EVALBOT_SIGNING_KEY": str(tmp_path / "signing-key.pem"),
    }.items():
        monkeypatch.setenv(name, value)

    assert main(["publish-results"]) == 0
    first = capsys.readouterr().out
    assert first.startswith(f"{repo_id}: committed {len(t.TABLES)} tables at ")
    assert main(["publish-results"]) == 0
    assert capsys.readouterr().out == f"{repo_id}: nothing changed\n"
    assert main(["publish-results", "--dataset", "someone/results"]) == 2
    assert "HF_TOKEN" in capsys.readouterr().err
