"""Open (or refresh) one pull request per model and result set with the card change.

Rules: nothing when PRs are switched off, the repo is denied or opted out, the card already holds
the results, or a PR with the same results exists (open: it stays as it is; merged: thanks, the
results are in). Existing PRs are read from the Hub (the truth), with the hidden marker of the
bot's own description, never from anyone else's comments. When the author (or anyone with write
access) closed an evalbot PR without merging, the repo has declined: no further PR, comment or
commit until the author adds the tag ``evalbot`` to the card or reopens a PR. New results for a
repo with an open PR edit its description and add one short comment saying what changed.

Repo states give typed outcomes and no PR: gated (access restricted), disabled, deleted,
pull requests disabled, or stale (the head moved to new content: it is evaluated on its own).
A head that moved to a revision with the same content (a README commit) gets the PR. Over
``pull_requests.max_per_hour`` new PRs in any hour (slots reserved in MongoDB, atomically across
workers) the outcome is "deferred" with the time a slot frees up; the job runner queues the job
again for then.

A card evalbot cannot edit safely, or one the Hub refuses on commit (HTTP 400 or 422: the Hub
validates README.md metadata, the `model-index` included), is "card refused", with the reason or
the Hub's message; it is not retried.

The card and the ``.eval_results`` files are read within their caps (``evaluators.limits``),
checked against the Hub's file metadata before any download: a file over its cap is "too large",
with the file, its size and the cap; no PR, no retry.
"""

from __future__ import annotations

import enum
import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from huggingface_hub import CommitInfo, CommitOperationAdd, HfApi, hf_hub_download
from huggingface_hub.community import DiscussionComment, DiscussionEvent, DiscussionStatusChange
from huggingface_hub.errors import (
    DisabledRepoError,
    EntryNotFoundError,
    GatedRepoError,
    HfHubHTTPError,
    RepositoryNotFoundError,
)

from bot.config import PullRequests
from bot.ratelimit import status_of
from cardgen.audit import Claim, audit
from cardgen.card import CardChange, decode_card, propose_card
from cardgen.errors import CardError
from cardgen.eval_results import BenchmarkSpec, eval_result_files
from cardgen.optout import opted_in, opted_out
from cardgen.pr import parse_marker, pr_body, pr_title
from cardgen.update import update_comment
from evaluators.errors import FileTooLargeError
from evaluators.executor import CODE_VERSION
from evaluators.hub import fingerprint
from evaluators.limits import check_size, read_bounded
from store.db import PullRequestRecord, Store
from store.types import ClaimRecord, EvaluationRecord, ModelRecord, utcnow

log = logging.getLogger(__name__)


class Outcome(enum.StrEnum):
    OPENED = "opened"
    UPDATED = "updated"
    UNCHANGED = "unchanged"  # the card already holds these results
    DUPLICATE = "duplicate"  # a PR with these results exists
    DECLINED = "declined"  # the author closed an evalbot PR: no further PRs
    ALREADY_MERGED = "already merged"  # a merged PR holds these results
    DISABLED = "disabled"
    DENIED = "denied"
    OPTED_OUT = "opted out"
    CARD_REFUSED = "card refused"
    NO_RESULTS = "no results"
    GATED = "gated"  # access to the repo is restricted
    REPO_DISABLED = "repo disabled"
    REPO_NOT_FOUND = "repo not found"  # deleted (or made private) since discovery
    PRS_DISABLED = "prs disabled"  # the author switched off discussions and pull requests
    STALE = "stale"  # the head moved on: the new revision gets its own job
    DEFERRED = "deferred"  # over the hourly PR cap: try again at ``not_before``
    NOT_ON_HUB = "not on the hub"  # e.g. a FiftyOne zoo model: results go to the Space only
    TOO_LARGE = "too large"  # the card or an .eval_results file is over its cap


@dataclass(frozen=True)
class PublishResult:
    outcome: Outcome
    pr_num: int | None = None
    url: str | None = None
    detail: str | None = None
    not_before: datetime | None = None  # DEFERRED: when to try again


Sizes = Mapping[str, int | None]  # path -> size (None: not known) of every file of a revision


def read_card(api: HfApi, repo_id: str, revision: str, *, sizes: Sizes | None = None) -> str | None:
    """The README.md of a model revision, or None when it has none.

    ``sizes``: the revision's files as the Hub lists them (``model_info(files_metadata=True)``);
    when None, the card's size is asked for with ``get_paths_info``.

    Raises:
        CardError: When the README.md is not UTF-8.
        FileTooLargeError: When it is over its cap (``evaluators.limits.CARD``): nothing is
            downloaded when the Hub's metadata says so.
    """
    data = _download(api, repo_id, "README.md", revision, sizes)
    return None if data is None else decode_card(data, repo_id=repo_id)


