"""The bot's signing key: made once by ``evalbot keys create``, only read afterwards.

``EVALBOT_SIGNING_KEY``  path of the Ed25519 private key (PEM, PKCS#8, mode 0600); default
``~/.cache/evalbot/signing-key.pem``. ``evalbot run``, ``serve`` and ``worker`` refuse to start
without it, and nothing but ``evalbot keys create`` writes one (``evalbot demo`` makes its own in
its demo folder). Back it up: results signed with a lost key can still be checked with its
published public key, but new results get a new key id.

Example:
    >>> signer = create_signer(Path("/tmp/k/signing-key.pem"))  # doctest: +SKIP
    >>> load_signer().key_id == signer.key_id  # with EVALBOT_SIGNING_KEY=/tmp/k/signing-key.pem  # doctest: +SKIP
    True
"""

from __future__ import annotations

import sys
from pathlib import Path

from bot.errors import SigningKeyExistsError, SigningKeyMissingError
from bot.settings import Settings
from cardgen.signing import Signer


def signing_key_path() -> Path:
    return Settings.from_env().signing_key_path


def load_signer(path: Path | None = None) -> Signer:
    """The bot's signer, from ``path`` (default: `signing_key_path`).

    Raises:
        SigningKeyMissingError: When there is no key file: ``evalbot keys create`` makes one.
        cardgen.errors.SigningKeyError: When the file holds no unencrypted Ed25519 key.
    """
    path = path or signing_key_path()
    try:
        return Signer.load(path)
    except FileNotFoundError:
        raise SigningKeyMissingError(path) from None


def create_signer(path: Path | None = None) -> Signer:
    """A new key at ``path`` (default: `signing_key_path`), mode 0600, in a folder of mode 0700.

    Raises:
        SigningKeyExistsError: When a file is there already (a key is never replaced).
    """
    path = (path or signing_key_path()).expanduser()
    if path.exists():
        raise SigningKeyExistsError(path)
    try:
        return Signer.create(path)
    except FileExistsError:  # another process wrote one first
        raise SigningKeyExistsError(path) from None


def print_key(signer: Signer, path: Path, *, created: bool = False) -> None:
    """The public key (PEM) on stdout, to publish; its id and the key file's path on stderr.

    The same lines as ``evalbot verify --print-public-key``.
    """
    print(signer.public_key_pem(), end="")
    made = ": created with mode 0600; back it up" if created else ""
    print(f"key id {signer.key_id} ({path}{made})", file=sys.stderr)
