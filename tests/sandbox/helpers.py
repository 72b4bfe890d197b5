"""Helpers for the sandbox tests: model repos with cards, the admin API, free ports."""

from __future__ import annotations

import socket
from typing import Any

import httpx
from huggingface_hub import CommitOperationAdd, HfApi

CARD = """---
license: apache-2.0
datasets:
- {dataset}
tags:
- emotion
pipeline_tag: text-classification
---
# A tiny classifier
"""
CONFIG = b'{"architectures": ["BertForSequenceClassification"], "model_type": "bert"}'


class Admin:
    """The sandbox-only `/_sandbox/...` endpoints of one running sandbox."""

    def __init__(self, url: str) -> None:
        self.url = url

    def repo(self, repo_type: str, repo_id: str, **settings: Any) -> dict[str, Any]:
        response = httpx.post(f"{self.url}/_sandbox/repos/{repo_type}/{repo_id}", json=settings)
        response.raise_for_status()
        data: dict[str, Any] = response.json()
        return data

    def sparse_file(
        self, repo_type: str, repo_id: str, path: str, size: int, *, head: str = ""
    ) -> str:
        """Commit a file of ``size`` bytes (``head``, then zeros) stored sparse; its commit id."""
        response = httpx.post(
            f"{self.url}/_sandbox/repos/{repo_type}/{repo_id}/sparse",
            json={"path": path, "size": size, "head": head},
            timeout=60,
        )
        response.raise_for_status()
        return str(response.json()["commit"])

    def fault(self, **fault: Any) -> None:
        httpx.post(f"{self.url}/_sandbox/faults", json=fault).raise_for_status()

    def clear_faults(self) -> None:
        httpx.delete(f"{self.url}/_sandbox/faults").raise_for_status()

    def log(self) -> list[dict[str, Any]]:
        entries: list[dict[str, Any]] = httpx.get(f"{self.url}/_sandbox/log").json()
        return entries

    def clear_log(self) -> None:
        httpx.delete(f"{self.url}/_sandbox/log").raise_for_status()


def make_model(
    api: HfApi,
    repo_id: str,
    *,
    dataset: str = "dair-ai/emotion",
    card: str | None = None,
    extra: dict[str, bytes] | None = None,
) -> str:
    """Create a model repo with a card and a config.json; returns the head commit id."""
    api.create_repo(repo_id)
    files = {"README.md": (card or CARD.format(dataset=dataset)).encode(), "config.json": CONFIG}
    files.update(extra or {})
    operations = [CommitOperationAdd(path, content) for path, content in files.items()]
    return api.create_commit(repo_id, operations, commit_message="Add model").oid


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port
