"""The results dataset as the Space reads it: one published version of its Parquet tables at a time.

A :class:`Snapshot` is one version, ready to query with SQL (DuckDB, in process). The small
tables (models, evaluations without their matrices, scores, runtimes, datasets ...) are loaded
into memory once; the big ones (``class_results``, ``misclassifications``, ``detection_errors``,
``examples``) stay in their files and are read per query, with filters on their sort columns,
so that the Parquet row groups that cannot match are skipped. The evaluations' confusion
matrices and reliability bins are copied once per version into a local Parquet file of small
row groups (the published file holds up to 128K evaluations per row group, all of which a
reader would decode to get one matrix), and read from there per query. A column missing from a
file (published before the column existed) reads as NULL; a missing table reads as empty.

:class:`ResultsData` holds the snapshot being served and replaces it, in one assignment, when the
source publishes a new version: a request reads ``data.current`` once and keeps that snapshot to
its end. A source is a folder (:class:`DirectorySource`) or a dataset repo on the Hub
(:class:`HubSource`, pinned to the commit it resolved). While the source cannot be read, the
data already loaded is served and one line is logged.

Example:
    >>> data = ResultsData(HubSource("evalbot/results"))  # doctest: +SKIP
    >>> data.refresh()  # doctest: +SKIP
    True
    >>> data.current.rows("SELECT count(*) FROM models")  # doctest: +SKIP
    [(10234,)]
"""

from __future__ import annotations

import hashlib
import logging
import shutil
import tempfile
import threading
import weakref
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, Protocol

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
from huggingface_hub import HfApi, scan_cache_dir, snapshot_download
from huggingface_hub.errors import CacheNotFound, CorruptedCacheException
from huggingface_hub.utils import httpx as hub_http  # the Hub client's HTTP library

from space.errors import ResultsDirNotFoundError
from store import tables as t

log = logging.getLogger("evalbot.space")

#: tables read from their files on every query (big, and sorted for row-group pruning)
FILE_TABLES = (
    t.CLASS_RESULTS.name,
    t.MISCLASSIFICATIONS.name,
    t.DETECTION_ERRORS.name,
    t.EXAMPLES.name,
    t.OUTCOMES.name,
)
#: the evaluations' heavy columns, read per query from a local copy (see the module's doc)
_DETAIL_COLUMNS = ("confusion", "calibration", "label_mapping")
#: evaluations per row group of that copy: one matrix costs decoding this many
_DETAIL_ROWS = 512
#: columns of the tables loaded into memory (None: all of them)
_MEMORY_COLUMNS: dict[str, Sequence[str] | None] = {
    t.MODELS.name: None,
    t.EVALUATIONS.name: [
        c for c in t.EVALUATIONS.schema.names if c not in (*_DETAIL_COLUMNS, "intervals")
    ],
    t.SCORES.name: ["evaluation_id", "metric", "value", "low", "high"],
    t.RUNTIMES.name: [
        "evaluation_id",
        "total_s",
        "per_instance_ms",
        "instances_per_s",
        "device",
        "batch_size",
    ],
    t.DATASETS.name: None,
    t.SPLITS.name: None,
    t.VARIANTS.name: None,
    t.CLAIMS.name: None,
    t.REFERENCES.name: None,
    t.PROBLEMS.name: None,
    t.KEYS.name: None,
    t.LABEL_ISSUES.name: None,
    t.COVERAGE.name: None,
}
#: what a source that cannot be read right now raises (the Hub down, a file half written)
SOURCE_ERRORS: tuple[type[BaseException], ...] = (
    OSError,
    hub_http.HTTPError,
    duckdb.Error,
    pa.ArrowException,
)
#: what reading a snapshot raises when its files went away under it
ReadError: tuple[type[BaseException], ...] = (duckdb.Error, OSError)


