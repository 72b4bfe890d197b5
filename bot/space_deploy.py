"""``evalbot space deploy``: the results explorer as a Hub Space, and a checkout of it served.

The Space is a Gradio app that reads evalbot's public results dataset, never MongoDB. Deploying
builds its repo in a temporary folder from this install:

    app.py               runs ``space.app.main()``
    space/               the app's package
    store/__init__.py    the modules of ``store`` the app reads with: the results tables'
    store/catalogue.py   contract, the metric catalogue, the record types and the package's
    store/errors.py      errors, and the paired tests over per-example outcomes (no pymongo)
    store/outcomes.py
    store/significance.py
    store/tables.py
    store/types.py
    requirements.txt     the app's packages, pinned from evalbot's lock (gradio comes from
                         ``sdk_version``: the Hub installs it)
    README.md            the Space's configuration (front matter) and the body of space/README.md
    evalbot_space.json   the results dataset to read, and the Hub it lives on

checks it (the README front matter against the Hub's Space rules, the app's imports against what
the folder ships, then, when there is something to push, by importing ``app.py`` in an isolated
interpreter), then creates the Space repo if needed and commits what changed in one commit; a
deploy with nothing changed commits nothing.
The repo holds only these files (and the Hub's ``.gitattributes``): files a deploy no longer
writes are deleted by the next one.

Example:
    >>> api = HfApi(token=token)  # doctest: +SKIP
    >>> deploy_space("evalbot/explorer", dataset="evalbot/results", api=api).commit  # doctest: +SKIP
    '5e1c0a7d...'
    >>> deploy_space("evalbot/explorer", dataset="evalbot/results", api=api).commit is None  # doctest: +SKIP
    True
"""

from __future__ import annotations

import ast
import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
import unicodedata
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from huggingface_hub import CommitOperationAdd, CommitOperationDelete, HfApi, snapshot_download
from huggingface_hub.errors import BadRequestError, RepositoryNotFoundError
from huggingface_hub.hf_api import RepoFile
from huggingface_hub.utils.sha import git_hash

from bot.errors import SpaceConfigError, SpaceDeployError, SpaceRejectedError

PROJECT_ROOT = Path(__file__).resolve().parents[1]
CONFIG_FILE = "evalbot_space.json"
APP_FILE = "app.py"
STORE_MODULES = (
    "__init__.py",
    "catalogue.py",
    "class_groups.py",
    "errors.py",
    "label_errors.py",
    "outcomes.py",
    "significance.py",
    "tables.py",
    "types.py",
)
# What the app may import besides the standard library and what the folder ships.
THIRD_PARTY = (
    "duckdb",
    "gradio",
    "httpx",
    "huggingface_hub",
    "numpy",
    "pandas",
    "PIL",
    "plotly",
    "pyarrow",
)
# Pinned in requirements.txt from the lock; gradio is pinned by `sdk_version` instead.
REQUIREMENTS = (
    "duckdb",
    "httpx",
    "huggingface_hub",
    "numpy",
    "pandas",
    "pillow",
    "plotly",
    "pyarrow",
)
# The project's packages a Space must not need, and the MongoDB driver.
FORBIDDEN = ("bot", "evaluators", "cardgen", "perturbations", "sandbox", "pymongo", "bson")
SHORT_DESCRIPTION = "Per-class results of Hub models on clean and perturbed data"

APP_PY = '''"""The evalbot results Space: ``space.app.main()`` (written by ``evalbot space deploy``)."""

import sys
from pathlib import Path

import space
from space.app import main

if __name__ == "__main__":
    print(f"evalbot Space: app code from {Path(space.__file__).parent}", file=sys.stderr)
    main()
'''

_YAML_BLOCK = re.compile(r"\A\s*---\r?\n(.*?)\r?\n---[ \t]*(?:\r?\n|\Z)", re.DOTALL)


# ---- the Space's configuration ---------------------------------------------------------------

