"""Where the Space's data comes from (``space.data``, ``space.app`` settings): the Parquet tables
of a folder or of a dataset repo on the sandbox Hub, one version at a time, refreshed when the
dataset moves, kept when the Hub cannot be reached."""

from __future__ import annotations

import json
import logging
import re
import socket
import time
import uuid
from pathlib import Path

import pyarrow as pa
import pytest
from huggingface_hub import HfApi

from space import queries as q
from space import views
from space.app import settings, source_from
from space.data import DirectorySource, HubSource, ResultsData, Snapshot
from space.errors import NoResultsSourceError, ResultsDirNotFoundError, SpaceConfigError
from space.pages.models import r_models
from store import tables as t

EVAL = {
    "evaluation_id": "e1",
    "model_id": "demo/a",
    "model_sha": "a" * 40,
    "dataset_id": "dair-ai/emotion",
    "split": "test",
    "variant": "original",
    "module_id": "emotion",
}


def _tables(*models: str) -> dict[str, pa.Table]:
    """A small publication: ``models`` (the first one evaluated once), its scores and classes."""
    rows = [{"repo_id": m, "sha": "a" * 40, "status": "evaluated"} for m in models]
    return {
        "models": t.to_table(t.MODELS, rows),
        "evaluations": t.to_table(t.EVALUATIONS, [{**EVAL, "confusion": [[0, 1, 2]]}]),
        "scores": t.to_table(t.SCORES, [{**EVAL, "metric": "accuracy", "value": 0.75}]),
        "class_results": t.to_table(
            t.CLASS_RESULTS,
            [{**EVAL, "class_id": i, "label": x, "f1": 0.5} for i, x in enumerate("xy")],
        ),
        "datasets": t.to_table(
            t.DATASETS, [{"dataset_id": "dair-ai/emotion", "name": "Emotion", "labels": ["x", "y"]}]
        ),
    }


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def test_missing_tables_and_columns_read_as_empty(tmp_path: Path) -> None:
    tables = _tables("demo/a", "demo/b")
    tables["models"] = tables["models"].drop_columns(["file_sizes", "tags"])  # an older writer
    tables["datasets"] = tables["datasets"].append_column("later", pa.array(["x"]))
    t.write_tables(tables, tmp_path)
    data = Snapshot.open(tmp_path, revision="v1")
    assert q.robustness(data, "dair-ai/emotion") == {}  # first: its memo makes another memo
    assert data.present == {"models", "evaluations", "scores", "class_results", "datasets"}
    assert not data.empty
    assert [r.repo_id for r in q.list_models(data, q.ModelFilter()).rows] == ["demo/a", "demo/b"]
    detail = q.model_detail(data, "demo/a")
    assert detail is not None and detail.model.file_sizes == {} and detail.model.tags == ()
    assert [s.metrics for s in detail.results] == [{"accuracy": 0.75}]
    result = q.result_detail(data, "demo/a", "dair-ai/emotion")
    assert result is not None and result.confusion == [[0, 2], [0, 0]]
    assert [c.f1 for c in result.classes] == [0.5, 0.5] and result.misclassifications == []
    assert q.audit(data).identity is None  # no keys table: no key yet
    assert "Emotion" in views.dataset_view(data, {"dataset": "dair-ai/emotion"})


def test_nothing_published_says_so(tmp_path: Path) -> None:
    for data in (Snapshot.nothing(), Snapshot.open(tmp_path, revision="v0")):
        assert data.empty and not data.present
        assert "has not published any results yet" in views.models_view(data, {}).html
        assert q.list_datasets(data) == [] and q.model_points(data, "any/thing") == []
    t.write_tables({"models": t.to_table(t.MODELS, [])}, tmp_path)
    assert Snapshot.open(tmp_path, revision="v1").empty  # the tables are there, without rows


def test_a_folder_is_served_anew_when_its_files_change(tmp_path: Path) -> None:
    t.write_tables(_tables("demo/a"), tmp_path)
    results = ResultsData(DirectorySource(tmp_path))
    assert results.refresh() and not results.refresh()  # unchanged files: nothing to do
    served = results.current
    t.write_tables({"models": _tables("demo/a", "demo/new")["models"]}, tmp_path)
    assert results.refresh()
    assert q.model_detail(results.current, "demo/new") is not None
    # a request that started before the swap keeps the version it started with
    assert q.model_detail(served, "demo/new") is None
    assert q.list_models(served, q.ModelFilter()).total == 1