def _duck_type(arrow: pa.DataType) -> str:
    if pa.types.is_list(arrow):
        return _duck_type(arrow.value_type) + "[]"
    if pa.types.is_timestamp(arrow):
        return "TIMESTAMPTZ" if arrow.tz else "TIMESTAMP"
    simple = {
        pa.string(): "VARCHAR",
        pa.int64(): "BIGINT",
        pa.float64(): "DOUBLE",
        pa.bool_(): "BOOLEAN",
        pa.binary(): "BLOB",
    }
    return simple[arrow]


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _select(table: t.Table, columns: Sequence[str], path: Path | None) -> str:
    """A SELECT of ``columns`` of ``table`` from its file at ``path``: a column the file lacks
    reads as a typed NULL; no file reads as no rows."""
    present = set()
    if path is not None:  # a partitioned table's path is a glob: its files share a schema
        first = next(iter(sorted(path.parent.glob(path.name))), path)
        present = set(pq.read_schema(first).names)
    parts = []
    for name in columns:
        if name in present:
            parts.append(_quote(name))
        else:
            kind = _duck_type(table.schema.field(name).type)
            parts.append(f"CAST(NULL AS {kind}) AS {_quote(name)}")
    source = f"read_parquet({_literal(str(path))})" if path is not None else "(SELECT 1)"
    return f"SELECT {', '.join(parts)} FROM {source}" + ("" if path is not None else " WHERE false")


def _table_path(base: Path | None, table: t.Table) -> Path | None:
    """The file of ``table`` under ``base`` (for a partitioned table, the glob of its files,
    which DuckDB reads as one), or None when it has none."""
    if base is None:
        return None
    path = base / table.path
    if table.partition:
        return path if any(path.parent.glob(path.name)) else None
    return path if path.is_file() else None


def _copy(con: duckdb.DuckDBPyConnection, select: str, target: Path) -> str:
    """The rows of ``select`` written to ``target`` in row groups of :data:`_DETAIL_ROWS`
    (streamed: a batch at a time), as a SELECT over that file."""
    reader = con.sql(select).to_arrow_reader(_DETAIL_ROWS)
    with pq.ParquetWriter(target, reader.schema, compression="zstd") as writer:
        for batch in reader:
            writer.write_batch(batch, row_group_size=_DETAIL_ROWS)
    pa.default_memory_pool().release_unused()  # the batches' memory, back to the system
    return f"SELECT * FROM read_parquet({_literal(str(target))})"