_COLORS = {"red", "yellow", "green", "blue", "indigo", "purple", "pink", "gray"}
_SDKS = {"gradio", "docker", "static", "streamlit"}
_CHOICES: dict[str, set[str]] = {
    "colorFrom": _COLORS,
    "colorTo": _COLORS,
    "header": {"mini", "default"},
    "suggested_storage": {"small", "medium", "large"},
    "suggested_hardware": {
        "cpu-basic",
        "cpu-upgrade",
        *("t4-small", "t4-medium", "l4x1", "l4x4", "l40sx1", "l40sx4", "l40sx8"),
        *("a10g-small", "a10g-large", "a10g-largex2", "a10g-largex4"),
        *("a100-large", "a100x4", "a100x8"),
    },
}
_TEXT = ("title", "sdk_version", "app_file", "app_build_command", "thumbnail")
_FLAGS = ("pinned", "fullWidth", "hf_oauth", "disable_embedding")
_LISTS = ("models", "datasets", "tags", "hf_oauth_scopes", "preload_from_hub")
_ALLOWED_HEADERS = {
    "cross-origin-embedder-policy",
    "cross-origin-opener-policy",
    "cross-origin-resource-policy",
}


def check_space_front_matter(text: str) -> list[str]:
    """The problems of a Space README's front matter, by the Hub's Space configuration rules.

    The rules of the Spaces configuration reference (`sdk` one of gradio, docker, static,
    streamlit; colours from the thumbnail palette; `python_version` 3.x or 3.x.x; the suggested
    hardware and storage flavours; the allowed `custom_headers` ...) and the Hub's limit of 60
    characters on `short_description`.

    Args:
        text: The whole README.md.

    Returns:
        One sentence per problem; empty when the Hub would accept it.

    Example:
        >>> check_space_front_matter("---\\nsdk: gradio\\nshort_description: " + "x" * 61 + "\\n---\\n")
        ['short_description has 61 characters; the Hub allows at most 60']
    """
    found = _YAML_BLOCK.match(text)
    if found is None:
        return ["README.md has no front matter (a YAML block between --- lines at the top)"]
    try:
        config = yaml.safe_load(found.group(1))
    except yaml.YAMLError as exc:
        return [f"the front matter is not valid YAML: {' '.join(str(exc).split())}"]
    if not isinstance(config, dict):
        return ["the front matter is not a mapping of keys to values"]
    problems: list[str] = []
    sdk = config.get("sdk")
    if sdk is None:
        problems.append("sdk is missing; set it to one of " + ", ".join(sorted(_SDKS)))
    elif sdk not in _SDKS:
        problems.append(f"sdk {sdk!r} is not one of " + ", ".join(sorted(_SDKS)))
    for key, allowed in _CHOICES.items():
        if key in config and config[key] not in allowed:
            problems.append(f"{key} {config[key]!r} is not one of " + ", ".join(sorted(allowed)))
    problems.extend(f"{key} must be text" for key in _TEXT if _present(config, key, str))
    problems.extend(f"{key} must be true or false" for key in _FLAGS if _present(config, key, bool))
    problems.extend(
        f"{key} must be a list of texts"
        for key in _LISTS
        if key in config and not _texts(config[key])
    )
    problems.extend(_special_keys(config))
    return problems


def _present(config: dict[str, Any], key: str, kind: type) -> bool:
    """True when `key` is set to something other than a `kind`."""
    return key in config and not isinstance(config[key], kind)


def _texts(value: Any) -> bool:
    return isinstance(value, str) or (
        isinstance(value, list) and all(isinstance(v, str) for v in value)
    )


def _is_emoji(value: str) -> bool:
    """Only emoji: pictographs (symbols), with their joiners, selectors and skin tones."""
    if not value or any(ch.isalnum() or ch.isspace() or ch.isascii() for ch in value):
        return False
    return any(unicodedata.category(ch) == "So" for ch in value)


def _special_keys(config: dict[str, Any]) -> Iterator[str]:
    short = config.get("short_description")
    if "short_description" in config and not isinstance(short, str):
        yield "short_description must be text"
    elif isinstance(short, str) and len(short) > 60:
        yield f"short_description has {len(short)} characters; the Hub allows at most 60"
    emoji = config.get("emoji")
    if "emoji" in config and not (isinstance(emoji, str) and _is_emoji(emoji)):
        yield f"emoji {emoji!r} must be an emoji and nothing else"
    python = config.get("python_version")
    if "python_version" in config and not (
        isinstance(python, str) and re.fullmatch(r"3\.\d+(?:\.\d+)?", python)
    ):
        yield f"python_version {python!r} must be a quoted 3.x or 3.x.x version"
    port = config.get("app_port")
    if "app_port" in config and (isinstance(port, bool) or not isinstance(port, int)):
        yield "app_port must be a whole number"
    base = config.get("base_path")
    if "base_path" in config and not (isinstance(base, str) and base.startswith("/")):
        yield "base_path must start with /"
    minutes = config.get("hf_oauth_expiration_minutes")
    if "hf_oauth_expiration_minutes" in config and not (
        type(minutes) is int and 0 < minutes <= 43200
    ):
        yield "hf_oauth_expiration_minutes must be a whole number of minutes up to 43200"
    timeout = config.get("startup_duration_timeout")
    if "startup_duration_timeout" in config and not (
        isinstance(timeout, str) and re.fullmatch(r"\d+(?:\.\d+)?\s*[smhd]", timeout.strip())
    ):
        yield f"startup_duration_timeout {timeout!r} must be a duration such as 30m or 1h"
    yield from _custom_headers(config)


