"""The sandbox refuses a commit whose README.md metadata the Hub does not accept (YAML it cannot
read; in a model repo, an invalid `model-index`), through the client's check and the commit
itself; and it serves the demo world's Hub Benchmark with its `eval.yaml`."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import httpx
import pytest
import yaml
from huggingface_hub import CommitOperationAdd, HfApi, hf_hub_download
from huggingface_hub.errors import BadRequestError

from sandbox.benchmarks import MTEB_MNIST
from sandbox.seed import seed_world
from sandbox.server import RunningSandbox
from sandbox.world import build_world

GOOD = "---\nlicense: mit\nmodel-index:\n- name: m\n  results: []\n---\n# A card\n"
RESULT = (
    "---\nmodel-index:\n- name: m\n  results:\n  - task: {type: text-classification}\n"
    "    dataset: {type: dair-ai/emotion, name: Emotion}\n    metrics: METRICS\n---\n# A card\n"
)
BROKEN = [
    ("---\nlicense: [mit\n---\n# A card\n", "Invalid YAML in README.md front matter"),
    (RESULT.replace("METRICS", "[]"), '"model-index[0].results[0].metrics" must contain at least'),
    (
        RESULT.replace("METRICS", "[{type: accuracy}]"),
        '"model-index[0].results[0].metrics[0].value" is required',
    ),
    (RESULT.replace("name: Emotion", "config: x"), '"model-index[0].results[0].dataset.name"'),
]


def raw_commit(url: str, token: str, repo: str, readme: str) -> httpx.Response:
    """A commit that skips the client's check, as a git push or another client would."""
    lines = [
        {"key": "header", "value": {"summary": "Update the card"}},
        {
            "key": "file",
            "value": {
                "path": "README.md",
                "content": base64.b64encode(readme.encode()).decode(),
                "encoding": "base64",
            },
        },
    ]
    return httpx.post(
        f"{url}/api/{repo}/commit/main",
        content="\n".join(json.dumps(line) for line in lines),
        headers={"authorization": f"Bearer {token}", "content-type": "application/x-ndjson"},
    )


@pytest.mark.parametrize(("readme", "problem"), BROKEN, ids=["yaml", "metrics", "value", "name"])
def test_a_model_card_the_hub_would_refuse_is_refused(
    sandbox: RunningSandbox, demo_api: HfApi, demo_token: str, org: str, readme: str, problem: str
) -> None:
    repo_id = f"{org}/model"
    demo_api.create_repo(repo_id)
    head = demo_api.model_info(repo_id).sha

    with pytest.raises(ValueError, match=r"Invalid metadata in README\.md") as refused:
        demo_api.create_commit(
            repo_id, [CommitOperationAdd("README.md", readme.encode())], commit_message="card"
        )
    assert isinstance(refused.value.__cause__, BadRequestError)
    assert problem in str(refused.value)

    response = raw_commit(sandbox.url, demo_token, f"models/{repo_id}", readme)
    assert response.status_code == 400
    assert response.json()["error"].startswith("Invalid metadata in README.md.\n- ")
    assert problem in response.json()["error"]
    assert demo_api.model_info(repo_id).sha == head  # nothing committed


def test_valid_cards_and_other_files_are_committed(
    sandbox: RunningSandbox, demo_api: HfApi, demo_token: str, org: str
) -> None:
    repo_id = f"{org}/model"
    demo_api.create_repo(repo_id)
    assert raw_commit(sandbox.url, demo_token, f"models/{repo_id}", GOOD).status_code == 200
    ok = RESULT.replace("METRICS", "[{type: accuracy, value: 0.9}]")
    demo_api.create_commit(
        repo_id, [CommitOperationAdd("README.md", ok.encode())], commit_message="card"
    )
    unclosed = "---\nlicense: [mit\n# no closing marker: no front matter at all\n"
    assert raw_commit(sandbox.url, demo_token, f"models/{repo_id}", unclosed).status_code == 200


def test_a_dataset_card_with_broken_yaml_is_refused(
    sandbox: RunningSandbox, demo_api: HfApi, demo_token: str, org: str
) -> None:
    repo_id = f"{org}/data"
    demo_api.create_repo(repo_id, repo_type="dataset")
    broken = raw_commit(sandbox.url, demo_token, f"datasets/{repo_id}", BROKEN[0][0])
    assert broken.status_code == 400 and BROKEN[0][1] in broken.json()["error"]
    # a model-index means nothing in a dataset card: not checked there
    lenient = raw_commit(sandbox.url, demo_token, f"datasets/{repo_id}", BROKEN[1][0])
    assert lenient.status_code == 200


def test_the_demo_benchmark_serves_its_eval_yaml(sandbox: RunningSandbox, demo_token: str) -> None:
    seeded = seed_world(build_world(), endpoint=sandbox.url, token=demo_token)
    assert MTEB_MNIST in seeded

    path = hf_hub_download(MTEB_MNIST, "eval.yaml", repo_type="dataset")
    benchmark = yaml.safe_load(Path(path).read_text())
    assert benchmark["evaluation_framework"] == "mteb"
    assert [t["id"] for t in benchmark["tasks"]] == ["MNIST", "MNIST_default_test"]
    files = HfApi().list_repo_files(MTEB_MNIST, repo_type="dataset")
    assert "data/test-00000-of-00001.parquet" in files and "README.md" in files