class Snapshot:
    """One version of the results dataset, ready to query. Thread-safe: every query runs on
    its own cursor. Build one with :meth:`open` (or :meth:`nothing` for no data at all)."""

    def __init__(self, con: duckdb.DuckDBPyConnection, revision: str, present: frozenset[str]):
        self._con = con
        self.revision = revision  # the source's version ("" for no data)
        self.present = present  # the tables the version holds
        self._memo: dict[Any, Any] = {}
        self._memo_lock = threading.RLock()  # a computation may use another memo

    @classmethod
    def open(cls, root: Path | str | None, *, revision: str) -> Snapshot:
        """The tables under ``root`` (``<root>/data/<table>.parquet``), as version ``revision``."""
        base = Path(root) if root is not None else None
        con = duckdb.connect()
        present = set()
        scratch: Path | None = None
        for table in t.TABLES:
            path = _table_path(base, table)
            if path is not None:
                present.add(table.name)
            if table.name in FILE_TABLES:
                columns: Sequence[str] = table.schema.names
                con.execute(f"CREATE VIEW {_quote(table.name)} AS {_select(table, columns, path)}")
                continue
            wanted = _MEMORY_COLUMNS[table.name] or table.schema.names
            con.execute(f"CREATE TABLE {_quote(table.name)} AS {_select(table, wanted, path)}")
            if table is t.EVALUATIONS:
                keys = ["evaluation_id", "model_id", "dataset_id", *_DETAIL_COLUMNS]
                details = _select(table, keys, path)
                if path is not None:
                    scratch = Path(tempfile.mkdtemp(prefix="evalbot-space-"))
                    details = _copy(con, details, scratch / "evaluation_details.parquet")
                con.execute(f"CREATE VIEW evaluation_details AS {details}")
        snapshot = cls(con, revision, frozenset(present))
        if scratch is not None:  # the copy lives as long as the snapshot
            weakref.finalize(snapshot, shutil.rmtree, scratch, ignore_errors=True)
        return snapshot

    @classmethod
    def nothing(cls) -> Snapshot:
        """No data: every table empty (before the first version is loaded)."""
        return cls.open(None, revision="")

    @property
    def empty(self) -> bool:
        """Nothing has been published yet (no model, no evaluation)."""
        return self.memo(
            "empty",
            lambda: (
                not self.rows("SELECT 1 FROM models UNION ALL SELECT 1 FROM evaluations LIMIT 1")
            ),
        )

    def rows(self, sql: str, params: Sequence[object] = ()) -> list[tuple[Any, ...]]:
        """The rows of one SQL query over the tables (``?`` placeholders take ``params``)."""
        with self._con.cursor() as cur:
            return cur.execute(sql, list(params)).fetchall()

    def dicts(self, sql: str, params: Sequence[object] = ()) -> list[dict[str, Any]]:
        """The rows of one query as dicts, keyed by column name."""
        with self._con.cursor() as cur:
            cur.execute(sql, list(params))
            names = [d[0] for d in cur.description or ()]
            return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]

    def execute(self, sql: str) -> None:
        """A statement that adds to this snapshot (a derived table), run once."""
        with self._con.cursor() as cur:
            cur.execute(sql)

    def remembers(self, key: Any) -> bool:
        """Whether :meth:`memo` holds ``key`` already (to read what is missing in one go)."""
        return key in self._memo

    def memo(self, key: Any, compute: Callable[[], Any]) -> Any:
        """``compute()`` once per snapshot (per-dataset aggregates, derived tables): a new
        version of the data starts with none of them."""
        hit = self._memo.get(key, _MISSING)
        if hit is not _MISSING:
            return hit
        with self._memo_lock:  # one computation per key, the others wait for it
            hit = self._memo.get(key, _MISSING)
            if hit is _MISSING:
                hit = self._memo[key] = compute()
        return hit


_MISSING = object()


class Source(Protocol):
    """Where a version of the results dataset comes from."""

    def head(self) -> str:
        """The version published now (cheap: called on every check)."""
        ...

    def fetch(self, revision: str) -> Path:
        """A folder holding ``data/<table>.parquet`` of ``revision``."""
        ...

    def forget(self, keep: Iterable[str]) -> None:
        """Drop local copies of versions other than ``keep``."""
        ...

    def describe(self) -> str: ...


