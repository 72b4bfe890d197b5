"""Shared by the corpus tests: the records a card is edited with."""

from __future__ import annotations

import pytest

from store.types import EvaluationRecord
from tests.cardgen.conftest import make_records

REPO_ID = "acme/distilbert-emotion"  # the records' model
SPACE_URL = "https://huggingface.co/spaces/evalbot/results"


@pytest.fixture
def records() -> list[EvaluationRecord]:
    return make_records()
