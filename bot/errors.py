"""Errors of the bot's own: they end a command with one clear message and a non-zero exit."""

from __future__ import annotations


class HubUnreachableError(ConnectionError):
    """The Hub at HF_ENDPOINT does not answer."""

    def __init__(self, endpoint: str, cause: str) -> None:
        super().__init__(
            f"the Hub at HF_ENDPOINT={endpoint} is unreachable ({cause}). "
            "Check HF_ENDPOINT (unset means https://huggingface.co) and the network."
        )
        self.endpoint = endpoint


class TokenError(PermissionError):
    """HF_TOKEN is missing or rejected where one is needed."""


class SigningKeyMissingError(FileNotFoundError):
    """No signing key at ``EVALBOT_SIGNING_KEY`` (or the default path): only
    ``evalbot keys create`` makes one."""

    def __init__(self, path: object) -> None:
        super().__init__(
            f"no signing key at {path}. Make one once with `evalbot keys create` (it writes "
            "EVALBOT_SIGNING_KEY, default ~/.cache/evalbot/signing-key.pem) and back it up; in a "
            "container, mount the key file read-only at that path."
        )
        self.path = path


class SigningKeyExistsError(FileExistsError):
    """``evalbot keys create`` found a key already: a key is never replaced."""

    def __init__(self, path: object) -> None:
        super().__init__(
            f"a signing key already exists at {path}; evalbot never replaces one (what it signed "
            "would no longer match the published public key). `evalbot keys show` prints it; "
            "to make another, set EVALBOT_SIGNING_KEY to a new path."
        )
        self.path = path


class StartupError(RuntimeError):
    """``run``, ``serve`` or ``worker`` lacks what it needs to start; each problem says what to do."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("cannot start: " + " ".join(problems))
        self.problems = problems


class BenchmarkTaskError(ValueError):
    """A module's ``benchmark:`` that its dataset's ``eval.yaml`` on the Hub does not back: a
    ``task_id`` it does not list, no ``eval.yaml`` (not a Hub Benchmark), or no such dataset.
    The message names the module file, like a `ConfigError`.

    Example:
        >>> str(BenchmarkTaskError("m.yaml", module_id="m", dataset_id="org/d", task_id="x",
        ...                        tasks=["a", "b"]))
        "m.yaml: module 'm': benchmark.task_id 'x' is not a task of the Hub Benchmark org/d, whose eval.yaml lists: a, b; set benchmark.task_id to one of them"
    """

    def __init__(
        self,
        path: str,
        *,
        module_id: str,
        dataset_id: str,
        task_id: str,
        tasks: list[str] | None = None,
        detail: str | None = None,
    ) -> None:
        self.path = path
        self.module_id = module_id
        self.dataset_id = dataset_id
        self.task_id = task_id
        self.tasks = list(tasks or [])
        if detail is None:
            listed = ", ".join(self.tasks) if self.tasks else "no tasks"
            detail = (
                f"benchmark.task_id '{task_id}' is not a task of the Hub Benchmark {dataset_id}, "
                f"whose eval.yaml lists: {listed}; set benchmark.task_id to one of them"
            )
        else:
            detail = f"{detail}; fix or remove the module's benchmark: block"
        super().__init__(f"{path}: module '{module_id}': {detail}")


class SpaceDeployError(ValueError):
    """``evalbot space deploy`` cannot push the Space; the message says what to change."""


class SpaceConfigError(SpaceDeployError):
    """The Space folder evalbot built breaks the Hub's Space rules (checked before pushing)."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__(
            "the Space is not valid, nothing was pushed: "
            + "; ".join(problems)
            + " (see the Spaces configuration reference)"
        )
        self.problems = problems


class SpaceRejectedError(SpaceDeployError):
    """The Hub refused the Space commit (HTTP 400): its message names what it refused."""

    def __init__(self, repo_id: str, message: str) -> None:
        super().__init__(
            f"the Hub refused the commit to Space {repo_id}: {' '.join(message.split())} "
            "(fix the README front matter or the files named, then deploy again)"
        )
        self.repo_id = repo_id
        self.hub_message = message