def read_eval_results(
    api: HfApi, repo_id: str, filename: str, revision: str, *, sizes: Sizes | None = None
) -> str | None:
    """One of our ``.eval_results`` files in a model revision; None when absent or unreadable
    (it is then written anew). ``sizes`` as for :func:`read_card`.

    Raises:
        FileTooLargeError: When it is over its cap (``evaluators.limits.EVAL_RESULTS``).
    """
    data = _download(api, repo_id, filename, revision, sizes)
    try:
        return None if data is None else data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def _download(
    api: HfApi, repo_id: str, filename: str, revision: str, sizes: Sizes | None
) -> bytes | None:
    """The bytes of one file of a model revision, read within its cap; None when the revision
    has no such file. Its size is checked before the download."""
    if sizes is None:
        found = api.get_paths_info(repo_id, [filename], revision=revision)
        sizes = {entry.path: getattr(entry, "size", None) for entry in found}
    if filename not in sizes:
        return None
    if (size := sizes[filename]) is not None:
        check_size(filename, size)
    try:
        path = hf_hub_download(
            repo_id, filename, revision=revision, token=api.token, endpoint=api.endpoint
        )
    except EntryNotFoundError:
        return None
    return read_bounded(Path(path), filename)


@dataclass(frozen=True)
class HubPR:
    """One of the bot's PRs as the Hub shows it."""

    num: int
    status: str  # open | draft | closed | merged
    result_hash: str | None  # from the newest marker the bot itself wrote
    model_sha: str | None
    description_id: str | None  # the bot's opening comment (the PR description)
    closed_by: str | None  # who last closed it (while closed)
    reopened_by: str | None  # who last reopened it (while open), when not the bot

    @property
    def is_open(self) -> bool:
        return self.status in ("open", "draft")


def publish_locked(
    publisher: Publisher,
    model: ModelRecord,
    records: list[EvaluationRecord],
    *,
    owner: str,
    ttl_s: float,
    wait_s: float = 30.0,
) -> PublishResult | None:
    """``publisher.publish`` under the repo's lock (one publisher per repo, on any machine);
    None when another process held the lock for ``wait_s`` seconds."""
    lock = f"publish:{model.repo_id}"
    store = publisher.store
    deadline = time.monotonic() + wait_s
    while not store.acquire_lock(lock, owner, ttl_s=ttl_s):
        if time.monotonic() > deadline:
            return None
        time.sleep(0.5)
    try:
        return publisher.publish(model, records, holder=owner)
    finally:
        store.release_lock(lock, owner)


