"""The bot's Hub client: one ``HfApi`` per process, with a fast reachability check.

The client retries the calls huggingface_hub does not retry, per ``hub:`` in bot.yaml; the
long-running commands also pace all requests under :func:`rate_limited` (see :mod:`bot.ratelimit`).
"""

from __future__ import annotations

import urllib.error
import urllib.request
from contextlib import AbstractContextManager

from huggingface_hub import HfApi
from huggingface_hub.errors import HfHubHTTPError

from bot.config import Hub
from bot.errors import HubUnreachableError, TokenError
from bot.ratelimit import (
    RetryingHfApi,
    RetryPolicy,
    TokenBucket,
    is_transient,
    paced,
    status_of,
)
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


def rate_limited(settings: Settings, hub: Hub) -> AbstractContextManager[TokenBucket]:
    """Pace this process's Hub API requests to ``hub.quota_share`` of the token's quota."""
    bucket = TokenBucket.for_quota(hub.requests_per_5min, share=hub.quota_share)
    return paced(bucket, settings.hf_endpoint)


def make_api(settings: Settings, *, need_token: bool, hub: Hub | None = None) -> HfApi:
    """An ``HfApi`` on ``settings.hf_endpoint``; checks the token when one is needed.

    Calls the client does not retry are retried per ``hub`` (default: bot.yaml's defaults).
    """
    hub = hub or Hub()
    preflight(settings.hf_endpoint)
    api = RetryingHfApi(
        endpoint=settings.hf_endpoint,
        token=settings.hf_token or False,
        policy=RetryPolicy(retries=hub.max_retries, max_wait_s=hub.max_wait_seconds),
    )
    if need_token:
        if not settings.hf_token:
            raise TokenError(
                "HF_TOKEN is not set: the bot needs a write token to open pull requests"
            )
        try:
            api.whoami()
        except HfHubHTTPError as exc:
            if is_transient(exc):  # rate limited or down: not the token's fault
                raise HubUnreachableError(
                    settings.hf_endpoint, f"HTTP {status_of(exc)} to whoami, after retries"
                ) from exc
            raise TokenError(
                f"HF_TOKEN was rejected by {settings.hf_endpoint} "
                f"(HTTP {exc.response.status_code if exc.response is not None else '?'})"
            ) from exc
    return api
