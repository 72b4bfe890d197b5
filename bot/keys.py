"""Where the bot's signing key lives.

``EVALBOT_SIGNING_KEY``  path of the Ed25519 private key (PEM, PKCS#8), created with mode 0600 on
first use; default ``~/.cache/evalbot/signing-key.pem``. Back it up: results signed with a lost key
can still be checked with its published public key, but new results get a new key id.
"""

from __future__ import annotations

from pathlib import Path

from bot.settings import DEFAULT_SIGNING_KEY, Settings
from cardgen.signing import Signer

DEFAULT_KEY_PATH = DEFAULT_SIGNING_KEY


def signing_key_path() -> Path:
    return Settings.from_env().signing_key or DEFAULT_KEY_PATH.expanduser()


def load_signer() -> Signer:
    """The bot's signer, its key created on first use."""
    return Signer.load_or_create(signing_key_path())
