"""The embedded mongod asks for a password: a client without one reads and writes nothing, the
read-only user only reads, the passwords live in a 0600 file and survive restarts, an old data
dir without users gets them in place, and no password reaches a repr, an error or a log."""

from __future__ import annotations

import json
import logging
import os
import stat
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from pymongo import MongoClient
from pymongo.errors import OperationFailure

from bot.settings import Settings
from store.db import Store
from store.embedded import (
    CREDENTIALS_FILE,
    READER,
    WRITER,
    EmbeddedMongo,
    _free_port,
    find_mongod,
    start_embedded,
)
from store.errors import MongoAuthenticationError, MongoUnavailableError

UNAUTHORIZED, AUTHENTICATION_FAILED = 13, 18

Client = MongoClient[dict[str, object]]


def client(uri: str) -> Client:
    return MongoClient(uri, serverSelectionTimeoutMS=3000)


def user_of(uri: str) -> list[str]:
    with client(uri) as c:
        status = c.admin.command("connectionStatus")
    return [u["user"] for u in status["authInfo"]["authenticatedUsers"]]


@pytest.fixture(scope="module")
def own(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedMongo]:
    """A server of this module's own, on a data dir it may restart."""
    with start_embedded(tmp_path_factory.mktemp("auth") / "mongo") as server:
        yield server


def test_a_client_without_password_can_neither_read_nor_write(own: EmbeddedMongo) -> None:
    with client(own.uri) as writer:
        writer.evalbot.models.insert_one({"_id": "org/m"})
    with client(f"mongodb://127.0.0.1:{own.port}/") as anonymous:
        assert anonymous.admin.command("ping")["ok"] == 1  # it answers, and nothing more
        for attempt in (
            lambda: anonymous.evalbot.models.find_one({}),
            lambda: anonymous.evalbot.models.insert_one({"_id": "x"}),
            lambda: anonymous.list_database_names(),
            lambda: anonymous.admin.command("createUser", "intruder", pwd="p" * 12, roles=[]),
        ):
            with pytest.raises(OperationFailure) as err:
                attempt()
            assert err.value.code == UNAUTHORIZED
    assert not Path(f"/tmp/mongodb-{own.port}.sock").exists()  # no Unix socket either


def test_a_wrong_password_is_refused_and_not_repeated(own: EmbeddedMongo) -> None:
    wrong = f"mongodb://{WRITER}:not-the-password@127.0.0.1:{own.port}/?authSource=admin"
    with client(wrong) as c, pytest.raises(OperationFailure) as err:
        c.evalbot.models.find_one({})
    assert err.value.code == AUTHENTICATION_FAILED
    with pytest.raises(MongoAuthenticationError, match="MONGODB_URI") as refused:
        Store.open(wrong, timeout_ms=3000)
    assert "not-the-password" not in str(refused.value)
    assert isinstance(refused.value, MongoUnavailableError)  # callers that catch that still do


def test_the_reader_reads_and_cannot_write(own: EmbeddedMongo) -> None:
    with Store.open(own.uri, db_name="shared") as writer:
        writer.models.insert_one({"_id": "org/read-me", "status": "evaluated"})
    assert user_of(own.reader_uri) == [READER]
    with Store.open(own.reader_uri, db_name="shared", read_only=True) as reader:
        assert reader.models.find_one({"_id": "org/read-me"}) is not None
        for attempt in (
            lambda: reader.models.insert_one({"_id": "org/other"}),
            lambda: reader.models.update_one({"_id": "org/read-me"}, {"$set": {"x": 1}}),
            lambda: reader.models.delete_many({}),
            lambda: reader.models.create_index("status"),
            lambda: reader.client.drop_database("shared"),
            lambda: reader.client.admin["system.users"].find_one({}),  # no password hashes
        ):
            with pytest.raises(OperationFailure) as err:
                attempt()
            assert err.value.code == UNAUTHORIZED
    with pytest.raises(OperationFailure) as err:  # a read-write Store.open creates indexes
        Store.open(own.reader_uri, db_name="shared")
    assert err.value.code == UNAUTHORIZED


def test_the_writer_creates_indexes_and_drops_test_databases(own: EmbeddedMongo) -> None:
    assert user_of(own.uri) == [WRITER]
    with Store.open(own.uri, db_name="scratch") as store:  # indexes, catalogue
        assert "result_key" in store.results.index_information()
        store.client.drop_database("scratch")
        for attempt in (  # it cannot make itself more users or see theirs
            lambda: store.client.admin.command("createUser", "more", pwd="p" * 12, roles=[]),
            lambda: store.client.admin.command("usersInfo", {"forAllDBs": True}),
        ):
            with pytest.raises(OperationFailure) as err:
                attempt()
            assert err.value.code == UNAUTHORIZED


