"""Users, their tokens and what they may do.

Two users exist in every data dir:

- `demo` owns the demo world: it writes its own namespace and every namespace that is not another
  user's (organisations such as `dair-ai`), like a member of every organisation.
- `evalbot` is the bot: it writes only `evalbot/*`, and elsewhere it may only open pull requests
  and comment on, retitle or close its own discussions.

Tokens are random (`hf_` prefix) and written once to `<data-dir>/tokens.json`.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass
from pathlib import Path

from sandbox import errors
from sandbox.jsonfile import write_json

DEMO = "demo"
BOT = "evalbot"


@dataclass(frozen=True)
class User:
    """An account of the sandbox."""

    name: str
    org_member: bool


_USERS = {DEMO: User(DEMO, org_member=True), BOT: User(BOT, org_member=False)}


def load_tokens(data_dir: Path) -> dict[str, str]:
    """Read `tokens.json`, creating it with fresh tokens on the first start of a data dir.

    Example:
        >>> load_tokens(Path("/tmp/hub"))["evalbot"][:3]
        'hf_'
    """
    path = data_dir / "tokens.json"
    if path.exists():
        tokens: dict[str, str] = json.loads(path.read_text())
        return tokens
    tokens = {name: "hf_" + secrets.token_urlsafe(24).replace("-", "x") for name in _USERS}
    write_json(path, tokens)
    return tokens


class Users:
    """Maps tokens to users and answers permission questions."""

    def __init__(self, tokens: dict[str, str]) -> None:
        self._by_token = {token: _USERS[name] for name, token in tokens.items() if name in _USERS}

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
        """Whether `user` may create repos in, and commit to the branches of, `namespace`."""
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
            "accessToken": {"displayName": f"{user.name}-sandbox", "role": "write"},
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
