"""Signed results: tokens, keys, and tokens on proposed cards (fresh, re-run, real cards)."""

from __future__ import annotations

import base64
import hashlib
import json
import stat
import types
from collections.abc import Callable
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ec import SECP256R1, generate_private_key
from huggingface_hub import ModelCard

from cardgen import signing
from cardgen.card import propose_card, read_results
from cardgen.errors import CardError, SigningKeyError, TokenError, TokenProblem
from cardgen.signing import Signer, entry_claims, load_public_key, verify_token
from store.types import EvaluationRecord
from tests.cardgen.test_cardgen_corpus import PATHS, REFUSED, read

MakeRecords = Callable[..., list[EvaluationRecord]]

REPO_ID = "acme/distilbert-emotion"
SPACE_URL = "https://huggingface.co/spaces/evalbot/results"
CLAIMS = {"sub": REPO_ID, "metric": "accuracy", "args": None, "value": 0.7556, "iat": 1_800_000_000}


@pytest.fixture
def signer(tmp_path: Path) -> Signer:
    return Signer.load_or_create(tmp_path / "keys" / "signing-key.pem")


def keys(signer: Signer) -> dict:
    return {signer.key_id: signer.public_key}


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def later(monkeypatch: pytest.MonkeyPatch, seconds: int) -> None:
    """Make the signer's clock read ``seconds`` from now: only ``iat`` would change."""
    now = signing.time.time()
    monkeypatch.setattr(signing, "time", types.SimpleNamespace(time=lambda: now + seconds))


# Tokens


def test_round_trip(signer: Signer) -> None:
    token = signer.sign(CLAIMS)

    header, _, _ = token.split(".")
    assert json.loads(unb64(header)) == {"alg": "EdDSA", "typ": "JWT", "kid": signer.key_id}
    assert verify_token(token, keys(signer)) == CLAIMS
    assert "=" not in token and "+" not in token and "/" not in token


