"""`evalbot verify`: a card's evalbot values against the signed rows of the results dataset on
the sandbox Hub (ok, edited, stale, unsigned); `--print-public-key` prints the key to publish."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from huggingface_hub import CommitOperationAdd, HfApi, hf_hub_download

from bot.cli import main
from bot.results_dataset import publish
from cardgen.card import propose_card
from cardgen.signing import Signer
from evaluators.hub import fingerprint
from sandbox.server import RunningSandbox
from store import tables as t
from store.db import Store
from store.types import EvaluationRecord
from tests.cardgen.conftest import make_records

SPACE_URL = "https://huggingface.co/spaces/evalbot/results"
CONFIG = b'{"architectures": ["BertForSequenceClassification"], "model_type": "bert"}'


@dataclass(frozen=True)
class Published:
    """A model repo whose card carries evalbot's values, measured and signed in ``dataset``."""

    repo_id: str
    dataset: str
    card: str
    records: list[EvaluationRecord]
    signer: Signer


@pytest.fixture
def published(
    sandbox: RunningSandbox, demo_api: HfApi, bot_api: HfApi, store: Store, tmp_path: Path
) -> Published:
    repo_id = f"verify{uuid.uuid4().hex[:8]}/distilbert-emotion"
    demo_api.create_repo(repo_id)
    demo_api.create_commit(
        repo_id,
        [
            CommitOperationAdd("config.json", CONFIG),
            CommitOperationAdd("model.safetensors", b"weights v1"),
        ],
        commit_message="a model",
    )
    info = demo_api.model_info(repo_id, files_metadata=True)
    records = make_records(
        model_id=repo_id, model_sha=info.sha, fingerprint=fingerprint(info.siblings)
    )
    for record in records:
        store.save_result(record)
    signer = Signer.load_or_create(tmp_path / "signing-key.pem")
    dataset = f"evalbot/results-{uuid.uuid4().hex[:8]}"
    publish(store, bot_api, dataset, signer=signer)
    card = propose_card(None, records, repo_id=repo_id, space_url=SPACE_URL).text
    demo_api.upload_file(path_or_fileobj=card.encode(), path_in_repo="README.md", repo_id=repo_id)
    return Published(repo_id, dataset, card, records, signer)


def verify(capsys: pytest.CaptureFixture[str], target: str, *args: str) -> tuple[int, str]:
    code = main(["verify", target, *args])
    return code, capsys.readouterr().out


def test_values_evalbot_signed_are_ok(
    published: Published, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = verify(capsys, published.repo_id, "--dataset", published.dataset)
    assert code == 0, out
    assert f"trusting the dataset's keys {published.signer.key_id}: this shows" in out
    assert "dair-ai/emotion split/test f1 (average=macro) = 0.7619: ok (signed for " in out
    assert "dair-ai/emotion split/test accuracy = 0.8: ok" in out
    assert "4 evalbot values: 4 ok. All verify." in out

    pem = tmp_path / "evalbot.pem"
    pem.write_text(published.signer.public_key_pem())
    dataset = f"--dataset={published.dataset}"
    code, out = verify(capsys, published.repo_id, dataset, f"--public-key={pem}")
    assert code == 0 and f"trusting pinned key {published.signer.key_id}" in out
    stranger = Signer.load_or_create(tmp_path / "stranger.pem")
    pem.write_text(stranger.public_key_pem())
    code, out = verify(capsys, published.repo_id, dataset, f"--public-key={pem}")
    assert code == 1
    assert "accuracy = 0.8: unsigned (1 rows for it, none signed by a trusted key)" in out


def test_an_edited_value_is_caught(
    published: Published, bot_api: HfApi, capsys: pytest.CaptureFixture[str]
) -> None:
    edited = published.card.replace("value: 0.8\n", "value: 0.93\n", 1)
    assert edited != published.card
    info = bot_api.create_commit(
        published.repo_id,
        [CommitOperationAdd("README.md", edited.encode())],
        commit_message="edit",
        create_pr=True,
    )
    pr = f"{published.repo_id}@refs/pr/{info.pr_num}"
    code, out = verify(capsys, pr, "--dataset", published.dataset)
    assert code == 1
    assert "dair-ai/emotion split/test accuracy = 0.93: edited (evalbot signed 0.8)" in out
    assert "4 evalbot values: 3 ok, 1 edited. The card does not match what evalbot signed." in out
    assert verify(capsys, published.repo_id, "--dataset", published.dataset)[0] == 0


def test_values_of_older_weights_are_stale(
    published: Published, demo_api: HfApi, capsys: pytest.CaptureFixture[str]
) -> None:
    demo_api.upload_file(
        path_or_fileobj=b"weights v2", path_in_repo="model.safetensors", repo_id=published.repo_id
    )
    code, out = verify(capsys, published.repo_id, "--dataset", published.dataset)
    assert code == 1
    assert "accuracy = 0.8: stale (signed for model revision " in out
    assert "the repo's weights or config have changed since" in out
    assert "4 evalbot values: 4 stale." in out


def test_values_without_a_valid_signed_row_are_unsigned(
    published: Published,
    demo_api: HfApi,
    bot_api: HfApi,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # the card gains a validation split evalbot never measured, and the dataset's accuracy row
    # is changed after it was signed
    others = make_records(
        model_id=published.repo_id, model_sha=published.records[0].model_sha, split="validation"
    )
    card = propose_card(
        None, [published.records[0], others[0]], repo_id=published.repo_id, space_url=SPACE_URL
    ).text
    demo_api.upload_file(
        path_or_fileobj=card.encode(), path_in_repo="README.md", repo_id=published.repo_id
    )
    local = hf_hub_download(published.dataset, t.SCORES.path, repo_type="dataset")
    rows = pq.read_table(local).to_pylist()
    for row in rows:
        if row["metric"] == "accuracy":
            row["value"] = 0.8000001  # still the card's 0.8 once rounded: only the signature tells
    bot_api.upload_file(
        path_or_fileobj=t.parquet_bytes(t.to_table(t.SCORES, rows)),
        path_in_repo=t.SCORES.path,
        repo_id=published.dataset,
        repo_type="dataset",
    )

    code, out = verify(capsys, published.repo_id, "--dataset", published.dataset)
    assert code == 1
    assert "split/validation accuracy = 0.8: unsigned (no signed row in the results dataset)" in out
    assert (
        "split/test accuracy = 0.8: unsigned (1 rows for it, none signed by a trusted key)" in out
    )
    assert "split/test f1 (average=macro) = 0.7619: ok" in out
    assert "8 evalbot values: 3 ok, 5 unsigned." in out


def test_an_unreadable_dataset_or_key_is_a_clear_error(
    published: Published, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["verify", published.repo_id, "--dataset", "evalbot/no-such-results"]) == 2
    assert "cannot read the results dataset evalbot/no-such-results" in capsys.readouterr().err
    missing = tmp_path / "missing.pem"
    args = ["verify", published.repo_id, f"--dataset={published.dataset}"]
    assert main([*args, f"--public-key={missing}"]) == 2
    assert str(missing) in capsys.readouterr().err


def test_the_public_key_is_printed_for_publishing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "signing-key.pem"
    monkeypatch.setenv("EVALBOT_SIGNING_KEY", str(path))
    signer = Signer.load_or_create(path)
    assert main(["verify", "--print-public-key"]) == 0
    out, err = capsys.readouterr()
    assert out == signer.public_key_pem()
    assert f"key id {signer.key_id}" in err
