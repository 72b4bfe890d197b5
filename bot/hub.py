"""The bot's Hub client: one ``HfApi`` per process, with a fast reachability check."""

from __future__ import annotations

import urllib.error
import urllib.request

from huggingface_hub import HfApi
from huggingface_hub.errors import HfHubHTTPError

from bot.errors import HubUnreachableError, TokenError
from bot.settings import Settings


def preflight(endpoint: str, *, timeout: float = 10.0) -> None:
    """Fail fast (no client retries) when the Hub does not answer at all."""
    try:
        with urllib.request.urlopen(f"{endpoint}/api/models?limit=1", timeout=timeout):
            pass
    except urllib.error.HTTPError:
        return  # it answered: errors are for the calls that follow to report
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise HubUnreachableError(endpoint, str(reason)) from exc


def make_api(settings: Settings, *, need_token: bool) -> HfApi:
    """An ``HfApi`` on ``settings.hf_endpoint``; checks the token when one is needed."""
    preflight(settings.hf_endpoint)
    api = HfApi(endpoint=settings.hf_endpoint, token=settings.hf_token or False)
    if need_token:
        if not settings.hf_token:
            raise TokenError(
                "HF_TOKEN is not set: the bot needs a write token to open pull requests"
            )
        try:
            api.whoami()
        except HfHubHTTPError as exc:
            raise TokenError(
                f"HF_TOKEN was rejected by {settings.hf_endpoint} "
                f"(HTTP {exc.response.status_code if exc.response is not None else '?'})"
            ) from exc
    return api