def _custom_headers(config: dict[str, Any]) -> Iterator[str]:
    if "custom_headers" not in config:
        return
    headers = config["custom_headers"]
    if not isinstance(headers, dict):
        yield "custom_headers must be a mapping of header names to values"
        return
    for name, value in headers.items():
        if name not in _ALLOWED_HEADERS:
            yield (
                f"custom_headers: {name!r} is not allowed (only "
                + ", ".join(sorted(_ALLOWED_HEADERS))
                + ")"
            )
        elif not isinstance(value, str) or value != value.lower():
            yield f"custom_headers: the value of {name} must be lowercase text"


def front_matter(*, dataset: str, gradio_version: str) -> dict[str, Any]:
    """The Space's configuration: a Gradio app on the pinned Gradio, reading `dataset`."""
    return {
        "title": "evalbot results",
        "emoji": "📊",
        "colorFrom": "indigo",
        "colorTo": "green",
        "sdk": "gradio",
        "sdk_version": gradio_version,
        "python_version": f"{sys.version_info.major}.{sys.version_info.minor}",
        "app_file": APP_FILE,
        "pinned": False,
        "license": "apache-2.0",
        "short_description": SHORT_DESCRIPTION,
        "tags": ["leaderboard", "evaluation", "robustness"],
        "datasets": [dataset],
    }


def readme(config: dict[str, Any]) -> str:
    """README.md: `config` as front matter, then the body of space/README.md."""
    source = (PROJECT_ROOT / "space" / "README.md").read_text(encoding="utf-8")
    found = _YAML_BLOCK.match(source)
    body = source[found.end() :] if found else source
    head = yaml.safe_dump(config, sort_keys=False, allow_unicode=True)
    return f"---\n{head}---\n\n{body.lstrip()}"


# ---- building the folder ---------------------------------------------------------------------


def locked_versions(names: tuple[str, ...]) -> dict[str, str]:
    """The versions evalbot's lock (requirements.txt) pins for `names`.

    Raises:
        SpaceDeployError: a name the lock does not pin.
    """
    pins: dict[str, str] = {}
    for line in (PROJECT_ROOT / "requirements.txt").read_text().splitlines():
        name, sep, version = line.split("#")[0].strip().partition("==")
        if sep:
            pins[_canonical(name)] = version.strip()
    missing = [n for n in names if _canonical(n) not in pins]
    if missing:
        raise SpaceDeployError(
            f"requirements.txt pins no version of {', '.join(missing)}, which the Space needs: "
            "add it to requirements.in and lock it into requirements.txt"
        )
    return {n: pins[_canonical(n)] for n in names}


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def build_space(dest: Path, *, dataset: str, hub_url: str) -> list[str]:
    """Write the Space's files under `dest` (an empty folder); returns their paths, sorted."""
    versions = locked_versions(("gradio", *REQUIREMENTS))
    files: dict[str, bytes] = {
        APP_FILE: APP_PY.encode(),
        "requirements.txt": "".join(f"{n}=={versions[n]}\n" for n in REQUIREMENTS).encode(),
        "README.md": readme(
            front_matter(dataset=dataset, gradio_version=versions["gradio"])
        ).encode(),
        CONFIG_FILE: (
            json.dumps({"dataset": dataset, "hub_url": hub_url}, indent=2) + "\n"
        ).encode(),
    }
    package = PROJECT_ROOT / "space"
    for path in sorted(package.rglob("*")):
        relative = path.relative_to(package)
        skip = "__pycache__" in relative.parts or path.suffix == ".pyc"
        if path.is_file() and not skip and str(relative) not in ("README.md", "requirements.txt"):
            files[f"space/{relative.as_posix()}"] = path.read_bytes()
    for name in STORE_MODULES:
        files[f"store/{name}"] = (PROJECT_ROOT / "store" / name).read_bytes()
    for name, content in files.items():
        target = dest / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)
    return sorted(files)


# ---- checking the folder ---------------------------------------------------------------------


