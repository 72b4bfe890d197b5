"""The sandbox's state in one object: storage, users, derived metadata, access rules, faults."""

from __future__ import annotations

from pathlib import Path

from sandbox import errors
from sandbox.cards import RepoMeta, derive
from sandbox.faults import Faults, RequestLog
from sandbox.storage import REPO_TYPES, Commit, Repo, Storage
from sandbox.users import User, Users, load_tokens


class Hub:
    """Everything a request handler needs.

    Args:
        data_dir: where repos, blobs and `tokens.json` live (created when missing).
        page_size: items per page of the model/dataset listings and of tree listings.
    """

    def __init__(self, data_dir: Path, *, page_size: int = 100) -> None:
        data_dir.mkdir(parents=True, exist_ok=True)
        self.storage = Storage(data_dir)
        self.tokens = load_tokens(data_dir)
        self.users = Users(self.tokens)
        self.page_size = page_size
        self.faults = Faults()
        self.log = RequestLog()
        self._meta: dict[str, RepoMeta] = {}

    def meta(self, repo: Repo, commit: Commit) -> RepoMeta:
        """Card data, tags, pipeline tag... of one commit (cached: commits never change)."""
        cached = self._meta.get(commit.id)
        if cached is None:

            def read(path: str, limit: int | None) -> bytes | None:
                ref = commit.tree.get(path)
                return self.storage.read_blob(ref.oid, limit) if ref else None

            cached = derive(repo.type, list(commit.tree), read)
            self._meta[commit.id] = cached
        return cached

    def head(self, repo: Repo) -> Commit:
        commit = self.storage.resolve(repo, "main")
        if commit is None:
            raise errors.revision_not_found("main")
        return commit

    # ---- access ------------------------------------------------------------------------------

    def can_read(self, repo: Repo, user: User | None) -> bool:
        return not repo.private or self.users.can_write(user, repo.namespace)

    def can_write(self, repo: Repo, user: User | None) -> bool:
        return self.users.can_write(user, repo.namespace)

    def require_files(self, repo: Repo, user: User | None) -> None:
        """Refuse the files of a gated repo to all but its owners and the users granted access
        (any token role). Its info and file listings stay public, as on the Hub.

        Raises:
            HubError: 401 GatedRepo (anonymous) or 403 GatedRepo.
        """
        if not repo.gated or self.can_write(repo, user):
            return
        if user is None or user.name not in repo.granted:
            raise errors.gated(repo.id, authenticated=user is not None, repo_type=repo.type)

    def readable_repo(self, repo_type: str, repo_id: str, user: User | None) -> Repo:
        """The repo if `user` may see it.

        Raises:
            HubError: 404 RepoNotFound (missing, or private to someone else), 403 when disabled.
            RepoMoved: the repo was renamed to one `user` may see (answered as a 307).
        """
        if repo_type not in REPO_TYPES:
            raise errors.repo_not_found()
        repo = self.storage.get_repo(repo_type, repo_id)
        if repo is None:
            new_id = self.storage.moved_to(repo_type, repo_id)
            moved = self.storage.get_repo(repo_type, new_id) if new_id else None
            if new_id and moved is not None and self.can_read(moved, user):
                raise errors.RepoMoved(repo_type, repo_id, new_id)
            raise errors.repo_not_found()
        if not self.can_read(repo, user):
            raise errors.repo_not_found()
        if repo.disabled:
            raise errors.disabled()
        return repo

    def revision(self, repo: Repo, revision: str) -> Commit:
        commit = self.storage.resolve(repo, revision)
        if commit is None:
            raise errors.revision_not_found(revision)
        return commit

    def require_user(self, user: User | None) -> User:
        if user is None:
            raise errors.unauthorized("You must be authenticated to perform this action")
        return user

    def require_write(self, repo: Repo, user: User | None) -> User:
        user = self.require_user(user)
        if not self.can_write(repo, user):
            raise errors.forbidden(
                f"You don't have the rights to write to {repo.type} {repo.id}: "
                "open a pull request instead (create_pr=1)"
            )
        return user

    def orgs_of(self, user: User) -> list[str]:
        """Organisations `user` belongs to: every non-user namespace holding a repo, for demo."""
        if not user.org_member:
            return []
        namespaces = {repo.namespace for repo in self.storage.repos()}
        return sorted(ns for ns in namespaces if not self.users.is_user_namespace(ns))