class DirectorySource:
    """A local folder holding ``data/<table>.parquet`` (a checkout of the dataset repo, or what
    the bot wrote); its version is a digest of the files' names, sizes and times."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path).expanduser()
        if not self.path.is_dir():
            raise ResultsDirNotFoundError(str(path))

    def head(self) -> str:
        digest = hashlib.sha256()
        for file in sorted((self.path / t.DATA_DIR).rglob("*.parquet")):
            stat = file.stat()
            name = file.relative_to(self.path).as_posix()
            digest.update(f"{name}:{stat.st_size}:{stat.st_mtime_ns};".encode())
        return "dir:" + digest.hexdigest()[:16]

    def fetch(self, revision: str) -> Path:
        return self.path

    def forget(self, keep: Iterable[str]) -> None:
        return None

    def describe(self) -> str:
        return str(self.path)


class HubSource:
    """A dataset repo on the Hub. Each check resolves ``revision`` (a branch follows its head;
    a commit sha stays put) and downloads that commit's tables into the Hub cache, each
    version in its own folder; only the served version and the one before are kept."""

    def __init__(
        self,
        repo_id: str,
        *,
        revision: str | None = None,
        endpoint: str | None = None,
        token: str | bool | None = None,
        cache_dir: Path | str | None = None,
    ) -> None:
        self.repo_id = repo_id
        self.revision = revision or "main"
        self.endpoint = endpoint
        self.token = token
        self.cache_dir = cache_dir
        self.api = HfApi(endpoint=endpoint, token=token)

    def head(self) -> str:
        info = self.api.dataset_info(self.repo_id, revision=self.revision, timeout=20)
        if not info.sha:
            raise OSError(f"the Hub gave no commit for {self.repo_id}@{self.revision}")
        return info.sha

    def fetch(self, revision: str) -> Path:
        folder = snapshot_download(
            self.repo_id,
            repo_type="dataset",
            revision=revision,
            allow_patterns=[f"{t.DATA_DIR}/*.parquet", "README.md"],
            cache_dir=self.cache_dir,
            endpoint=self.endpoint,
            token=self.token,
        )
        return Path(str(folder))

    def forget(self, keep: Iterable[str]) -> None:
        kept = set(keep)
        cache = scan_cache_dir(self.cache_dir)
        old = [
            rev.commit_hash
            for repo in cache.repos
            if repo.repo_id == self.repo_id and repo.repo_type == "dataset"
            for rev in repo.revisions
            if rev.commit_hash not in kept
        ]
        if old:
            cache.delete_revisions(*old).execute()

    def describe(self) -> str:
        where = f" on {self.endpoint}" if self.endpoint else ""
        return f"{self.repo_id}@{self.revision}{where}"


class ResultsData:
    """The version of the results dataset being served, refreshed when the source moves.

    ``on_load`` runs on each new snapshot before it is served (e.g. to compute the
    leaderboards' aggregates, so no visitor waits for them).
    """

    def __init__(
        self,
        source: Source,
        *,
        interval_s: float = 300.0,
        on_load: Callable[[Snapshot], object] | None = None,
    ) -> None:
        self.source = source
        self.interval_s = interval_s
        self.on_load = on_load
        self._current = Snapshot.nothing()
        self._refresh_lock = threading.Lock()
        self._failing = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def current(self) -> Snapshot:
        """The snapshot being served (read it once per request)."""
        return self._current

    def refresh(self) -> bool:
        """Load the source's current version if it is not the one served; True when a new
        version is served now. A source that cannot be read leaves the served data as it is."""
        with self._refresh_lock:
            served = self._current.revision
            try:
                head = self.source.head()
                if head == served:
                    self._recovered()
                    return False
                snapshot = Snapshot.open(self.source.fetch(head), revision=head)
            except SOURCE_ERRORS as exc:
                if not self._failing:
                    what = f"version {served[:12]}" if served else "no data yet"
                    log.warning(
                        "results dataset %s cannot be read (%s: %s); serving %s",
                        self.source.describe(),
                        type(exc).__name__,
                        str(exc).splitlines()[0] if str(exc) else "",
                        what,
                    )
                self._failing = True
                return False
            self._recovered()
            if self.on_load is not None:
                self.on_load(snapshot)
            self._current = snapshot
            log.info("serving results dataset %s at %s", self.source.describe(), head[:12])
            keep = (head, served)  # a request in flight may still read the one before
        try:
            self.source.forget(keep)
        except (OSError, CacheNotFound, CorruptedCacheException) as exc:
            log.warning("old versions of the results dataset not deleted: %s", exc)
        return True

    def _recovered(self) -> None:
        if self._failing:
            log.info("results dataset %s can be read again", self.source.describe())
        self._failing = False

    def start(self) -> threading.Thread:
        """Check the source every ``interval_s`` seconds in a daemon thread."""
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._run, name="evalbot-results-refresh", daemon=True
            )
            self._thread.start()
        return self._thread

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            try:
                self.refresh()
            except Exception:  # the loop's top: a failed check must not end the checking
                log.exception("checking the results dataset failed; checking again later")

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