def _run_nodes(node: ast.AST) -> Iterator[ast.AST]:
    """The nodes under `node` that run on import: not those under ``if TYPE_CHECKING:``."""
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
            for other in child.orelse:
                yield other
                yield from _run_nodes(other)
            continue
        yield child
        yield from _run_nodes(child)


def _imports(tree: ast.Module, package: str) -> Iterator[tuple[str, list[str]]]:
    """(module, names imported from it) for each import a module runs, relative imports
    resolved against `package`."""
    for node in _run_nodes(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, []
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(p for p in [*parts, base] if p)
            yield base, [alias.name for alias in node.names]


def check_imports(folder: Path) -> list[str]:
    """Imports of the folder's modules that the Space cannot satisfy (static: every
    ``import`` statement, read without running anything).

    Allowed: the standard library, :data:`THIRD_PARTY`, and modules the folder ships.
    """
    local = {p.parts[0] for p in (q.relative_to(folder) for q in folder.rglob("*.py"))}
    local = {name.removesuffix(".py") for name in local}
    problems: list[str] = []
    for path in sorted(folder.rglob("*.py")):
        relative = path.relative_to(folder).with_suffix("")
        parts = relative.parts[:-1] if relative.name == "__init__" else relative.parts
        package = ".".join(parts if path.name == "__init__.py" else parts[:-1])
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for module, names in _imports(tree, package):
            top = module.split(".")[0]
            if top in local or _project_module(top):
                wanted = [module, *(f"{module}.{n}" for n in names)]
                missing = [m for m in wanted if _project_module(m) and not _ships(folder, m)]
                missing = [m for m in missing if m.rpartition(".")[0] not in missing]
                problems.extend(
                    f"{relative}.py imports {m}, which the Space does not ship" for m in missing
                )
            elif (
                top not in sys.stdlib_module_names
                and top not in THIRD_PARTY
                and top != "__future__"
            ):
                problems.append(f"{relative}.py imports {module}, which the Space does not install")
    return problems


def _project_module(module: str) -> bool:
    base = PROJECT_ROOT.joinpath(*module.split("."))
    return base.with_suffix(".py").is_file() or (base / "__init__.py").is_file()


def _ships(folder: Path, module: str) -> bool:
    base = folder.joinpath(*module.split("."))
    return base.with_suffix(".py").is_file() or (base / "__init__.py").is_file()


_IMPORT_PROBE = """
import importlib.abc, json, sys
FORBIDDEN = set(sys.argv[2].split(","))
class Refuse(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in FORBIDDEN:
            raise ModuleNotFoundError(f"the Space cannot import {name}", name=name)
        return None
sys.meta_path.insert(0, Refuse())
sys.path.insert(0, sys.argv[1])
import app, space, store
print(json.dumps({"space": space.__file__, "store": store.__file__,
                  "loaded": sorted(m for m in sys.modules if m.split(".")[0] in FORBIDDEN)}))
"""


def check_import_run(folder: Path) -> list[str]:
    """Import the folder's ``app`` in an isolated interpreter (``-I``: no PYTHONPATH, no user
    site, no current directory; ``-B``: the folder stays as built) that refuses evalbot's other
    packages and pymongo; problems when that fails or when ``space``/``store`` come from
    anywhere but the folder."""
    run = subprocess.run(
        [sys.executable, "-I", "-B", "-c", _IMPORT_PROBE, str(folder), ",".join(FORBIDDEN)],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=300,
    )
    if run.returncode != 0:
        last = run.stderr.strip().splitlines()[-1:] or [f"exit code {run.returncode}"]
        return [f"importing app.py outside evalbot's install fails: {last[0]}"]
    found = json.loads(run.stdout.strip().splitlines()[-1])
    problems = [
        f"{name} is imported from {found[name]}, not from the Space folder"
        for name in ("space", "store")
        if not Path(found[name]).resolve().is_relative_to(folder.resolve())
    ]
    return problems + [f"importing app.py loads {name}" for name in found["loaded"]]


def _config(text: str) -> dict[str, Any]:
    found = _YAML_BLOCK.match(text)
    config = yaml.safe_load(found.group(1)) if found else None
    return config if isinstance(config, dict) else {}


def check_space(folder: Path) -> None:
    """Check a built Space folder before it is pushed, without running it.

    Raises:
        SpaceConfigError: the problems of its README front matter, its app file and imports.
    """
    text = (folder / "README.md").read_text(encoding="utf-8")
    problems = check_space_front_matter(text)
    app = _config(text).get("app_file") if not problems else None
    if isinstance(app, str) and not (folder / app).is_file():
        problems.append(f"app_file {app} is not in the Space")
    problems += check_imports(folder)
    if problems:
        raise SpaceConfigError(problems)


# ---- pushing ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class DeployResult:
    """What a deploy did.

    Attributes:
        repo_id: The Space repo.
        url: The Space's page.
        created: Whether this deploy created the repo.
        commit: The commit made, None when nothing changed.
        changed: Paths added, changed or deleted by that commit.
    """

    repo_id: str
    url: str
    created: bool
    commit: str | None
    changed: list[str] = field(default_factory=list)


def space_url(endpoint: str, repo_id: str) -> str:
    return f"{endpoint.rstrip('/')}/spaces/{repo_id}"


Operation = CommitOperationAdd | CommitOperationDelete


def space_changes(api: HfApi, repo_id: str, folder: Path) -> tuple[str | None, list[Operation]]:
    """The Space repo's head (None: there is no such Space) and the operations that make its
    files those of `folder` (the Hub's ``.gitattributes`` stays)."""
    try:
        head = api.space_info(repo_id).sha
    except RepositoryNotFoundError:
        head, remote = None, {}
    else:
        tree = api.list_repo_tree(repo_id, repo_type="space", recursive=True, revision=head)
        remote = {entry.path: entry.blob_id for entry in tree if isinstance(entry, RepoFile)}
    local = {p.relative_to(folder).as_posix(): p for p in folder.rglob("*") if p.is_file()}
    operations: list[Operation] = [
        CommitOperationAdd(path, file)
        for path, file in sorted(local.items())
        if remote.get(path) != git_hash(file.read_bytes())
    ]
    operations += [
        CommitOperationDelete(path)
        for path in sorted(remote)
        if path not in local and path != ".gitattributes"
    ]
    return head, operations


def push_space(
    api: HfApi, repo_id: str, folder: Path, *, on_step: Callable[[str], None]
) -> DeployResult:
    """Create the Space repo if needed and commit what differs from `folder`, in one commit.

    Raises:
        SpaceRejectedError: the Hub refused the commit (400), e.g. for its README front matter.
    """
    head, operations = space_changes(api, repo_id, folder)
    created = head is None
    if created:
        api.create_repo(repo_id, repo_type="space", space_sdk="gradio", exist_ok=True)
        head, operations = space_changes(api, repo_id, folder)  # from the Hub's first commit
    on_step(f"Space repo {repo_id}: {'created' if created else 'exists'}")
    url = space_url(api.endpoint, repo_id)
    if not operations:
        on_step(f"Space {repo_id}: up to date, nothing committed")
        return DeployResult(repo_id, url, created, None)
    changed = [op.path_in_repo for op in operations]
    try:
        info = api.create_commit(
            repo_id,
            operations,
            repo_type="space",
            commit_message=f"Deploy the evalbot Space ({len(changed)} files changed)",
            commit_description="\n".join(f"- {path}" for path in changed),
            parent_commit=head,
        )
    except ValueError as exc:  # the client's own check of README.md: /api/validate-yaml
        refusal = exc if isinstance(exc, BadRequestError) else exc.__cause__
        if not isinstance(refusal, BadRequestError):
            raise
        message = (refusal.server_message if refusal is exc else None) or str(exc)
        raise SpaceRejectedError(repo_id, message) from exc
    on_step(f"Space {repo_id}: committed {info.oid[:8]} ({len(changed)} files changed)")
    return DeployResult(repo_id, url, created, info.oid, changed)


def deploy_space(
    repo_id: str, *, dataset: str, api: HfApi, on_step: Callable[[str], None] = print
) -> DeployResult:
    """Build, check and push the Space to `repo_id`, reading the results dataset `dataset`.

    When something is to be committed, ``app.py`` is first imported in an isolated interpreter
    (:func:`check_import_run`); a deploy with nothing to commit skips that.

    Args:
        repo_id: The Space repo, ``ORG/NAME``.
        dataset: The results dataset the Space reads, ``ORG/NAME``.
        api: A client with write access to the Space's namespace.
        on_step: Called with one line per step.

    Raises:
        SpaceConfigError: the built Space breaks the Hub's rules (nothing pushed).
        SpaceRejectedError: the Hub refused the commit.
    """
    with tempfile.TemporaryDirectory(prefix="evalbot-space-") as tmp:
        folder = Path(tmp)
        paths = build_space(folder, dataset=dataset, hub_url=api.endpoint)
        on_step(f"built the Space: {len(paths)} files, reading dataset {dataset}")
        check_space(folder)
        on_step("checked: README front matter, app file, imports")
        if space_changes(api, repo_id, folder)[1]:
            problems = check_import_run(folder)
            if problems:
                raise SpaceConfigError(problems)
            on_step("checked: app.py imports alone (no MongoDB, no other evalbot package)")
        result = push_space(api, repo_id, folder, on_step=on_step)
    on_step(f"Space: {result.url}")
    return result


def space_repo_id(url: str) -> str | None:
    """The repo id in a Space page URL (``.../spaces/ORG/NAME``), None for any other URL."""
    found = re.search(r"/spaces/([^/?#]+/[^/?#]+)", url)
    return found.group(1) if found else None


# ---- serving a checkout ----------------------------------------------------------------------

# Settings of evalbot's MongoDB, the bot's token and signing key: a Space never has them.
_NOT_FOR_THE_SPACE = (
    "MONGODB_URI",
    "MONGODB_READ_URI",
    "EVALBOT_DB",
    "EVALBOT_MONGO_DIR",
    "EVALBOT_MONGOD",
    "EVALBOT_SIGNING_KEY",
    "HF_TOKEN",
)


@dataclass
class ServedSpace:
    """A checkout of a Space repo, served by ``python app.py`` in a child process.

    Attributes:
        process: The child (cwd: the checkout, ``PYTHONPATH``: the checkout only).
        url: Where it answers.
        checkout: The folder the repo was downloaded to.
        log: Its stdout and stderr.
    """

    process: subprocess.Popen[bytes]
    url: str
    checkout: Path
    log: Path

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def serve_checkout(
    repo_id: str, dest: Path, *, port: int, env: dict[str, str], timeout: float = 180
) -> ServedSpace:
    """Download the Space repo `repo_id` into `dest` and serve it as the Hub would run it.

    The app runs from the checkout alone: ``python app.py`` with the checkout as working
    directory and only ``PYTHONPATH``, in `env` without MongoDB's settings or ``HF_TOKEN``;
    ``HF_ENDPOINT`` of `env` is the Hub it downloads from and reads the results dataset on.

    Args:
        repo_id: The Space repo.
        dest: A folder that does not exist yet, or is empty.
        port: The port to serve on (``GRADIO_SERVER_PORT`` and ``PORT``).
        env: The environment to start from.
        timeout: Seconds to wait for the app to answer HTTP.

    Raises:
        FileExistsError: `dest` holds files.
        SpaceDeployError: the app exited, or did not answer in time (the log's tail says why).
    """
    if dest.exists() and any(dest.iterdir()):
        raise FileExistsError(f"{dest} is not empty: serve a Space checkout into a new folder")
    snapshot_download(
        repo_id,
        repo_type="space",
        local_dir=dest,
        endpoint=env.get("HF_ENDPOINT"),
        token=env.get("HF_TOKEN") or False,
    )
    shutil.rmtree(dest / ".cache", ignore_errors=True)  # the download's own bookkeeping
    space_env = {k: v for k, v in env.items() if not k.startswith(_NOT_FOR_THE_SPACE)}
    space_env |= {
        "PYTHONPATH": str(dest),
        "GRADIO_SERVER_NAME": "127.0.0.1",
        "GRADIO_SERVER_PORT": str(port),
        "PORT": str(port),
        "GRADIO_ANALYTICS_ENABLED": "False",
    }
    log = dest.with_name(f"{dest.name}.log")
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, APP_FILE], cwd=dest, env=space_env, stdout=out, stderr=out
        )
    served = ServedSpace(process, f"http://127.0.0.1:{port}", dest, log)
    try:
        _wait_http(served, timeout)
    except BaseException:
        served.stop()
        raise
    return served


def _wait_http(served: ServedSpace, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if served.process.poll() is not None:
            raise SpaceDeployError(
                f"the Space checkout in {served.checkout} exited with code "
                f"{served.process.returncode}: {_tail(served.log)}"
            )
        try:
            with urllib.request.urlopen(served.url, timeout=2):
                return
        except urllib.error.HTTPError:
            return
        except OSError:
            time.sleep(0.3)
    raise SpaceDeployError(
        f"the Space checkout did not answer on {served.url} within {timeout:.0f}s: "
        f"{_tail(served.log)}"
    )


def _tail(log: Path) -> str:
    lines = log.read_text(errors="replace").strip().splitlines()
    return " | ".join(lines[-5:]) or "no output"
