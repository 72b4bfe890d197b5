"""`evalbot verify`: signed cards on the sandbox Hub verify; an edited value is caught."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from huggingface_hub import CommitOperationAdd, HfApi

from bot.cli import main
from bot.verify import Status, check_card
from cardgen.card import propose_card
from cardgen.signing import Signer
from tests.cardgen.conftest import make_records
from tests.cardgen.test_cardgen_corpus import CARDS, read

SPACE_URL = "https://huggingface.co/spaces/evalbot/results"


@pytest.fixture
def signer(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Signer:
    """The bot's key, where `evalbot verify` looks for it by default."""
    path = tmp_path / "signing-key.pem"
    monkeypatch.setenv("EVALBOT_SIGNING_KEY", str(path))
    return Signer.load_or_create(path)


@pytest.fixture
def repo_id(demo_api: HfApi) -> str:
    repo_id = f"verify{uuid.uuid4().hex[:8]}/distilbert-emotion"
    demo_api.create_repo(repo_id)
    return repo_id


def signed_card(repo_id: str, signer: Signer | None) -> str:
    records = make_records(model_id=repo_id)
    return propose_card(None, records, repo_id=repo_id, space_url=SPACE_URL, signer=signer).text


def push(api: HfApi, repo_id: str, text: str) -> None:
    api.upload_file(path_or_fileobj=text.encode(), path_in_repo="README.md", repo_id=repo_id)


def verify(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = main(["verify", *args])
    return code, capsys.readouterr().out


def test_signed_card_verifies_and_an_edit_is_caught(
    sandbox: object,
    demo_api: HfApi,
    bot_api: HfApi,
    repo_id: str,
    signer: Signer,
    capsys: pytest.CaptureFixture[str],
) -> None:
    text = signed_card(repo_id, signer)
    push(demo_api, repo_id, text)

    code, out = verify(capsys, repo_id)
    assert code == 0, out
    assert out.count(": ok (model revision 0123456, signed ") == 4
    assert "4 evalbot values: 4 ok. All verify." in out
    assert "dair-ai/emotion split/test f1 (average=macro) = 0.7619: ok" in out

    # The bot's PR carries an edited value: the PR ref fails, main still verifies.
    tampered = text.replace("value: 0.8\n", "value: 0.93\n", 1)
    assert tampered != text
    info = bot_api.create_commit(
        repo_id,
        operations=[CommitOperationAdd("README.md", tampered.encode())],
        commit_message="edit",
        create_pr=True,
    )
    code, out = verify(capsys, f"{repo_id}@refs/pr/{info.pr_num}")
    assert code == 1
    assert "accuracy = 0.93: TAMPERED: value in card 0.93 ≠ signed 0.8" in out
    assert "4 evalbot values: 3 ok, 1 TAMPERED." in out
    assert verify(capsys, repo_id)[0] == 0

    push(demo_api, repo_id, tampered)
    code, out = verify(capsys, repo_id)
    assert code == 1
    assert "TAMPERED" in out


def test_outsider_verifies_with_the_published_key(
    sandbox: object,
    demo_api: HfApi,
    repo_id: str,
    signer: Signer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    push(demo_api, repo_id, signed_card(repo_id, signer))
    assert main(["verify", "--print-public-key"]) == 0
    published = tmp_path / "evalbot.pub.pem"
    published.write_text(capsys.readouterr().out)
    assert published.read_text() == signer.public_key_pem()

    monkeypatch.setenv("EVALBOT_SIGNING_KEY", str(tmp_path / "absent.pem"))  # no private key
    code, out = verify(capsys, repo_id, "--public-key", str(published))
    assert code == 0, out
    assert f"with evalbot key {signer.key_id}" in out

    assert main(["verify", repo_id]) == 2
    assert "no signing key" in capsys.readouterr().err

    other = Signer.load_or_create(tmp_path / "other.pem")
    published.write_text(other.public_key_pem())
    code, out = verify(capsys, repo_id, "--public-key", str(published))
    assert code == 1
    assert out.count(f"INVALID token: signed by an unknown key (key id {signer.key_id})") == 4


def test_unsigned_or_missing_results_fail(
    sandbox: object,
    demo_api: HfApi,
    repo_id: str,
    signer: Signer,
    capsys: pytest.CaptureFixture[str],
) -> None:
    push(demo_api, repo_id, signed_card(repo_id, None))
    code, out = verify(capsys, repo_id)
    assert code == 1
    assert out.count(": no token") == 4

    push(demo_api, repo_id, "---\nlicense: mit\n---\n# No results\n")
    code, out = verify(capsys, repo_id)
    assert code == 1
    assert "No evalbot values on this card" in out

    assert main(["verify"]) == 2


def test_copied_token_and_broken_signature_fail(signer: Signer) -> None:
    repo_id = "acme/distilbert-emotion"
    text = signed_card(repo_id, signer)
    keys = {signer.key_id: signer.public_key}

    # The whole signed entry copied to another repo's card.
    [first, *_] = check_card(text, repo_id="someone/else", public_keys=keys)
    assert first.status is Status.TAMPERED
    assert "repo in card someone/else ≠ signed acme/distilbert-emotion" in first.detail

    token = next(line for line in text.splitlines() if "verifyToken" in line).split(": ")[1]
    broken = text.replace(token, token[:-2] + ("AA" if token[-2:] != "AA" else "BA"))
    statuses = [c.status for c in check_card(broken, repo_id=repo_id, public_keys=keys)]
    assert statuses[0] is Status.INVALID
    assert statuses[1:] == [Status.OK] * 3


def test_other_signers_tokens_are_skipped(signer: Signer) -> None:
    """The Hub's old verifyTokens on the author's results neither pass nor fail a card."""
    repo_id = "acme/distilbert-emotion"
    old = read(CARDS / "02-roberta-base-emotion-verified.md")
    records = make_records(model_id=repo_id)
    text = propose_card(old, records, repo_id=repo_id, space_url=SPACE_URL, signer=signer).text

    checks = check_card(text, repo_id=repo_id, public_keys={signer.key_id: signer.public_key})
    assert [c.status for c in checks] == [Status.SKIPPED] * 11 + [Status.OK] * 4
    assert checks[0].detail == "skipped: not evalbot's token (no key id)"


def test_eval_results_entries_verify_and_an_edit_is_caught(
    sandbox: object,
    demo_api: HfApi,
    repo_id: str,
    signer: Signer,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from cardgen.eval_results import BenchmarkSpec, eval_result_files

    records = make_records(model_id=repo_id)
    push(demo_api, repo_id, signed_card(repo_id, signer))
    spec = {"dair-ai/emotion": BenchmarkSpec("dair-ai/emotion", "test", task_id="emotion")}
    ((path, text),) = eval_result_files(
        records, spec, repo_id=repo_id, space_url=SPACE_URL, signer=signer
    ).items()
    demo_api.upload_file(path_or_fileobj=text.encode(), path_in_repo=path, repo_id=repo_id)

    code, out = verify(capsys, repo_id)
    assert code == 0, out
    assert f"{path}: dair-ai/emotion = 80.0: ok (model revision 0123456" in out
    assert "5 evalbot values: 5 ok. All verify." in out

    edited = text.replace("value: 80.0", "value: 93.0")
    assert edited != text
    demo_api.upload_file(path_or_fileobj=edited.encode(), path_in_repo=path, repo_id=repo_id)
    code, out = verify(capsys, repo_id)
    assert code == 1
    assert f"{path}: dair-ai/emotion = 93.0: TAMPERED: value in file 93.0 ≠ signed 80.0" in out
