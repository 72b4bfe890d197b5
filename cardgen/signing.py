"""evalbot's Ed25519 signing key and the EdDSA JWTs it signs.

The key signs the rows of evalbot's public results dataset, so anyone holding the published public
key can check that a stored value is the one evalbot measured. Nothing evalbot writes into a model
card or an ``.eval_results`` file carries such a token: a ``verifyToken`` there is Hugging Face's
proof that an evaluation ran in HF Jobs, and the Hub's ``verified`` badge is never ours to set.

Ed25519 signatures are deterministic, and the JSON is canonical, so the same claims signed at the
same second give the same token.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import json
import os
import re
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from .errors import SigningKeyError, TokenError, TokenProblem

ALGORITHM = "EdDSA"
_SEGMENT = re.compile(r"[A-Za-z0-9_-]*")


def canonical_json(value: object) -> str:
    """Sorted keys, no spaces, no NaN: one text for one value."""
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )


def key_id(public_key: Ed25519PublicKey) -> str:
    """The first 16 hex digits of the sha256 of the raw public key: a token's ``kid``."""
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


class Signer:
    """The bot's Ed25519 signing key.

    Example:
        >>> signer = Signer.load_or_create(Path("~/.cache/evalbot/signing-key.pem"))  # doctest: +SKIP
        >>> token = signer.sign({"sub": "org/m", "value": 0.93})  # doctest: +SKIP
        >>> verify_token(token, {signer.key_id: signer.public_key})["value"]  # doctest: +SKIP
        0.93
    """

    def __init__(self, private_key: Ed25519PrivateKey) -> None:
        self._private_key = private_key
        self.public_key = private_key.public_key()
        self.key_id = key_id(self.public_key)

    @classmethod
    def load(cls, path: Path) -> Signer:
        """The key in a PEM (PKCS#8, unencrypted) file.

        Raises:
            FileNotFoundError: When there is no such file.
            SigningKeyError: When the file holds no unencrypted Ed25519 private key.
        """
        data = Path(path).expanduser().read_bytes()
        try:
            key = serialization.load_pem_private_key(data, password=None)
        except (ValueError, TypeError, UnsupportedAlgorithm) as error:
            raise SigningKeyError(path, str(error)) from error
        if not isinstance(key, Ed25519PrivateKey):
            raise SigningKeyError(path, f"a {type(key).__name__}, not an Ed25519 private key")
        return cls(key)

    @classmethod
    def create(cls, path: Path) -> Signer:
        """A new key, written to ``path`` with mode 0600.

        The file appears atomically, whole, and never replaces a key: a key that exists (or that
        another process wrote first) is left as it is.

        Raises:
            FileExistsError: When ``path`` exists.
        """
        path = Path(path).expanduser()
        key = Ed25519PrivateKey.generate()
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".signing-key-")  # mode 0600
        try:
            with os.fdopen(handle, "wb") as file:
                file.write(pem)
                file.flush()
                os.fsync(file.fileno())
            os.link(temporary, path)
        finally:
            os.unlink(temporary)
        return cls(key)

    @classmethod
    def load_or_create(cls, path: Path) -> Signer:
        """The key in ``path``; a new one (`create`) when there is none. For sandboxes and tests:
        the bot itself only loads its key (``evalbot keys create`` makes it)."""
        if not Path(path).expanduser().exists():
            with contextlib.suppress(FileExistsError):  # another process wrote it first
                return cls.create(path)
        return cls.load(path)

    def sign(self, claims: Mapping[str, Any]) -> str:
        """An EdDSA JWT of ``claims``; ``iat`` (now, in unix seconds) is added unless given."""
        payload = {**claims, "iat": claims.get("iat", int(time.time()))}
        header = {"alg": ALGORITHM, "typ": "JWT", "kid": self.key_id}
        signing_input = f"{_encode(canonical_json(header).encode())}.{_encode(canonical_json(payload).encode())}"
        signature = self._private_key.sign(signing_input.encode("ascii"))
        return f"{signing_input}.{_encode(signature)}"

    def verify(self, token: str) -> dict[str, Any]:
        """The claims of a token this key signed (see `verify_token`)."""
        return verify_token(token, {self.key_id: self.public_key})

    def public_key_pem(self) -> str:
        """The public key as PEM (SubjectPublicKeyInfo): what evalbot publishes."""
        return public_key_pem(self.public_key)

    def sign_bytes(self, data: bytes) -> str:
        """The Ed25519 signature of ``data``, base64url without padding (see `verify_bytes`).

        Example:
            >>> signature = signer.sign_bytes(b'{"value":0.93}')  # doctest: +SKIP
            >>> verify_bytes(signer.public_key, b'{"value":0.93}', signature)  # doctest: +SKIP
            True
        """
        signature = self._private_key.sign(data)
        return base64.urlsafe_b64encode(signature).rstrip(b"=").decode("ascii")


