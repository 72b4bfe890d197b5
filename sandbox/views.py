"""JSON shapes of repos as the Hub answers them: info pages and listing items."""

from __future__ import annotations

from typing import Any

from sandbox import space_config
from sandbox.hub import Hub
from sandbox.storage import Commit, Repo

# Fields of a listing item when neither `full`, `cardData`, `config` nor `expand` is asked for.
_LIST_FIELDS = {
    "model": [
        "_id",
        "id",
        "likes",
        "trendingScore",
        "private",
        "downloads",
        "tags",
        "pipeline_tag",
        "library_name",
        "createdAt",
        "modelId",
    ],
    "dataset": [
        "_id",
        "id",
        "author",
        "sha",
        "lastModified",
        "private",
        "gated",
        "disabled",
        "likes",
        "trendingScore",
        "tags",
        "downloads",
        "createdAt",
        "key",
    ],
    "space": [
        "_id",
        "id",
        "author",
        "sha",
        "lastModified",
        "private",
        "likes",
        "trendingScore",
        "sdk",
        "tags",
        "createdAt",
    ],
}
_FULL_EXTRA = ["author", "sha", "lastModified", "gated", "disabled", "siblings"]


def all_fields(hub: Hub, repo: Repo, commit: Commit, *, blobs: bool = False) -> dict[str, Any]:
    """Every field the Hub can return for `repo` at `commit`; absent values are left out."""
    meta = hub.meta(repo, commit)
    siblings = []
    for path, ref in sorted(commit.tree.items()):
        sibling: dict[str, Any] = {"rfilename": path}
        if blobs:
            sibling.update(blobId=ref.blob_id, size=ref.size)
            if (lfs := ref.lfs_info()) is not None:
                sibling["lfs"] = lfs
        siblings.append(sibling)
    fields: dict[str, Any] = {
        "_id": repo.object_id,
        "id": repo.id,
        "author": repo.namespace,
        "sha": commit.id,
        "lastModified": commit.date,
        "createdAt": repo.created_at,
        "private": repo.private,
        "gated": repo.gated,
        "disabled": repo.disabled,
        "downloads": repo.downloads,
        "downloadsAllTime": repo.downloads,
        "likes": repo.likes,
        "trendingScore": 0,
        "tags": list(meta.tags),
        "cardData": meta.card_data,
        "siblings": siblings,
        "usedStorage": sum(ref.size for ref in commit.tree.values()),
    }
    if repo.type == "model":
        fields.update(
            {
                "modelId": repo.id,
                "library_name": meta.library_name,
                "pipeline_tag": meta.pipeline_tag,
                "config": meta.config,
                "transformersInfo": meta.transformers_info,
                "safetensors": meta.safetensors,
                "model-index": meta.model_index,
                "spaces": [],
                "widgetData": None,
            }
        )
    elif repo.type == "dataset":
        fields["key"] = ""
    elif repo.type == "space":
        card = meta.card_data or {}
        fields.update(
            {
                "sdk": card.get("sdk") if isinstance(card.get("sdk"), str) else None,
                "runtime": space_config.runtime(meta.card_data, list(commit.tree)),
                "models": _string_list(card.get("models")),
                "datasets": _string_list(card.get("datasets")),
            }
        )
    return fields


def _string_list(value: Any) -> list[str] | None:
    items = value if isinstance(value, list) else [value] if isinstance(value, str) else []
    return [item for item in items if isinstance(item, str)] or None


def security_status(repo: Repo) -> dict[str, Any]:
    return {"scansDone": True, "filesWithIssues": list(repo.security_issues)}


def _pick(fields: dict[str, Any], names: list[str]) -> dict[str, Any]:
    return {name: fields[name] for name in names if fields.get(name) is not None}


def info(
    hub: Hub,
    repo: Repo,
    commit: Commit,
    *,
    blobs: bool = False,
    security: bool = False,
    expand: list[str] | None = None,
) -> dict[str, Any]:
    """`GET /api/{type}s/{repo}[/revision/{rev}]`."""
    fields = all_fields(hub, repo, commit, blobs=blobs)
    fields["securityRepoStatus"] = security_status(repo)
    if expand:
        return _pick(fields, ["_id", "id", *expand])
    fields.pop("key", None)
    if not security:
        del fields["securityRepoStatus"]
    return {k: v for k, v in fields.items() if v is not None}


def list_item(
    hub: Hub,
    repo: Repo,
    *,
    full: bool = False,
    card: bool = False,
    config: bool = False,
    expand: list[str] | None = None,
) -> dict[str, Any]:
    """One item of `GET /api/models` (or datasets, spaces)."""
    fields = all_fields(hub, repo, hub.head(repo))
    if expand:
        return _pick(fields, ["_id", "id", *expand])
    names = list(_LIST_FIELDS[repo.type])
    if full:
        names += _FULL_EXTRA
    if card or (full and repo.type == "dataset"):
        names.append("cardData")
    if config:
        names.append("config")
    item = _pick(fields, names)
    if repo.type == "dataset":
        item.setdefault("key", "")
    return item
