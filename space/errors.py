"""Errors of the Space."""

from __future__ import annotations


class SpaceError(RuntimeError):
    """Base class of the Space's errors."""


class NoResultsSourceError(SpaceError, ValueError):
    """The Space was started without saying where the results dataset is."""

    def __init__(self) -> None:
        super().__init__(
            "the Space needs the results dataset to read: pass --dataset ORG/NAME (a dataset repo "
            "on the Hub) or --data-dir DIR (a folder holding data/<table>.parquet), or set "
            "EVALBOT_RESULTS_DATASET or EVALBOT_RESULTS_DIR, or write them in evalbot_space.json"
        )


class ResultsDirNotFoundError(SpaceError, FileNotFoundError):
    """``--data-dir`` names a folder that does not exist."""

    def __init__(self, path: str) -> None:
        super().__init__(
            f"no folder {path}: --data-dir must name a copy of the results dataset "
            "(a folder holding data/<table>.parquet, e.g. a clone of the dataset repo)"
        )
        self.path = path


class SpaceConfigError(SpaceError, ValueError):
    """``evalbot_space.json`` cannot be read."""

    def __init__(self, path: str, problem: str) -> None:
        super().__init__(
            f"{path}: {problem}; it must be a JSON object with the keys "
            '"dataset" (ORG/NAME), "revision" and "hub_url" (all optional)'
        )
        self.path = path