def public_key_pem(public_key: Ed25519PublicKey) -> str:
    return public_key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode("ascii")


def load_public_key(pem: bytes, *, source: object = "the PEM") -> Ed25519PublicKey:
    """An Ed25519 public key from PEM (as `Signer.public_key_pem` writes it).

    Raises:
        SigningKeyError: When ``pem`` holds no Ed25519 public key.
    """
    try:
        key = serialization.load_pem_public_key(pem)
    except (ValueError, TypeError, UnsupportedAlgorithm) as error:
        raise SigningKeyError(source, str(error)) from error
    if not isinstance(key, Ed25519PublicKey):
        raise SigningKeyError(source, f"a {type(key).__name__}, not an Ed25519 public key")
    return key


def verify_bytes(public_key: Ed25519PublicKey, data: bytes, signature: object) -> bool:
    """Whether ``signature`` (as `Signer.sign_bytes` writes it: base64url, no padding) is
    ``public_key``'s Ed25519 signature of ``data``. Anything else, a malformed or padded
    signature included, is False.
    """
    if not isinstance(signature, str) or len(signature) != 86:  # 64 bytes, unpadded
        return False
    try:
        raw = base64.urlsafe_b64decode(signature + "==")
    except ValueError:
        return False
    if base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii") != signature:
        return False  # not the one spelling sign_bytes gives
    try:
        public_key.verify(raw, data)
    except InvalidSignature:
        return False
    return True


def verify_token(token: object, public_keys: Mapping[str, Ed25519PublicKey]) -> dict[str, Any]:
    """The claims of an EdDSA JWT whose ``kid`` names one of ``public_keys`` and whose signature
    verifies with that key.

    Args:
        token: The `verifyToken` as read from a card (anything; only a JWT string can pass).
        public_keys: Trusted keys by key id (see `key_id`).

    Raises:
        TokenError: With ``problem`` MALFORMED (not a canonical base64url JWT with a JSON object
            header and payload, or not EdDSA), UNKNOWN_KEY (no or an untrusted ``kid``) or
            BAD_SIGNATURE.

    Example:
        >>> verify_token("not.a.token", {})
        Traceback (most recent call last):
        ...
        cardgen.errors.TokenError: malformed token (header is not canonical base64url)
    """
    if not isinstance(token, str) or token.count(".") != 2:
        raise TokenError(TokenProblem.MALFORMED, detail="not three dot-separated parts")
    header_part, payload_part, signature_part = token.split(".")
    header = _object(_decode(header_part, "header"), "header")
    payload = _decode(payload_part, "payload")
    signature = _decode(signature_part, "signature")
    if header.get("alg") != ALGORITHM:
        raise TokenError(TokenProblem.MALFORMED, detail=f"algorithm {header.get('alg')!r}")
    kid = header.get("kid")
    key = public_keys.get(kid) if isinstance(kid, str) else None
    if key is None:
        raise TokenError(
            TokenProblem.UNKNOWN_KEY,
            kid=kid if isinstance(kid, str) else None,
            detail=None if isinstance(kid, str) else "the token names no key",
        )
    try:
        key.verify(signature, f"{header_part}.{payload_part}".encode("ascii"))
    except InvalidSignature as error:
        raise TokenError(TokenProblem.BAD_SIGNATURE, kid=kid) from error
    return _object(payload, "payload")


def _encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _decode(segment: str, what: str) -> bytes:
    """Strict base64url without padding: the only spelling `_encode` gives for the bytes."""
    try:
        data = base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
    except (binascii.Error, ValueError) as error:
        raise TokenError(TokenProblem.MALFORMED, detail=f"{what} is not base64url") from error
    if not _SEGMENT.fullmatch(segment) or _encode(data) != segment:
        raise TokenError(TokenProblem.MALFORMED, detail=f"{what} is not canonical base64url")
    return data


def _object(data: bytes, what: str) -> dict[str, Any]:
    try:
        value = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise TokenError(TokenProblem.MALFORMED, detail=f"{what} is not JSON") from error
    if not isinstance(value, dict):
        raise TokenError(TokenProblem.MALFORMED, detail=f"{what} is not a JSON object")
    return value