class Publisher:
    def __init__(
        self,
        api: HfApi,
        store: Store,
        policy: PullRequests,
        *,
        space_url: str,
        benchmarks: Mapping[str, BenchmarkSpec] | None = None,
        class_groups: Mapping[str, Mapping[str, Sequence[str]]] | None = None,
    ) -> None:
        self.api = api
        self.benchmarks = dict(benchmarks or {})
        self.class_groups = dict(class_groups or {})  # module id -> group -> labels
        self.store = store
        self.policy = policy
        self.space_url = space_url.rstrip("/")
        self._me: str | None = None

    @property
    def me(self) -> str:
        if self._me is None:
            self._me = str(self.api.whoami()["name"])
        return self._me

    def publish(
        self, model: ModelRecord, records: list[EvaluationRecord], *, holder: str = "publisher"
    ) -> PublishResult:
        """Propose ``records`` (one evaluation) on the card of ``model`` (its current head).

        ``holder`` names the process for the hourly PR slots it reserves.
        """
        if not records:
            return PublishResult(Outcome.NO_RESULTS)
        if model.origin != "huggingface":
            return PublishResult(Outcome.NOT_ON_HUB)
        if not self.policy.enabled:
            return PublishResult(Outcome.DISABLED)
        if self.policy.denies(model.repo_id):
            return PublishResult(Outcome.DENIED)
        state = self._repo_state(model)
        if isinstance(state, PublishResult):
            return state
        model, sizes = state
        try:
            card = read_card(self.api, model.repo_id, model.sha, sizes=sizes)
        except GatedRepoError:
            return PublishResult(Outcome.GATED)
        except CardError as exc:  # not UTF-8
            log.warning("%s: card cannot be read: %s", model.repo_id, exc)
            return PublishResult(Outcome.CARD_REFUSED, detail=exc.reason)
        except FileTooLargeError as exc:
            return _too_large(model, exc)
        if opted_out(model.tags, card):
            return PublishResult(Outcome.OPTED_OUT)
        try:
            prs = self._known_prs(model.repo_id)
        except HfHubHTTPError as exc:  # the real Hub may refuse even to list them
            if (refused := _refusal(exc)) is None:
                raise
            return PublishResult(refused, detail=exc.server_message)
        if (declined := self._declined(model, prs, card)) is not None:
            return declined
        try:
            change = propose_card(
                card,
                records,
                repo_id=model.repo_id,
                space_url=self.space_url,
                class_groups=self.class_groups,
            )
        except CardError as exc:
            log.warning("%s: card cannot be edited safely: %s", model.repo_id, exc.reason)
            return PublishResult(Outcome.CARD_REFUSED, detail=exc.reason)
        claims = audit(card, records)
        self._save_claims(model, claims)
        try:
            files = self._eval_result_files(model, records, sizes)
        except FileTooLargeError as exc:
            return _too_large(model, exc)
        if not change.changed and not files:
            return PublishResult(Outcome.UNCHANGED)
        for pr in prs:
            if pr.result_hash == change.result_hash and pr.is_open:
                return PublishResult(Outcome.DUPLICATE, pr_num=pr.num)
            if pr.result_hash == change.result_hash and pr.status == "merged":
                return PublishResult(Outcome.ALREADY_MERGED, pr_num=pr.num)
        open_pr = next((pr for pr in prs if pr.is_open), None)
        slot = None
        if open_pr is None:
            slot, frees = self.store.reserve_pr_slot(self.policy.max_per_hour, holder=holder)
            if slot is None:
                return PublishResult(
                    Outcome.DEFERRED,
                    detail=f"{self.policy.max_per_hour} PRs opened in the last hour (the cap)",
                    not_before=frees,
                )
        try:
            result = self._commit(model, records, change, open_pr, claims, files)
        except HfHubHTTPError as exc:
            if slot is not None:
                self.store.release_pr_slot(slot, holder=holder)
            if (refused := _refusal(exc)) is None:
                raise
            log.info("%s: no PR: %s", model.repo_id, refused.value)
            return PublishResult(refused, detail=exc.server_message)
        except BaseException:
            if slot is not None:
                self.store.release_pr_slot(slot, holder=holder)
            raise
        if slot is not None and result.outcome is not Outcome.OPENED:
            self.store.release_pr_slot(slot, holder=holder)
        return result

    def _declined(
        self, model: ModelRecord, prs: list[HubPR], card: str | None
    ) -> PublishResult | None:
        """DECLINED when someone other than the bot closed one of its PRs without merging and
        the author has not opted back in (the tag ``evalbot``, or reopening a PR). Keeps the
        store's record of it (``evalbot status`` and the Space show it) up to date."""
        closed = [pr for pr in prs if pr.status == "closed" and pr.closed_by != self.me]
        back_in = opted_in(model.tags, card) or any(pr.reopened_by for pr in prs if pr.is_open)
        if closed and not back_in:
            pr = closed[0]  # the newest
            if model.declined_pr != pr.num:
                self.store.set_declined(model.repo_id, pr.num, by=pr.closed_by)
                log.info("%s: declined (PR #%d closed by %s)", model.repo_id, pr.num, pr.closed_by)
            return PublishResult(Outcome.DECLINED, pr_num=pr.num)
        if model.declined_pr is not None:
            self.store.set_declined(model.repo_id, None)
            log.info("%s: opted back in to evalbot's pull requests", model.repo_id)
        return None

    def _eval_result_files(
        self, model: ModelRecord, records: list[EvaluationRecord], sizes: Sizes | None
    ) -> dict[str, str]:
        """The ``.eval_results`` files (benchmark datasets) that differ from the repo's.

        Raises:
            FileTooLargeError: The repo's file at one of their paths is over its cap.
        """
        if not self.benchmarks:
            return {}
        files = eval_result_files(
            records, self.benchmarks, repo_id=model.repo_id, space_url=self.space_url
        )
        return {
            path: text
            for path, text in files.items()
            if read_eval_results(self.api, model.repo_id, path, model.sha, sizes=sizes) != text
        }

    def _save_claims(self, model: ModelRecord, claims: list[Claim]) -> None:
        """Keep the audit of the card's self-reported values: the Space lists discrepancies."""
        self.store.save_claims(
            model.repo_id,
            model.sha,
            [
                ClaimRecord(
                    model_id=model.repo_id,
                    model_sha=model.sha,
                    dataset_id=c.dataset,
                    split=c.split,
                    metric=c.metric,
                    claimed=c.claimed,
                    measured=c.measured,
                    low=c.low,
                    high=c.high,
                    agrees=c.agrees,
                    verdict=c.verdict,
                    note=c.note,
                )
                for c in claims
            ],
        )

    def _repo_state(self, model: ModelRecord) -> PublishResult | tuple[ModelRecord, Sizes | None]:
        """A typed outcome when the repo cannot or should not get a PR now, else the model at
        its current head and the sizes of the head's files: a head that moved on to a revision
        with the same content (a README commit, a merge) takes the PR; new content is STALE (it
        gets its own evaluation)."""
        try:
            info = self.api.model_info(model.repo_id, files_metadata=True)
        except DisabledRepoError:
            return PublishResult(Outcome.REPO_DISABLED)
        except GatedRepoError:
            return PublishResult(Outcome.GATED)
        except RepositoryNotFoundError:
            return PublishResult(Outcome.REPO_NOT_FOUND)
        if info.disabled:
            return PublishResult(Outcome.REPO_DISABLED)
        if info.gated:  # the author restricted access: no unsolicited PRs
            return PublishResult(Outcome.GATED)
        if info.id and info.id.casefold() != model.repo_id.casefold():
            return PublishResult(Outcome.REPO_NOT_FOUND, detail=f"renamed to {info.id}")
        sizes = None if info.siblings is None else {s.rfilename: s.size for s in info.siblings}
        if info.sha and info.sha != model.sha:
            if not model.fingerprint or fingerprint(info.siblings) != model.fingerprint:
                return PublishResult(Outcome.STALE, detail=f"head is now {info.sha}")
            return replace(model, sha=info.sha, tags=tuple(info.tags or model.tags)), sizes
        return model, sizes

    def _known_prs(self, repo_id: str) -> list[HubPR]:
        """The bot's PRs on this repo, newest first, from the Hub (the truth).

        The marker is read only from comments the bot itself wrote (its description, edited
        in place), the newest one winning: nobody else's text can forge it.
        """
        found = []
        for disc in self.api.get_repo_discussions(
            repo_id, author=self.me, discussion_type="pull_request"
        ):
            details = self.api.get_discussion_details(repo_id, disc.num)
            found.append(self._read_pr(disc.num, details.status, details.events))
        return sorted(found, key=lambda pr: -pr.num)

    def _read_pr(self, num: int, status: str, events: list[DiscussionEvent]) -> HubPR:
        ours = [e for e in events if e.author == self.me]
        marker = None
        for event in reversed(ours):  # the newest marker wins (a description edited in place)
            if isinstance(event, DiscussionComment) and (marker := parse_marker(event.content)):
                break
        opening = events[0] if events else None
        description = (
            opening.id
            if isinstance(opening, DiscussionComment) and opening.author == self.me
            else None
        )
        changes = [e for e in events if isinstance(e, DiscussionStatusChange)]
        last = changes[-1] if changes else None
        closed_by = last.author if last and last.new_status == "closed" else None
        reopened_by = (
            last.author if last and last.new_status == "open" and last.author != self.me else None
        )
        return HubPR(
            num=num,
            status=status,
            result_hash=marker[0] if marker else None,
            model_sha=marker[1] if marker else None,
            description_id=description,
            closed_by=closed_by,
            reopened_by=reopened_by,
        )

    def refresh_pr_states(self, *, limit: int) -> int:
        """Bring the store's view of up to ``limit`` open PRs up to date with the Hub (merged,
        closed: the repo has declined). Returns how many changed."""
        changed = 0
        for record in self.store.open_prs(limit=limit):
            try:
                details = self.api.get_discussion_details(record.repo_id, record.num)
            except RepositoryNotFoundError:
                self.store.set_pr_status(record.repo_id, record.num, "gone")
                changed += 1
                continue
            pr = self._read_pr(record.num, details.status, details.events)
            status = "open" if pr.is_open else pr.status
            if status != "open":
                changed += 1
                if status == "closed" and pr.closed_by != self.me:
                    self.store.set_declined(record.repo_id, pr.num, by=pr.closed_by)
            self.store.set_pr_status(record.repo_id, record.num, status)
        return changed

    def _create_commit(self, model: ModelRecord, **commit: Any) -> CommitInfo | PublishResult:
        """``api.create_commit`` on the model's repo; CARD_REFUSED, with the Hub's message, when
        the Hub refuses the card's metadata (nothing to retry: the same card is refused again)."""
        try:
            return self.api.create_commit(model.repo_id, **commit)
        except (HfHubHTTPError, ValueError) as exc:
            if (message := _card_refusal(exc)) is None:
                raise
        log.warning("%s: the Hub refused the card: %s", model.repo_id, message)
        return PublishResult(Outcome.CARD_REFUSED, detail=f"the Hub refused the card: {message}")

    def _commit(
        self,
        model: ModelRecord,
        records: list[EvaluationRecord],
        change: CardChange,
        open_pr: HubPR | None,
        claims: list[Claim],
        files: Mapping[str, str],
    ) -> PublishResult:
        title = pr_title(records)
        body = pr_body(
            change,
            records,
            repo_id=model.repo_id,
            space_url=self.space_url,
            code_version=CODE_VERSION,
            claims=claims,
        )
        operations = [
            CommitOperationAdd(path, text.encode("utf-8"))
            for path, text in ({"README.md": change.text} if change.changed else {}).items()
        ]
        operations += [CommitOperationAdd(p, t.encode("utf-8")) for p, t in files.items()]
        if open_pr is not None:
            # One open PR per repo: new results go to the same PR as a new commit; its
            # description is edited in place and one short comment says what changed.
            try:
                previous = read_card(self.api, model.repo_id, f"refs/pr/{open_pr.num}")
            except (CardError, FileTooLargeError):
                previous = None
            committed = self._create_commit(
                model,
                operations=operations,
                commit_message=title,
                revision=f"refs/pr/{open_pr.num}",
            )
            if isinstance(committed, PublishResult):
                return committed
            note = update_comment(
                previous, change, records, repo_id=model.repo_id, space_url=self.space_url
            )
            if open_pr.description_id is not None:
                self.api.edit_discussion_comment(
                    model.repo_id, open_pr.num, open_pr.description_id, body
                )
                self.api.comment_discussion(model.repo_id, open_pr.num, note)
            else:  # a description the bot cannot edit: the full text as a comment
                self.api.comment_discussion(model.repo_id, open_pr.num, f"{note}\n\n{body}")
            num, outcome = open_pr.num, Outcome.UPDATED
            url = f"{self.api.endpoint}/{model.repo_id}/discussions/{num}"
        else:
            info = self._create_commit(
                model,
                operations=operations,
                commit_message=title,
                commit_description=body,
                create_pr=True,
                parent_commit=model.sha,
            )
            if isinstance(info, PublishResult):
                return info
            if info.pr_num is None:  # the server dropped the commit as unchanged
                return PublishResult(Outcome.UNCHANGED)
            num, outcome, url = info.pr_num, Outcome.OPENED, str(info.pr_url)
        self.store.record_pr(
            PullRequestRecord(
                repo_id=model.repo_id,
                num=num,
                model_sha=model.sha,
                result_hash=change.result_hash,
                url=url,
                status="open",
                created_at=utcnow(),
            )
        )
        log.info("%s: PR #%d %s", model.repo_id, num, outcome.value)
        return PublishResult(outcome, pr_num=num, url=url)