def test_credentials_are_private_and_kept_across_restarts(tmp_path: Path) -> None:
    data = tmp_path / "mongo"
    port = _free_port()
    with start_embedded(data, port=port) as first:
        first_uri = first.uri
        with client(first.uri) as c:
            c.evalbot.models.insert_one({"_id": "org/kept"})
    assert stat.S_IMODE(data.stat().st_mode) == 0o700
    path = data / CREDENTIALS_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    saved = json.loads(path.read_text())
    assert set(saved["users"]) == {"evalbot-admin", WRITER, READER}
    assert len({*saved["users"].values()}) == 3
    assert all(len(p) >= 32 for p in saved["users"].values())
    assert [p.name for p in data.glob("credentials*")] == [CREDENTIALS_FILE]
    path.chmod(0o644)  # loosened by hand: tightened again at the next start
    with start_embedded(data, port=port) as second:
        assert second.uri == first_uri
        with client(second.uri) as c:
            assert c.evalbot.models.find_one({"_id": "org/kept"}) == {"_id": "org/kept"}
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_an_old_data_dir_without_users_is_upgraded_in_place(tmp_path: Path) -> None:
    """A data dir an earlier evalbot made (mongod without --auth): its data stays, and from
    now on it asks for a password."""
    data = tmp_path / "old"
    data.mkdir(mode=0o755)
    port = _free_port()
    old = subprocess.Popen(
        [str(find_mongod()), "--dbpath", str(data), "--port", str(port), "--bind_ip", "127.0.0.1"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        with client(f"mongodb://127.0.0.1:{port}/") as c:
            c.evalbot.models.insert_many([{"_id": f"org/m{i}"} for i in range(5)])
            c.evalbot.models.create_index("status")
    finally:
        old.terminate()
        old.wait(timeout=30)
    with start_embedded(data, port=port) as upgraded:
        with client(upgraded.uri) as c:
            assert c.evalbot.models.count_documents({}) == 5
            assert "status_1" in c.evalbot.models.index_information()
        with client(upgraded.reader_uri) as c:
            assert c.evalbot.models.count_documents({}) == 5
        with client(f"mongodb://127.0.0.1:{port}/") as anonymous, pytest.raises(OperationFailure):
            anonymous.evalbot.models.find_one({})
    assert (data / CREDENTIALS_FILE).is_file()
    assert stat.S_IMODE(data.stat().st_mode) == 0o700


def test_users_without_their_credentials_file_are_refused(tmp_path: Path) -> None:
    data = tmp_path / "mongo"
    start_embedded(data).stop()
    (data / CREDENTIALS_FILE).unlink()
    with pytest.raises(MongoAuthenticationError, match=r"has users but no credentials\.json"):
        start_embedded(data)


def test_store_open_picks_the_reader_for_read_only(
    tmp_path: Path, own: EmbeddedMongo, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot.fiftyone_export import use_store_for_fiftyone

    for name in ("MONGODB_URI", "MONGODB_READ_URI", "FIFTYONE_DATABASE_URI"):
        monkeypatch.delenv(name, raising=False)
    with Store.open(data_dir=tmp_path / "mongo", read_only=True) as store:
        assert store.embedded is not None
        assert user_of(store.embedded.reader_uri) == [READER]
        with pytest.raises(OperationFailure):
            store.models.insert_one({"_id": "x"})
        use_store_for_fiftyone(store)  # FiftyOne writes its datasets: the read-write user
        assert os.environ["FIFTYONE_DATABASE_URI"] == store.embedded.uri
    monkeypatch.setenv("MONGODB_URI", own.uri)
    monkeypatch.setenv("MONGODB_READ_URI", own.reader_uri)
    with Store.open(read_only=True) as store, pytest.raises(OperationFailure):
        store.models.insert_one({"_id": "x"})  # MONGODB_READ_URI
    with Store.open(db_name="writable") as store:
        store.models.insert_one({"_id": "x"})  # MONGODB_URI
        store.client.drop_database("writable")
    settings = Settings.from_env()
    assert settings.read_uri == own.reader_uri
    monkeypatch.delenv("MONGODB_URI")
    assert Settings.from_env().read_uri is None  # no MONGODB_URI: the embedded reader


def test_no_password_in_reprs_errors_or_logs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)  # pymongo's own command and connection logs too
    data = tmp_path / "mongo"
    with start_embedded(data) as mongo:
        passwords = list(mongo.credentials.passwords.values())
        with Store.open(mongo.uri, db_name="logged") as store:
            store.models.insert_one({"_id": "org/m"})
            store.client.drop_database("logged")
        with Store.open(mongo.reader_uri, read_only=True) as store:
            store.models.find_one({})
        monkeypatch.setenv("MONGODB_URI", mongo.uri)
        monkeypatch.setenv("MONGODB_READ_URI", mongo.reader_uri)
        settings = Settings.from_env()
        wrong = mongo.uri.replace(passwords[1], passwords[1][::-1])
        with pytest.raises(MongoAuthenticationError) as refused:
            Store.open(wrong, timeout_ms=3000)
        texts = [
            repr(mongo),
            str(mongo),
            repr(mongo.credentials),
            repr(settings),
            str(refused.value),
            repr(refused.value),
            str(refused.value.uri),
            *(r.getMessage() for r in caplog.records),
            *(str(r.__dict__) for r in caplog.records),
        ]
    time.sleep(0.2)  # mongod's last log lines
    texts.append((data / "mongod.log").read_text())
    assert caplog.records  # pymongo did log
    for password in passwords:
        for text in texts:
            assert password not in text
            assert password[::-1] not in text


def test_read_only_commands_use_the_read_uri(
    own: EmbeddedMongo, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from bot.cli import main

    monkeypatch.setenv("MONGODB_URI", own.uri)
    monkeypatch.setenv("MONGODB_READ_URI", own.reader_uri)
    monkeypatch.setenv("EVALBOT_DB", "cli_reads")
    assert main(["status"]) == 0
    assert "jobs: none" in capsys.readouterr().out
    wrong = own.reader_uri.replace("@", "x@", 1)
    monkeypatch.setenv("MONGODB_READ_URI", wrong)
    assert main(["status"]) == 2
    err = capsys.readouterr().err
    assert "refused the user or password: check MONGODB_READ_URI" in err
    assert "evalbot-reader:***@" in err and own.credentials.passwords[READER] not in err