def test_settings_come_from_the_environment_then_the_config_file(tmp_path: Path) -> None:
    config = tmp_path / "evalbot_space.json"
    env = {"EVALBOT_RESULTS_DATASET": "org/results", "EVALBOT_RESULTS_REVISION": "v2"}
    assert settings(env, config) == {
        "data_dir": None,
        "dataset": "org/results",
        "revision": "v2",
        "hub_url": None,
    }
    assert settings({}, config)["dataset"] is None  # no file: nothing
    config.write_text(json.dumps({"dataset": "evalbot/results", "hub_url": "http://hub.test"}))
    assert settings({}, config) == {
        "data_dir": None,
        "dataset": "evalbot/results",
        "revision": None,
        "hub_url": "http://hub.test",
    }
    assert settings(env, config)["dataset"] == "org/results"  # the environment wins
    source = source_from(**settings({}, config))
    assert isinstance(source, HubSource) and source.endpoint == "http://hub.test"
    assert isinstance(source_from(data_dir=str(tmp_path)), DirectorySource)
    for text, problem in (("{", "not valid JSON"), ('{"datset": "x"}', "unknown key(s) datset")):
        config.write_text(text)
        with pytest.raises(SpaceConfigError, match=re.escape(problem)):
            settings({}, config)
    with pytest.raises(NoResultsSourceError, match="--dataset ORG/NAME"):
        source_from()
    with pytest.raises(ResultsDirNotFoundError, match="no folder"):
        source_from(data_dir=str(tmp_path / "nope"))


@pytest.fixture
def results_repo(demo_api: HfApi, tmp_path: Path) -> str:
    """A dataset repo on the sandbox Hub holding a first publication."""
    repo_id = f"demo/results-{uuid.uuid4().hex[:8]}"
    demo_api.create_repo(repo_id, repo_type="dataset")
    t.write_tables(_tables("demo/a"), tmp_path / "v1")
    demo_api.upload_folder(
        repo_id=repo_id, folder_path=tmp_path / "v1", repo_type="dataset", commit_message="v1"
    )
    return repo_id


def test_the_hub_dataset_is_served_at_its_head_and_refreshed(
    demo_api: HfApi, results_repo: str, tmp_path: Path
) -> None:
    cache = tmp_path / "hub-cache"
    results = ResultsData(HubSource(results_repo, cache_dir=cache), interval_s=0.1)
    assert results.refresh()
    first = demo_api.dataset_info(results_repo).sha
    assert first and results.current.revision == first
    served = results.current
    assert [r.repo_id for r in q.list_models(served, q.ModelFilter()).rows] == ["demo/a"]

    t.write_tables({"models": _tables("demo/a", "demo/new")["models"]}, tmp_path / "v2")
    demo_api.upload_folder(
        repo_id=results_repo, folder_path=tmp_path / "v2", repo_type="dataset", commit_message="v2"
    )
    second = demo_api.dataset_info(results_repo).sha
    assert second != first
    results.start()  # the timer notices the new head
    try:
        deadline = time.monotonic() + 20
        while results.current.revision != second and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        results.stop()
    assert results.current.revision == second
    assert q.model_detail(results.current, "demo/new") is not None
    # the version served before still answers, from its own files
    assert q.model_detail(served, "demo/new") is None
    assert q.result_detail(served, "demo/a", "dair-ai/emotion") is not None

    pinned = ResultsData(HubSource(results_repo, revision=first, cache_dir=cache))
    assert pinned.refresh() and pinned.current.revision == first
    assert q.model_detail(pinned.current, "demo/new") is None


def test_a_hub_outage_keeps_the_data_and_logs_one_line(
    results_repo: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    cache = tmp_path / "hub-cache"
    reachable = HubSource(results_repo, cache_dir=cache)
    results = ResultsData(reachable)
    assert results.refresh()
    served = results.current
    results.source = HubSource(
        results_repo, endpoint=f"http://127.0.0.1:{_free_port()}", cache_dir=cache
    )
    with caplog.at_level(logging.INFO, logger="evalbot.space"):
        assert not results.refresh() and not results.refresh()
        results.source = reachable
        assert not results.refresh()  # back, at the same version
    assert results.current is served
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 2, lines
    assert "cannot be read" in lines[0] and f"serving version {served.revision[:12]}" in lines[0]
    assert "can be read again" in lines[1]


def test_an_empty_or_missing_dataset_says_there_is_nothing_yet(
    demo_api: HfApi, tmp_path: Path
) -> None:
    empty = f"demo/results-{uuid.uuid4().hex[:8]}"
    demo_api.create_repo(empty, repo_type="dataset")
    results = ResultsData(HubSource(empty, cache_dir=tmp_path / "hub-cache"))
    assert results.refresh() and results.current.empty
    out = r_models(results.current, {})
    assert "has not published any results yet" in out[1]

    missing = ResultsData(HubSource("demo/never-published", cache_dir=tmp_path / "hub-cache"))
    assert not missing.refresh() and missing.current.empty
