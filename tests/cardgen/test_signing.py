"""evalbot's signing key and its tokens; cards carry none of them, and keep the authors' own."""

from __future__ import annotations

import base64
import hashlib
import json
import stat
import types
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ec import SECP256R1, generate_private_key
from huggingface_hub import ModelCard

from cardgen import signing
from cardgen.card import propose_card, read_results
from cardgen.errors import CardError, SigningKeyError, TokenError, TokenProblem
from cardgen.signing import Signer, load_public_key, verify_token
from store.types import EvaluationRecord
from tests.cardgen.test_cardgen_corpus import PATHS, REFUSED, read

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


# Cards: the Hub's verifyTokens are the authors', never ours


def tokens(text: str) -> list[str]:
    return [
        line.split("verifyToken:", 1)[1].strip()
        for line in text.splitlines()
        if "verifyToken:" in line
    ]


def test_a_proposed_card_carries_no_token_of_ours(records: list[EvaluationRecord]) -> None:
    change = propose_card(None, records, repo_id=REPO_ID, space_url=SPACE_URL)

    assert len(read_results(change.text, repo_id=REPO_ID)) == 4
    assert "verifyToken" not in change.text and "verified" not in json.dumps(change.model_index)


def test_tokens_of_an_older_evalbot_are_dropped(
    signer: Signer, records: list[EvaluationRecord]
) -> None:
    """Results evalbot once signed on a card lose the token; nothing else about them changes."""
    clean = propose_card(None, records, repo_id=REPO_ID, space_url=SPACE_URL).text
    token = signer.sign(CLAIMS)
    signed = clean.replace("      value: 0.8\n", f"      value: 0.8\n      verifyToken: {token}\n")
    assert tokens(signed) == [token]

    change = propose_card(signed, records, repo_id=REPO_ID, space_url=SPACE_URL)

    assert change.changed and change.text == clean


EDITED = [p for p in PATHS if p.name not in REFUSED]


@pytest.mark.parametrize("path", EDITED, ids=[p.name for p in EDITED])
def test_real_cards_keep_the_authors_tokens_untouched(
    path: Path, records: list[EvaluationRecord]
) -> None:
    old = read(path)
    change = propose_card(old, records, repo_id=REPO_ID, space_url=SPACE_URL)

    card = ModelCard(change.text)
    ours = [r for r in card.data.eval_results if r.source_name == "evalbot"]
    assert len(ours) == 4
    assert all(r.verify_token is None and r.verified is None for r in ours)
    old_results = ModelCard(old, ignore_metadata_errors=True).data.eval_results or []
    assert [r for r in card.data.eval_results if r.source_name != "evalbot"] == old_results
    assert tokens(change.text) == [r.verify_token for r in old_results if r.verify_token]


def test_the_hubs_tokens_survive_our_merge_byte_for_byte(records: list[EvaluationRecord]) -> None:
    """A card the Hub's evaluation service verified keeps each token exactly where it was."""
    old = read(next(p for p in PATHS if p.name.startswith("02-")))
    theirs = tokens(old)
    assert theirs

    new = propose_card(old, records, repo_id=REPO_ID, space_url=SPACE_URL).text

    assert tokens(new) == theirs
    again = propose_card(new, records, repo_id=REPO_ID, space_url=SPACE_URL)
    assert not again.changed


def test_refused_cards_stay_refused(records: list[EvaluationRecord]) -> None:
    for path in PATHS:
        if path.name in REFUSED:
            with pytest.raises(CardError):
                propose_card(read(path), records, repo_id=REPO_ID, space_url=SPACE_URL)
