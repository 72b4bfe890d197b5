"""A real mongod for the tests: one embedded server per session, one database per test."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from store.db import Store
from store.embedded import EmbeddedMongo, start_embedded


@pytest.fixture(scope="session")
def mongo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedMongo]:
    with start_embedded(tmp_path_factory.mktemp("mongo")) as server:
        yield server


@pytest.fixture
def store(mongo: EmbeddedMongo) -> Iterator[Store]:
    db = Store.open(mongo.uri, db_name=f"test_{uuid.uuid4().hex[:12]}")
    try:
        yield db
    finally:
        db.client.drop_database(db.db.name)
        db.client.close()