def test_tokens_are_deterministic_apart_from_iat(
    signer: Signer, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert signer.sign(CLAIMS) == signer.sign(dict(reversed(CLAIMS.items())))
    unstamped = {k: v for k, v in CLAIMS.items() if k != "iat"}
    first = verify_token(signer.sign(unstamped), keys(signer))
    later(monkeypatch, 3600)
    second = verify_token(signer.sign(unstamped), keys(signer))
    assert second["iat"] - first["iat"] == 3600
    assert {**first, "iat": 0} == {**second, "iat": 0}


def test_key_id_is_sha256_of_the_raw_public_key(signer: Signer) -> None:
    raw = signer.public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    assert signer.key_id == hashlib.sha256(raw).hexdigest()[:16]


def test_a_changed_payload_fails(signer: Signer) -> None:
    header, _, signature = signer.sign(CLAIMS).split(".")
    forged = b64(json.dumps({**CLAIMS, "value": 0.93}).encode())

    with pytest.raises(TokenError) as error:
        verify_token(f"{header}.{forged}.{signature}", keys(signer))
    assert error.value.problem is TokenProblem.BAD_SIGNATURE
    assert error.value.kid == signer.key_id


@pytest.mark.parametrize("part", [1, 2])
def test_a_flipped_byte_fails(signer: Signer, part: int) -> None:
    parts = signer.sign(CLAIMS).split(".")
    for index in range(len(unb64(parts[part]))):
        data = bytearray(unb64(parts[part]))
        data[index] ^= 0x01
        flipped = list(parts)
        flipped[part] = b64(bytes(data))
        with pytest.raises(TokenError) as error:
            verify_token(".".join(flipped), keys(signer))
        assert error.value.problem is TokenProblem.BAD_SIGNATURE


def test_every_changed_character_fails(signer: Signer) -> None:
    token = signer.sign(CLAIMS)
    for index, char in enumerate(token):
        if char == ".":
            continue
        changed = token[:index] + ("B" if char == "A" else "A") + token[index + 1 :]
        with pytest.raises(TokenError):
            verify_token(changed, keys(signer))


def test_unknown_key_fails(signer: Signer, tmp_path: Path) -> None:
    other = Signer.load_or_create(tmp_path / "other.pem")

    with pytest.raises(TokenError) as error:
        verify_token(signer.sign(CLAIMS), keys(other))
    assert error.value.problem is TokenProblem.UNKNOWN_KEY
    assert error.value.kid == signer.key_id
    assert isinstance(error.value, ValueError)


def test_the_hubs_old_tokens_name_no_key(signer: Signer) -> None:
    """The verifyTokens of the Hub's retired evaluation service carry no kid."""
    card = read(next(p for p in PATHS if p.name.startswith("02-")))
    token = next(r.verify_token for r in ModelCard(card).data.eval_results if r.verify_token)

    with pytest.raises(TokenError) as error:
        verify_token(token, keys(signer))
    assert error.value.problem is TokenProblem.UNKNOWN_KEY
    assert error.value.kid is None


@pytest.mark.parametrize(
    "token",
    [
        None,
        "",
        "a.b",
        "a.b.c.d",
        "not.a.token",
        b64(b'{"alg":"none","kid":"x"}') + "." + b64(b"{}") + ".",
        b64(b"[]") + "." + b64(b"{}") + "." + b64(b"sig"),
        "eyJ+.eyJ.sig",
    ],
)
def test_malformed_tokens(token: object, signer: Signer) -> None:
    with pytest.raises(TokenError) as error:
        verify_token(token, keys(signer))
    assert error.value.problem is TokenProblem.MALFORMED


def test_non_object_payload_is_malformed(signer: Signer) -> None:
    header, _, _ = signer.sign(CLAIMS).split(".")
    payload = b64(b"[1]")
    signature = b64(signer._private_key.sign(f"{header}.{payload}".encode()))

    with pytest.raises(TokenError) as error:
        verify_token(f"{header}.{payload}.{signature}", keys(signer))
    assert error.value.problem is TokenProblem.MALFORMED


# Keys


def test_key_file_is_created_private_and_reused(tmp_path: Path) -> None:
    path = tmp_path / "new" / "signing-key.pem"
    signer = Signer.load_or_create(path)

    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_text().startswith("-----BEGIN PRIVATE KEY-----")
    assert Signer.load_or_create(path).key_id == signer.key_id
    assert Signer.load(path).key_id == signer.key_id
    assert [p.name for p in path.parent.iterdir()] == ["signing-key.pem"]  # no temporary left


def test_published_public_key_verifies(signer: Signer) -> None:
    pem = signer.public_key_pem()
    published = load_public_key(pem.encode())

    assert pem.startswith("-----BEGIN PUBLIC KEY-----")
    assert verify_token(signer.sign(CLAIMS), {signing.key_id(published): published}) == CLAIMS


def test_wrong_key_files(tmp_path: Path, signer: Signer) -> None:
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("not a key")
    ec = tmp_path / "ec.pem"
    ec.write_bytes(
        generate_private_key(SECP256R1()).private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )

    for path in (garbage, ec):
        with pytest.raises(SigningKeyError, match=str(path)):
            Signer.load_or_create(path)
    with pytest.raises(SigningKeyError, match="not an Ed25519 public key"):
        load_public_key(
            generate_private_key(SECP256R1())
            .public_key()
            .public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
        )
    with pytest.raises(SigningKeyError):
        load_public_key(signer.public_key_pem().encode()[:40])


# Tokens on cards


def test_tokens_on_a_proposed_card_verify_and_match_the_entries(
    signer: Signer, records: list[EvaluationRecord]
) -> None:
    change = propose_card(None, records, repo_id=REPO_ID, space_url=SPACE_URL, signer=signer)

    results = read_results(change.text, repo_id=REPO_ID)
    assert len(results) == 4
    for result in results:
        claims = verify_token(result.verify_token, keys(signer))
        assert claims.pop("iat") > 0
        assert claims == {**entry_claims(REPO_ID, result), "model_sha": records[0].model_sha}
        assert result.verified is None
    assert "verified" not in json.dumps(change.model_index)
    assert all("verifyToken" in m for m in change.model_index[0]["metrics"])


def test_rerun_with_a_signer_changes_nothing(
    signer: Signer, records: list[EvaluationRecord], monkeypatch: pytest.MonkeyPatch
) -> None:
    first = propose_card(None, records, repo_id=REPO_ID, space_url=SPACE_URL, signer=signer)
    later(monkeypatch, 86400)
    second = propose_card(first.text, records, repo_id=REPO_ID, space_url=SPACE_URL, signer=signer)

    assert not second.changed
    assert second.text == first.text


def test_new_value_or_new_key_signs_anew(
    signer: Signer, make_records: MakeRecords, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    records = make_records()
    text = propose_card(None, records, repo_id=REPO_ID, space_url=SPACE_URL, signer=signer).text
    later(monkeypatch, 60)

    other = make_records(metrics={**records[0].metrics, "accuracy": 0.81})
    new_value = propose_card(text, other, repo_id=REPO_ID, space_url=SPACE_URL, signer=signer)
    tokens = {r.metric_type: r.verify_token for r in read_results(text, repo_id=REPO_ID)}
    fresh = {r.metric_type: r.verify_token for r in read_results(new_value.text, repo_id=REPO_ID)}
    assert fresh["accuracy"] != tokens["accuracy"]
    assert verify_token(fresh["accuracy"], keys(signer))["value"] == 0.81
    assert fresh["f1"] == tokens["f1"]  # unchanged values keep their tokens

    rotated = Signer.load_or_create(tmp_path / "rotated.pem")
    change = propose_card(text, records, repo_id=REPO_ID, space_url=SPACE_URL, signer=rotated)
    assert change.changed
    for result in read_results(change.text, repo_id=REPO_ID):
        verify_token(result.verify_token, keys(rotated))


def test_an_edited_value_is_restored_with_a_valid_token(
    signer: Signer, records: list[EvaluationRecord]
) -> None:
    text = propose_card(None, records, repo_id=REPO_ID, space_url=SPACE_URL, signer=signer).text
    tampered = text.replace("value: 0.8\n", "value: 0.93\n", 1)
    assert tampered != text

    change = propose_card(tampered, records, repo_id=REPO_ID, space_url=SPACE_URL, signer=signer)
    assert change.changed
    assert change.text == text


def test_no_signer_no_tokens(records: list[EvaluationRecord]) -> None:
    change = propose_card(None, records, repo_id=REPO_ID, space_url=SPACE_URL)
    assert all(r.verify_token is None for r in read_results(change.text, repo_id=REPO_ID))


EDITED = [p for p in PATHS if p.name not in REFUSED]


@pytest.mark.parametrize("path", EDITED, ids=[p.name for p in EDITED])
def test_real_cards_with_a_signer(
    path: Path,
    signer: Signer,
    records: list[EvaluationRecord],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    old = read(path)
    change = propose_card(old, records, repo_id=REPO_ID, space_url=SPACE_URL, signer=signer)

    card = ModelCard(change.text)
    ours = [r for r in card.data.eval_results if r.source_name == "evalbot"]
    assert len(ours) == 4
    for result in ours:
        claims = verify_token(result.verify_token, keys(signer))
        assert claims["value"] == result.metric_value
        assert result.verified is None
    old_results = ModelCard(old, ignore_metadata_errors=True).data.eval_results or []
    assert [r for r in card.data.eval_results if r.source_name != "evalbot"] == old_results
    unsigned = propose_card(old, records, repo_id=REPO_ID, space_url=SPACE_URL).text
    assert change.text.count("\n") == unsigned.count("\n") + 4  # one verifyToken line each

    later(monkeypatch, 3600)
    again = propose_card(change.text, records, repo_id=REPO_ID, space_url=SPACE_URL, signer=signer)
    assert not again.changed


def test_refused_cards_stay_refused_with_a_signer(
    signer: Signer, records: list[EvaluationRecord]
) -> None:
    for path in PATHS:
        if path.name in REFUSED:
            with pytest.raises(CardError):
                propose_card(
                    read(path), records, repo_id=REPO_ID, space_url=SPACE_URL, signer=signer
                )
