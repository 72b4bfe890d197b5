"""The Coverage and Label errors pages in a real browser, over the demo data as the bot publishes
it (the demo world, one bot cycle, ``evalbot publish-results``; the Space served from the
published files alone: the fixtures of ``tests/space/test_browser.py``). Expected numbers come
from the bot's store: ``bot.coverage.measure`` and the stored results."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from bot.coverage import measure
from space.pages.label_errors import MIN_MODELS
from store.db import Store
from store.types import CoverageOutcome
from tests.space import test_browser
from tests.space.test_browser import no_traceback, open_view, table_rows

# the browser tests' fixtures, found by pytest by name: this module gets its own published copy
# of the demo data and its own Space
browser = test_browser.browser
data = test_browser.data
db = test_browser.db
demo_db = test_browser.demo_db
page = test_browser.page
published = test_browser.published
space_url = test_browser.space_url

pytestmark = [
    pytest.mark.slow,  # a browser, a served Space and a bot cycle over the demo world
    pytest.mark.filterwarnings("ignore:'future.no_silent_downcasting' is deprecated"),
    pytest.mark.filterwarnings("ignore:The copy keyword is deprecated"),
]

EMOTION = "dair-ai/emotion"
FILL_MASK = "demo/tiny-fill-mask"
MYSTERY = "demo/mystery-classifier"


def _headers(page: Page, selector: str) -> list[str]:
    return [h.strip() for h in page.locator(f"{selector} thead th").all_inner_texts()]


def _by_key(page: Page, selector: str) -> dict[str, dict[str, str]]:
    """A table's rows as ``{first cell: {header: cell}}``."""
    headers = _headers(page, selector)
    return {r[0]: dict(zip(headers, r, strict=True)) for r in table_rows(page, selector)}


def test_coverage_counts_what_discovery_saw(page: Page, space_url: str, db: Store) -> None:
    census = {s.repo_id: s for s in db.sightings()}
    assert census[FILL_MASK].outcome is CoverageOutcome.UNSUPPORTED_TASK
    assert census[MYSTERY].outcome is CoverageOutcome.NO_TRAINING_DATASET
    expected = measure(db)
    by_task = {r.key: r for r in expected.views["task"]}
    overall = expected.views["overall"][0]

    open_view(page, space_url, "?view=coverage&by=task", "#coverage-table")
    counts = _by_key(page, "#coverage-table")
    reasons = _by_key(page, "#coverage-reasons")
    assert set(counts) == set(by_task)
    fill = counts["fill-mask"]
    assert (fill["found"], fill["queued"], fill["not queued"]) == ("1", "0", "1")
    assert reasons["fill-mask"]["not queued: unsupported task"] == "1"
    for key, row in by_task.items():
        shown = counts[key]
        assert [shown[m] for m in ("found", "queued", "evaluated", "failed", "pending")] == [
            str(row.found),
            str(row.queued),
            str(row.evaluated),
            str(row.failed),
            str(row.pending),
        ]
        for reason, n in row.not_queued.items():
            assert reasons[key][f"not queued: {reason}"] == str(n)
    mystery_task = census[MYSTERY].pipeline_tag or "(none)"
    no_dataset = reasons[mystery_task]["not queued: no training dataset"]
    assert no_dataset == str(by_task[mystery_task].not_queued["no training dataset"])
    assert int(no_dataset) >= 1
    expect(page.locator("#coverage-plot .js-plotly-plot")).to_be_visible()

    # the view picker, as a visitor uses it: the overall counts
    page.locator("#coverage-by label", has_text="overall").click()
    expect(page.locator("#coverage-table tbody tr td").first).to_have_text("all")
    total = _by_key(page, "#coverage-table")["all"]
    assert (total["found"], total["evaluated"]) == (str(overall.found), str(overall.evaluated))
    assert _by_key(page, "#coverage-reasons")["all"]["not queued: no training dataset"] == str(
        overall.not_queued["no training dataset"]
    )
    expect(page.locator("#coverage-claims")).to_be_visible()
    no_traceback(page)


def test_label_errors_need_more_models(page: Page, space_url: str, db: Store) -> None:
    open_view(page, space_url, f"?view=label-errors&dataset={EMOTION}", "#label-errors-method")
    split = page.locator("#label-errors-split input").input_value()
    models = db.results.distinct(
        "model_id", {"dataset_id": EMOTION, "split": split, "variant": "original"}
    )
    assert 0 < len(models) < MIN_MODELS
    verb = "is" if len(models) == 1 else "are"
    expect(page.locator("#label-errors-method")).to_contain_text(
        f"need at least {MIN_MODELS} models evaluated on the split; {len(models)} {verb}."
    )
    assert page.locator("#label-errors-table").count() == 0
    # the dataset page links here
    open_view(page, space_url, f"?view=dataset&dataset={EMOTION}", "#dataset-name")
    page.locator("#dataset-html a", has_text="Label errors").click()
    expect(page.locator("#label-errors-method")).to_contain_text(f"{len(models)} {verb}.")
    no_traceback(page)