def _too_large(model: ModelRecord, exc: FileTooLargeError) -> PublishResult:
    log.warning("%s: no PR: %s", model.repo_id, exc)
    return PublishResult(Outcome.TOO_LARGE, detail=str(exc))


def _card_refusal(exc: HfHubHTTPError | ValueError) -> str | None:
    """The Hub's message, on one line, when it refused the card's metadata (an invalid
    `model-index`, YAML it cannot read); None for any other error.

    huggingface_hub asks the Hub to validate a README.md before committing it and raises a
    ValueError from the Hub's 400 (`BadRequestError`); the commit itself answers 400 or 422.
    """
    if isinstance(exc, HfHubHTTPError):
        status, message = status_of(exc), exc.server_message or str(exc)
    elif isinstance(exc.__cause__, HfHubHTTPError):
        status, message = status_of(exc.__cause__), str(exc)
    else:
        return None
    return " ".join(message.split()) if status in (400, 422) else None


def _refusal(exc: HfHubHTTPError) -> Outcome | None:
    """The outcome of a commit the Hub refused for good: PRs off (403), head moved (412)."""
    status = exc.response.status_code if exc.response is not None else None
    if status == 412:
        return Outcome.STALE
    if status == 403 and "disabled" in (exc.server_message or str(exc)).casefold():
        return Outcome.PRS_DISABLED
    return None
