"""``evalbot status --health``: can this host's evalbot work? The Docker image's HEALTHCHECK.

Healthy when MongoDB at ``MONGODB_URI`` answers (as ``MONGODB_READ_URI``'s user when that is set:
the check only reads) and, if workers run on this host, the freshest of
their heartbeats is fresh. A worker records one at every turn of its job loop and at every beat
while a job runs (each ``queue.lease_seconds / 3``), fresh for three lease periods (and at least
three ``queue.poll_seconds``), so the check needs no config. A host without worker records (a
timer alone, ``evalbot serve``; workers that stopped cleanly; ``evalbot run`` between cycles) is
healthy when MongoDB answers. Loads no config and imports no torch: it runs every minute.

Example:
    >>> check_health(Settings.from_env())  # doctest: +SKIP
    Health(ok=True, message='ok: MongoDB answers; worker ab12:1:7f beat 3 s ago on host ab12')
"""

from __future__ import annotations

import socket
from dataclasses import dataclass

from bot.settings import Settings
from store.db import Store
from store.errors import MongoUnavailableError
from store.types import utcnow


@dataclass(frozen=True)
class Health:
    ok: bool
    message: str  # one line: what is wrong, or what was checked


def check_health(settings: Settings, *, host: str | None = None, timeout_ms: int = 5000) -> Health:
    """MongoDB answers within ``timeout_ms``, and the workers of ``host`` (default: this one)
    beat recently."""
    host = host or socket.gethostname()
    if settings.mongodb_uri is None:
        return Health(False, "MONGODB_URI is unset: set it to the MongoDB server the bot uses")
    try:
        store = Store.open(settings.read_uri, timeout_ms=timeout_ms, read_only=True)
    except MongoUnavailableError as exc:
        return Health(False, str(exc))
    with store:
        beats = store.worker_heartbeats(host=host)
    if not beats:
        return Health(True, f"ok: MongoDB answers; no worker runs on host {host}")
    now = utcnow()
    freshest = max(beats, key=lambda beat: beat.fresh_until)
    ago = (now - freshest.seen_at).total_seconds()
    if freshest.fresh_until < now:
        window = (freshest.fresh_until - freshest.seen_at).total_seconds()
        return Health(
            False,
            f"no worker on host {host} beats: the last heartbeat, of worker {freshest.worker}, "
            f"is {ago:.0f} s old (stale after {window:.0f} s); "
            "the worker died, hangs or cannot reach MongoDB (see its log)",
        )
    return Health(
        True, f"ok: MongoDB answers; worker {freshest.worker} beat {ago:.0f} s ago on host {host}"
    )
