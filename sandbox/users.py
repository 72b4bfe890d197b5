"""Users, their tokens and what they may do.

Two users exist in every data dir:

- `demo` owns the demo world: it writes its own namespace and every namespace that is not another
  user's (organisations such as `dair-ai`), like a member of every organisation.
- `evalbot` is the bot: it writes only `evalbot/*`, and elsewhere it may only open pull requests
  and comment on, retitle or close its own discussions.

Each user has two tokens, as on the Hub: `<user>` in `<data-dir>/tokens.json` is its "write"
token, `<user>:read` its "read" token. A read token reads what its user may read and is refused
(403) on every write endpoint; `whoami` names the role (`auth.accessToken.role`). Tokens are
random (`hf_` prefix) and written once; a data dir made before read tokens existed gets them on
its next start.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass, replace
from pathlib import Path

from sandbox import errors
from sandbox.jsonfile import write_json

DEMO = "demo"
BOT = "evalbot"
READ, WRITE = "read", "write"  # token roles
READ_SUFFIX = ":read"  # `tokens.json` names a user's read token `<user>:read`


@dataclass(frozen=True)
class User:
    """An account of the sandbox, as the token of a request presents it.

    `role` is the token's: `read` tokens read what the account may read and write nothing.
    """

    name: str
    org_member: bool
    role: str = WRITE


_USERS = {DEMO: User(DEMO, org_member=True), BOT: User(BOT, org_member=False)}


def user_names() -> list[str]:
    return list(_USERS)


def load_tokens(data_dir: Path) -> dict[str, str]:
    """Read `tokens.json`, creating the tokens it lacks (all of them on the first start).

    Example:
        >>> tokens = load_tokens(Path("/tmp/hub"))
        >>> tokens["evalbot"][:3], tokens["evalbot:read"][:3]
        ('hf_', 'hf_')
    """
    path = data_dir / "tokens.json"
    tokens: dict[str, str] = json.loads(path.read_text()) if path.exists() else {}
    names = [*_USERS, *(name + READ_SUFFIX for name in _USERS)]
    if missing := [name for name in names if name not in tokens]:
        for name in missing:
            tokens[name] = "hf_" + secrets.token_urlsafe(24).replace("-", "x")
        write_json(path, tokens)
    return tokens


class Users:
    """Maps tokens to users (with the token's role) and answers permission questions."""

    def __init__(self, tokens: dict[str, str]) -> None:
        self._by_token: dict[str, User] = {}
        for key, token in tokens.items():
            name, read = key.removesuffix(READ_SUFFIX), key.endswith(READ_SUFFIX)
            if name in _USERS:
                self._by_token[token] = replace(_USERS[name], role=READ if read else WRITE)

    def authenticate(self, authorization: str | None) -> User | None:
        """The user behind an `authorization: Bearer <token>` header; None when anonymous.

        Raises:
            HubError: 401 when a token is sent that no user owns.
        """
        if not authorization:
            return None
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise errors.unauthorized()
        user = self._by_token.get(token.strip())
        if user is None:
            raise errors.unauthorized()
        return user

    @staticmethod
    def is_user_namespace(namespace: str) -> bool:
        return namespace in _USERS

    @staticmethod
    def can_write(user: User | None, namespace: str) -> bool:
        """Whether `user`'s account may create repos in, and commit to the branches of,
        `namespace` (a read token is refused on every write endpoint before this is asked)."""
        if user is None:
            return False
        if namespace == user.name:
            return True
        return user.org_member and namespace not in _USERS


def whoami(user: User, orgs: list[str]) -> dict[str, object]:
    """The `/api/whoami-v2` answer for `user` (orgs: the organisations it belongs to)."""
    return {
        "type": "user",
        "id": hashlib.sha1(user.name.encode()).hexdigest()[:24],
        "name": user.name,
        "fullname": user.name,
        "email": f"{user.name}@example.org",
        "emailVerified": True,
        "canPay": False,
        "isPro": False,
        "periodEnd": None,
        "avatarUrl": "",
        "orgs": [
            {
                "type": "org",
                "name": org,
                "fullname": org,
                "roleInOrg": "admin",
                "isEnterprise": False,
            }
            for org in orgs
        ],
        "auth": {
            "type": "access_token",
            "accessToken": {"displayName": f"{user.name}-sandbox-{user.role}", "role": user.role},
        },
    }


def author(name: str) -> dict[str, object]:
    """The `author` object the Hub embeds in discussions and events."""
    return {
        "name": name,
        "fullname": name,
        "type": "user",
        "avatarUrl": "",
        "isHf": False,
        "isPro": False,
        "isOwner": False,
    }
