"""Open (or refresh) one pull request per model revision with the card change.

Rules: nothing when PRs are switched off, the repo is denied or opted out, the card did not
change, or a PR with the same results already exists (found in the store or, if the database
was lost, by the hidden marker in the bot's PRs on the Hub). A PR the author closed is never
reopened or recreated for that model revision.

Repo states give typed outcomes and no PR: gated (access restricted), disabled, deleted,
pull requests disabled, or stale (the head moved past the evaluated revision: the new sha is
discovered next cycle). Over ``pull_requests.max_per_hour`` the outcome is "deferred" with the
time a slot frees up; the job runner queues the job again for then.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from huggingface_hub import CommitOperationAdd, HfApi, hf_hub_download
from huggingface_hub.errors import (
    DisabledRepoError,
    EntryNotFoundError,
    GatedRepoError,
    HfHubHTTPError,
    RepositoryNotFoundError,
)

from bot.config import PullRequests
from cardgen.audit import Claim, audit
from cardgen.card import CardChange, decode_card, propose_card
from cardgen.errors import CardError
from cardgen.eval_results import BenchmarkSpec, eval_result_files, eval_result_path
from cardgen.pr import parse_marker, pr_body, pr_title
from cardgen.signing import Signer
from evaluators.executor import CODE_VERSION
from store.db import PullRequestRecord, Store
from store.types import ClaimRecord, EvaluationRecord, ModelRecord, utcnow

log = logging.getLogger(__name__)

OPT_OUT_TAGS = {"no-evalbot", "evalbot:false"}


class Outcome(enum.StrEnum):
    OPENED = "opened"
    UPDATED = "updated"
    UNCHANGED = "unchanged"  # the card already holds these results
    DUPLICATE = "duplicate"  # a PR with these results exists
    CLOSED_BY_AUTHOR = "closed by author"
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


@dataclass(frozen=True)
class PublishResult:
    outcome: Outcome
    pr_num: int | None = None
    url: str | None = None
    detail: str | None = None
    not_before: datetime | None = None  # DEFERRED: when to try again


def read_card(api: HfApi, repo_id: str, revision: str) -> str | None:
    """The README.md of a model revision, or None when it has none.

    Raises:
        CardError: When the README.md is not UTF-8.
    """
    data = _download(api, repo_id, "README.md", revision)
    return None if data is None else decode_card(data, repo_id=repo_id)


def read_eval_results(api: HfApi, repo_id: str, filename: str, revision: str) -> str | None:
    """One of our ``.eval_results`` files in a model revision; None when absent or unreadable
    (it is then written anew)."""
    data = _download(api, repo_id, filename, revision)
    try:
        return None if data is None else data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def _download(api: HfApi, repo_id: str, filename: str, revision: str) -> bytes | None:
    """The bytes of one file of a model revision, or None when the revision has no such file."""
    try:
        path = hf_hub_download(
            repo_id, filename, revision=revision, token=api.token, endpoint=api.endpoint
        )
    except EntryNotFoundError:
        return None
    with open(path, "rb") as handle:
        return handle.read()


def opted_out(model: ModelRecord, card: str | None) -> bool:
    tags = {t.casefold() for t in model.tags}
    if tags & OPT_OUT_TAGS:
        return True
    return bool(card and "\nevalbot: false" in card.split("\n---", 1)[0])


@dataclass
class _HubPR:
    num: int
    status: str
    result_hash: str | None
    model_sha: str | None


class Publisher:
    def __init__(
        self,
        api: HfApi,
        store: Store,
        policy: PullRequests,
        *,
        space_url: str,
        signer: Signer | None = None,
        benchmarks: Mapping[str, BenchmarkSpec] | None = None,
    ) -> None:
        self.api = api
        self.benchmarks = dict(benchmarks or {})
        self.store = store
        self.policy = policy
        self.space_url = space_url.rstrip("/")
        self.signer = signer
        self._me: str | None = None

    @property
    def me(self) -> str:
        if self._me is None:
            self._me = str(self.api.whoami()["name"])
        return self._me

    def publish(self, model: ModelRecord, records: list[EvaluationRecord]) -> PublishResult:
        if not records:
            return PublishResult(Outcome.NO_RESULTS)
        if model.origin != "huggingface":
            return PublishResult(Outcome.NOT_ON_HUB)
        if not self.policy.enabled:
            return PublishResult(Outcome.DISABLED)
        if self.policy.denies(model.repo_id):
            return PublishResult(Outcome.DENIED)
        if (state := self._repo_state(model)) is not None:
            return state
        try:
            card = read_card(self.api, model.repo_id, model.sha)
        except GatedRepoError:
            return PublishResult(Outcome.GATED)
        except CardError as exc:  # not UTF-8
            log.warning("%s: card cannot be read: %s", model.repo_id, exc)
            return PublishResult(Outcome.CARD_REFUSED, detail=exc.reason)
        if opted_out(model, card):
            return PublishResult(Outcome.OPTED_OUT)
        try:
            change = propose_card(
                card, records, repo_id=model.repo_id, space_url=self.space_url, signer=self.signer
            )
        except CardError as exc:
            log.warning("%s: card cannot be edited safely: %s", model.repo_id, exc.reason)
            return PublishResult(Outcome.CARD_REFUSED, detail=exc.reason)
        claims = audit(card, records)
        self._save_claims(model, claims)
        files = self._eval_result_files(model, records)
        if not change.changed and not files:
            return PublishResult(Outcome.UNCHANGED)
        try:
            prs = self._known_prs(model.repo_id)
        except HfHubHTTPError as exc:  # the real Hub may refuse even to list them
            if (refused := _refusal(exc)) is None:
                raise
            return PublishResult(refused, detail=exc.server_message)
        for pr in prs:
            if pr.model_sha == model.sha and pr.status == "closed":
                return PublishResult(Outcome.CLOSED_BY_AUTHOR, pr_num=pr.num)
            if pr.result_hash == change.result_hash and pr.model_sha == model.sha:
                return PublishResult(Outcome.DUPLICATE, pr_num=pr.num)
        if (deferred := self._over_hourly_cap()) is not None:
            return deferred
        open_pr = next((pr for pr in prs if pr.status == "open"), None)
        try:
            return self._commit(model, records, change, open_pr, claims, files)
        except HfHubHTTPError as exc:
            if (refused := _refusal(exc)) is None:
                raise
            log.info("%s: no PR: %s", model.repo_id, refused.value)
            return PublishResult(refused, detail=exc.server_message)

    def _eval_result_files(
        self, model: ModelRecord, records: list[EvaluationRecord]
    ) -> dict[str, str]:
        """The ``.eval_results`` files (benchmark datasets) that differ from the repo's."""
        if not self.benchmarks:
            return {}
        wanted = {r.dataset_id for r in records if r.dataset_id in self.benchmarks}
        existing = {
            path: read_eval_results(self.api, model.repo_id, path, model.sha)
            for path in (eval_result_path(d) for d in sorted(wanted))
        }
        files = eval_result_files(
            records,
            self.benchmarks,
            repo_id=model.repo_id,
            space_url=self.space_url,
            signer=self.signer,
            existing=existing,
        )
        return {path: text for path, text in files.items() if existing.get(path) != text}

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

    def _repo_state(self, model: ModelRecord) -> PublishResult | None:
        """A typed outcome when the repo cannot or should not get a PR now, else None."""
        try:
            info = self.api.model_info(model.repo_id)
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
        if info.sha and info.sha != model.sha:
            return PublishResult(Outcome.STALE, detail=f"head is now {info.sha}")
        return None

    def _over_hourly_cap(self) -> PublishResult | None:
        """DEFERRED when the store holds ``max_per_hour`` PRs opened in the last hour."""
        now = utcnow()
        opened = self.store.prs_opened_since(now - timedelta(hours=1))
        cap = self.policy.max_per_hour
        if len(opened) < cap:
            return None
        frees = opened[len(opened) - cap] if cap else now
        return PublishResult(
            Outcome.DEFERRED,
            detail=f"{len(opened)} PRs opened in the last hour (cap {cap})",
            not_before=frees + timedelta(hours=1),
        )

    def _known_prs(self, repo_id: str) -> list[_HubPR]:
        """The bot's PRs on this repo, from the Hub (the truth) with their markers."""
        found = []
        for disc in self.api.get_repo_discussions(
            repo_id, author=self.me, discussion_type="pull_request"
        ):
            details = self.api.get_discussion_details(repo_id, disc.num)
            marker = None
            for event in reversed(details.events):  # the newest marker wins (PRs get updated)
                content = getattr(event, "content", None)
                if content and (marker := parse_marker(content)):
                    break
            found.append(
                _HubPR(
                    num=disc.num,
                    status=disc.status,
                    result_hash=marker[0] if marker else None,
                    model_sha=marker[1] if marker else None,
                )
            )
        return found

    def _commit(
        self,
        model: ModelRecord,
        records: list[EvaluationRecord],
        change: CardChange,
        open_pr: _HubPR | None,
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
            # One open PR per repo: new results go to the same PR as a new commit.
            self.api.create_commit(
                model.repo_id,
                operations=operations,
                commit_message=title,
                revision=f"refs/pr/{open_pr.num}",
            )
            self.api.comment_discussion(model.repo_id, open_pr.num, body)
            num, outcome = open_pr.num, Outcome.UPDATED
            url = f"{self.api.endpoint}/{model.repo_id}/discussions/{num}"
        else:
            info = self.api.create_commit(
                model.repo_id,
                operations=operations,
                commit_message=title,
                commit_description=body,
                create_pr=True,
                parent_commit=model.sha,
            )
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


def _refusal(exc: HfHubHTTPError) -> Outcome | None:
    """The outcome of a commit the Hub refused for good: PRs off (403), head moved (412)."""
    status = exc.response.status_code if exc.response is not None else None
    if status == 412:
        return Outcome.STALE
    if status == 403 and "disabled" in (exc.server_message or str(exc)).casefold():
        return Outcome.PRS_DISABLED
    return None
