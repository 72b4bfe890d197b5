"""Errors of the bot's own: they end a command with one clear message and a non-zero exit."""

from __future__ import annotations


class HubUnreachableError(ConnectionError):
    """The Hub at HF_ENDPOINT does not answer."""

    def __init__(self, endpoint: str, cause: str) -> None:
        super().__init__(
            f"the Hub at HF_ENDPOINT={endpoint} is unreachable ({cause}). "
            "Check HF_ENDPOINT (unset means https://huggingface.co) and the network."
        )
        self.endpoint = endpoint


class TokenError(PermissionError):
    """HF_TOKEN is missing or rejected where one is needed."""
