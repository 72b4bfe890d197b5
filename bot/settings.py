"""Environment settings, read in one place.

``HF_ENDPOINT``  the Hub (default https://huggingface.co; the demo points it at the sandbox)
``HF_TOKEN``     the bot's token (needed to open PRs; never logged, stored or written anywhere)
``EVALBOT_HF_READ_TOKEN`` with ``executor: ray``, a token whose role is ``read`` that the Ray tasks
                   download models and datasets with (gated datasets); unset: anonymously. The
                   write token never goes to Ray; a token of another role is refused at start
``MONGODB_URI``  MongoDB; unset: an embedded mongod with data under ``EVALBOT_MONGO_DIR``, with
                   access control: its users' passwords are in ``credentials.json`` there
                   (mode 0600; see ``store.embedded``)
``MONGODB_READ_URI`` with ``MONGODB_URI``, a read-only user's URI for the commands that only read
                   (``status``, ``stats``, ``label-errors``, ``modules``, ``export-fiftyone``'s
                   reading of results, ``status --health``); unset: those use ``MONGODB_URI``.
                   Without ``MONGODB_URI`` they use the embedded server's read-only user
``EVALBOT_CONFIG`` the config folder (default ``./config``)
``EVALBOT_SPACE_URL`` overrides ``space_url`` of bot.yaml (the demo sets it to its local Space)
``EVALBOT_LOG_FORMAT`` ``json``: one JSON object per log line (default: text)
``EVALBOT_SIGNING_KEY`` the bot's Ed25519 key (PEM; default ``~/.cache/evalbot/signing-key.pem``),
                   made once by ``evalbot keys create``; ``run``, ``serve`` and ``worker`` need it
``EVALBOT_PRODUCTION`` ``1`` (the Docker image sets it): ``run``, ``serve`` and ``worker`` refuse
                   to start without ``MONGODB_URI`` and the signing key, and no embedded mongod
                   is ever started (a container's disk is not a database's home)
``EVALBOT_DEMO_DIR`` where ``evalbot demo`` keeps its state (default ``~/.cache/evalbot/demo``)
``FIFTYONE_DATABASE_URI`` FiftyOne's MongoDB (default: evalbot's own, as its read-write user)

``MONGODB_URI``, ``MONGODB_READ_URI``, ``EVALBOT_DB`` and ``EVALBOT_MONGO_DIR`` are also read by
``store`` (which the Space uses without ``bot``), and ``EVALBOT_MONGOD`` and ``EVALBOT_PRODUCTION``
by the embedded server.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from store.embedded import production_mode

DEFAULT_ENDPOINT = "https://huggingface.co"
DEFAULT_SIGNING_KEY = Path("~/.cache/evalbot/signing-key.pem")
DEFAULT_DEMO_DIR = Path.home() / ".cache" / "evalbot" / "demo"


@dataclass(frozen=True)
class Settings:
    hf_endpoint: str
    mongodb_uri: str | None = field(repr=False)  # may hold a password
    config_dir: Path
    space_url: str | None = None  # EVALBOT_SPACE_URL overrides bot.yaml's space_url
    log_format: str = "text"  # EVALBOT_LOG_FORMAT: text | json
    hf_token: str | None = field(default=None, repr=False)
    hf_read_token: str | None = field(default=None, repr=False)  # EVALBOT_HF_READ_TOKEN
    signing_key: Path | None = None  # EVALBOT_SIGNING_KEY; None: the default path
    demo_dir: Path = DEFAULT_DEMO_DIR
    fiftyone_database_uri: str | None = None
    production: bool = False  # EVALBOT_PRODUCTION
    mongodb_read_uri: str | None = field(default=None, repr=False)  # MONGODB_READ_URI

    @classmethod
    def from_env(cls, *, config_dir: Path | None = None) -> Settings:
        return cls(
            hf_endpoint=os.environ.get("HF_ENDPOINT", DEFAULT_ENDPOINT).rstrip("/"),
            hf_token=os.environ.get("HF_TOKEN") or None,
            hf_read_token=os.environ.get("EVALBOT_HF_READ_TOKEN") or None,
            mongodb_uri=os.environ.get("MONGODB_URI") or None,
            config_dir=config_dir or Path(os.environ.get("EVALBOT_CONFIG", "config")),
            space_url=os.environ.get("EVALBOT_SPACE_URL") or None,
            log_format=os.environ.get("EVALBOT_LOG_FORMAT", "text").strip().casefold() or "text",
            signing_key=_path(os.environ.get("EVALBOT_SIGNING_KEY")),
            demo_dir=Path(os.environ.get("EVALBOT_DEMO_DIR") or DEFAULT_DEMO_DIR).expanduser(),
            fiftyone_database_uri=os.environ.get("FIFTYONE_DATABASE_URI") or None,
            production=production_mode(),
            mongodb_read_uri=os.environ.get("MONGODB_READ_URI") or None,
        )

    @property
    def read_uri(self) -> str | None:
        """The MongoDB of read-only commands: ``MONGODB_READ_URI`` when it and ``MONGODB_URI`` are
        set, else ``MONGODB_URI``; None: the embedded server (``Store.open(read_only=True)``
        connects as its read-only user)."""
        if self.mongodb_uri is None:
            return None
        return self.mongodb_read_uri or self.mongodb_uri

    @property
    def signing_key_path(self) -> Path:
        """``EVALBOT_SIGNING_KEY``, or the default path."""
        return self.signing_key or DEFAULT_SIGNING_KEY.expanduser()


def _path(value: str | None) -> Path | None:
    return Path(value).expanduser() if value else None
