"""The Space in a real browser (Debian's headless Chromium through Playwright) over the demo
data: one real bot cycle over the sandbox demo world, its store exported as the results dataset's
Parquet tables, the Space served from those files alone (no MongoDB), then every view, clicked
through. Expected values come from the bot's store and from ``space.queries`` on the same files.

Screenshots go to ``tests/artifacts/space/`` (ignored by git, kept by CI as artifacts).
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from huggingface_hub import HfApi, snapshot_download
from playwright.sync_api import Browser, Page, expect, sync_playwright

from bot.space_deploy import deploy_space, serve_checkout
from sandbox.seed import seed_world
from sandbox.server import RunningSandbox
from sandbox.world_detection import COCO_ID, DETR_ID, build_detection_world
from space import queries as q
from space.data import Snapshot
from store.db import Store
from store.embedded import EmbeddedMongo
from store.types import ClaimRecord
from tests.demo_cycle import DemoCycle, copy_database

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "tests" / "artifacts" / "space"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TIMEOUT_MS = 30_000
# `expect` waits 5 s by default: too short for a Gradio event on a loaded two-core machine
expect.set_options(timeout=TIMEOUT_MS)
RESULTS = "evalbot/results"  # config/bot.yaml's results_dataset
SPACE = "evalbot/explorer"
# gradio's own use of pandas, not ours
pytestmark = [
    pytest.mark.slow,  # a browser, a served Space and a bot cycle over the demo world
    pytest.mark.filterwarnings("ignore:'future.no_silent_downcasting' is deprecated"),
    pytest.mark.filterwarnings("ignore:The copy keyword is deprecated"),
]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def demo_db(
    demo_cycle: DemoCycle, mongo: EmbeddedMongo, tmp_path_factory: pytest.TempPathFactory
) -> str:
    """A database filled by one real `evalbot run --once` over the demo world (a copy of the
    session's, tests/demo_cycle.py: this module adds to it)."""
    db_name = f"space_{uuid.uuid4().hex[:10]}"
    copy_database(mongo.uri, demo_cycle.db_name, db_name)
    writer = Store.open(mongo.uri, db_name=db_name)
    try:  # a claims audit, written as the bot writes them
        model = writer.get_model("demo/vit-digits")
        assert model is not None
        writer.save_claims(
            "demo/vit-digits",
            model.sha,
            [
                ClaimRecord(
                    model_id="demo/vit-digits",
                    model_sha=model.sha,
                    dataset_id="ylecun/mnist",
                    split="test",
                    metric="accuracy",
                    claimed=0.99,
                    measured=0.5,
                    low=0.45,
                    high=0.55,
                    agrees=False,
                    verdict="claims 49.0 points more than measured",
                )
            ],
        )
        # its author closed evalbot's PR #1; MNIST's module lost its dataset (as the bot records)
        writer.set_declined("demo/vit-digits", 1, by="demo")
        writer.record_module_problem("mnist", "digest", "ylecun/mnist: no column <label>")
    finally:
        writer.client.close()
    # a detector on the COCO stand-in, evaluated and stored as `evalbot evaluate` does
    hub = demo_cycle.hub
    seed_world(build_detection_world(), endpoint=hub.url, token=hub.tokens["demo"])
    home = tmp_path_factory.mktemp("detection-hf-home")
    _evalbot(_bot_env(hub, mongo, db_name, home), "evaluate", DETR_ID)
    return db_name


@pytest.fixture(scope="module")
def db(mongo: EmbeddedMongo, demo_db: str) -> Iterator[Store]:
    store = Store.open(mongo.uri, db_name=demo_db, read_only=True)
    yield store
    store.client.close()


def _bot_env(hub: RunningSandbox, mongo: EmbeddedMongo, db_name: str, home: Path) -> dict[str, str]:
    return {
        **os.environ,
        "HF_ENDPOINT": hub.url,
        "HF_TOKEN": hub.tokens["evalbot"],
        "HF_HOME": str(home),
        "HF_HUB_DISABLE_XET": "1",
        "MONGODB_URI": mongo.uri,
        "EVALBOT_DB": db_name,
        "EVALBOT_CONFIG": str(ROOT / "config"),
    }


def _evalbot(env: dict[str, str], *args: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bot.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr[-3000:]


@pytest.fixture(scope="module")
def published(
    demo_hub: RunningSandbox,
    mongo: EmbeddedMongo,
    demo_db: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> Path:
    """The results dataset as the bot publishes it on the Hub (``evalbot publish-results``, after
    the test's own additions to the store), downloaded: what the Space reads."""
    env = _bot_env(demo_hub, mongo, demo_db, tmp_path_factory.mktemp("publish-hf-home"))
    _evalbot(env, "publish-results")
    root = tmp_path_factory.mktemp("space-results")
    snapshot_download(
        RESULTS, repo_type="dataset", local_dir=root, endpoint=demo_hub.url, token=False
    )
    return root


@pytest.fixture(scope="module")
def data(published: Path) -> Snapshot:
    return Snapshot.open(published, revision="demo")


@pytest.fixture(scope="module")
def space_url(
    published: Path, demo_hub: RunningSandbox, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """The Space as the Hub runs it: deployed with `evalbot space deploy`'s code to a Space repo,
    then a checkout of that repo served alone (``python app.py``, no MongoDB setting, no token),
    reading the results dataset from the Hub."""
    api = HfApi(endpoint=demo_hub.url, token=demo_hub.tokens["evalbot"])
    deploy_space(SPACE, dataset=RESULTS, api=api, on_step=lambda line: None)
    home = tmp_path_factory.mktemp("space-checkout-home")
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("MONGODB", "EVALBOT", "HF_"))
    } | {"HF_ENDPOINT": demo_hub.url, "HF_HOME": str(home), "HF_HUB_DISABLE_XET": "1"}
    served = serve_checkout(SPACE, home / "checkout", port=_free_port(), env=env)
    assert "MONGODB_URI" not in Path(f"/proc/{served.process.pid}/environ").read_text()
    yield f"{served.url}/"
    served.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Browser, request: pytest.FixtureRequest) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    tab = context.new_page()
    tab.set_default_timeout(TIMEOUT_MS)
    errors: list[str] = []
    tab.on("pageerror", lambda exc: errors.append(str(exc)))
    yield tab
    tab.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"), full_page=True)
    context.close()
    assert not errors, errors


def shot(page: Page, name: str) -> None:
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def open_view(page: Page, base: str, query: str, ready: str) -> None:
    page.goto(base + query)
    page.wait_for_selector(ready)


def table_rows(page: Page, selector: str) -> list[list[str]]:
    rows = page.locator(f"{selector} tbody tr")
    return [
        [c.strip() for c in rows.nth(i).locator("td").all_inner_texts()]
        for i in range(rows.count())
    ]


ROW = '[role="row"][data-index]'  # a body row of a Gradio Dataframe


def grid_rows(page: Page, selector: str) -> list[list[str]]:
    """The cells of a Gradio Dataframe (rows of ``role=gridcell`` divs), as shown."""
    rows: list[list[str]] = page.evaluate(
        """(sel) => [...document.querySelectorAll(sel + ' [role="row"][data-index]')].map(
            (r) => [...r.querySelectorAll('[role="gridcell"]')].map((c) => c.innerText.trim()))""",
        selector,
    )
    return rows


def grid_headers(page: Page, selector: str) -> list[str]:
    return [
        h.strip() for h in page.locator(f"{selector} thead [role=columnheader]").all_inner_texts()
    ]


def pick(page: Page, elem_id: str, option: str) -> None:
    """Choose ``option`` in a Gradio dropdown, as a user does."""
    page.locator(f"#{elem_id} input").click()
    page.locator(f'#{elem_id} li[role="option"][aria-label="{option}"]').click()


def no_traceback(page: Page) -> None:
    body = page.locator("body").inner_text()
    assert "Traceback" not in body and "Error" not in body.replace("calibration error", "")


# -- the views -------------------------------------------------------------------------------


def test_models_view_filters_sorts_and_pages(page: Page, space_url: str, db: Store) -> None:
    open_view(page, space_url, "?view=models", "#models-list")
    rows = table_rows(page, "#models-list")
    assert [r[0] for r in rows] == sorted(m.repo_id for m in db.list_models())
    assert {r[0] for r in rows if r[8] == "declined"} == {"demo/vit-digits"}
    assert f"Page 1 / 1 · {len(rows)} models" in page.locator("#models-info").inner_text()
    page.locator("#models-search textarea, #models-search input").first.fill("digits")
    page.locator("#models-search textarea, #models-search input").first.press("Enter")
    expect(page.locator("#models-info")).to_contain_text("2 models")
    assert [r[0] for r in table_rows(page, "#models-list")] == [
        "demo/timm-digits",
        "demo/vit-digits",
    ]
    expect(page.locator("#models-link")).to_contain_text("q=digits")  # the shareable URL
    page.locator("#models-search textarea, #models-search input").first.fill("")
    pick(page, "models-failure", "unknown labels")
    expect(page.locator("#models-info")).to_contain_text("1 models")
    (row,) = table_rows(page, "#models-list")
    assert row[0] == "demo/emotion-es" and row[7] == "unknown labels"
    shot(page, "models_filtered")
    open_view(page, space_url, "?view=models&per_page=2&sort=parameters&order=desc", "#models-list")
    pages = -(-len(rows) // 2)
    expect(page.locator("#models-info")).to_contain_text(f"Page 1 / {pages}")
    biggest = max(
        (m for m in db.list_models() if m.num_parameters), key=lambda m: m.num_parameters or 0
    )
    assert table_rows(page, "#models-list")[0][0] == biggest.repo_id
    page.locator("#models-next").click()
    expect(page.locator("#models-info")).to_contain_text(f"Page 2 / {pages}")


def test_model_view_from_a_pr_link(page: Page, space_url: str, db: Store) -> None:
    open_view(page, space_url, "?model=demo/vit-digits", "#model-name")  # the form PRs link to
    assert page.locator("#model-name").inner_text() == "demo/vit-digits"
    expect(page.locator("#model-declined a")).to_have_attribute(
        "href", re.compile(r"/demo/vit-digits/discussions/1$")
    )
    shot(page, "model_declined")
    model = db.get_model("demo/vit-digits")
    assert model is not None
    (original,) = [
        r for r in db.results_for(model.repo_id, model.evaluated_sha) if r.variant == "original"
    ]
    rows = table_rows(page, "#model-results")
    first = next(r for r in rows if r[2] == "original")
    assert first[3].startswith(f"{original.metrics['accuracy']:.3f}")
    assert any(r[0] == "model.safetensors" for r in table_rows(page, "#model-files"))
    assert table_rows(page, "#model-hyperparameters")
    claims = table_rows(page, "#model-claims")
    assert claims[0][5] == "claims 49.0 points more than measured"
    page.locator("#model-results a", has_text="results").first.click()
    page.wait_for_selector("#result-title")
    assert "demo/vit-digits on MNIST" in page.locator("#result-title").inner_text()


def test_failed_model_and_unknown_names_read_as_sentences(page: Page, space_url: str) -> None:
    open_view(page, space_url, "?view=model&model=demo/emotion-es", "#model-name")
    assert "Not evaluated: unknown labels." in page.locator("#model-html").inner_text()
    open_view(page, space_url, "?view=model&model=nobody/nothing", ".evalbot-empty")
    assert "No model named nobody/nothing" in page.locator("#model-html").inner_text()
    open_view(page, space_url, "?view=result&model=nobody/x&dataset=ylecun/mnist", ".evalbot-empty")
    assert "holds no result" in page.locator("#result-header").inner_text()
    open_view(page, space_url, '?view=models&q={"$gt":""}', ".evalbot-empty")
    no_traceback(page)


def test_result_view_classes_confusion_errors_calibration(
    page: Page, space_url: str, data: Snapshot
) -> None:
    open_view(
        page, space_url, "?view=result&model=demo/vit-digits&dataset=ylecun/mnist", "#result-title"
    )
    detail = q.result_detail(data, "demo/vit-digits", "ylecun/mnist")
    assert detail is not None
    runtime = table_rows(page, "#result-runtime")[0]
    assert runtime[0] == str(detail.summary.num_examples)
    variants = [r[0] for r in table_rows(page, "#result-variants")]
    assert variants == [v.variant for v in detail.variants] and len(variants) > 1
    # per-class table (sortable Dataframe) and chart with metric toggles
    table = page.locator("#result-table")
    expect(table.locator(ROW)).to_have_count(len(detail.classes))
    recall_3 = next(c.recall for c in detail.classes if c.label == "3")
    page.locator("#result-filter textarea, #result-filter input").first.fill("3")
    page.locator("#result-filter textarea, #result-filter input").first.press("Enter")
    expect(table.locator(ROW)).to_have_count(1)
    expect(table.locator(ROW).first).to_contain_text(f"{recall_3:.3f}")
    page.locator("#result-filter textarea, #result-filter input").first.fill("")
    pick(page, "result-sort", "recall")
    page.locator("#result-desc input").check()
    best = max(detail.classes, key=lambda c: (c.recall or 0.0, -c.class_id))
    expect(table.locator(ROW)).to_have_count(len(detail.classes))
    expect(table.locator(ROW).first).to_contain_text(f"{best.recall:.3f}")
    expect(page.locator("#result-chart .legendtext")).to_have_count(3)
    page.locator("#result-metrics label", has_text="precision").click()
    expect(page.locator("#result-chart .legendtext")).to_have_count(2)
    legend = page.locator("#result-chart .legendtext").all_text_contents()
    assert legend == [m.short for m in detail.spec.class_metrics() if m.key != "precision"]
    # confusion matrix: opens on the most confused classes; the picker adds one
    expected = []
    for t, p, _ in q.most_confused(detail.confusion, 3):
        for i in (t, p):
            if detail.labels[i] not in expected:
                expected.append(detail.labels[i])
    chips = page.locator("#result-classes .token").all_inner_texts()
    assert [c.strip() for c in chips] == expected
    ticks_before = page.locator("#result-confusion .yaxislayer-above .ytick").count()
    assert ticks_before == len(expected)
    extra = next(label for label in detail.labels if label not in expected)
    pick(page, "result-classes", extra)
    expect(page.locator("#result-confusion .yaxislayer-above .ytick")).to_have_count(
        len(expected) + 1
    )
    page.keyboard.press("Escape")
    # misclassifications: most confident first; a pair filter
    first_error = table_rows(page, "#errors-table")[0]
    top = detail.misclassifications[0].item
    assert first_error[:4] == [
        str(top.example_id),
        top.true_label,
        top.predicted_label,
        f"{top.confidence:.3f}",
    ]
    assert page.locator("#result-gallery img").count() > 0
    pair = f"{top.true_label} → {top.predicted_label}"
    pick(page, "result-pair", pair)
    page.wait_for_function(
        "() => [...document.querySelectorAll('#errors-table tbody tr')].every(r => r.children[1].innerText + ' → ' + r.children[2].innerText === "
        + repr(pair).replace("'", '"')
        + ")"
    )
    # calibration reliability diagram
    assert detail.calibration is not None
    expect(page.locator("#result-calibration .gtitle")).to_contain_text(
        f"ECE {detail.calibration.ece:.3f}"
    )
    shot(page, "result_view")


def test_variant_comparison_absolute_and_relative(
    page: Page, space_url: str, data: Snapshot
) -> None:
    open_view(
        page,
        space_url,
        "?view=variants&model=demo/timm-digits&dataset=ylecun/mnist&metric=recall",
        "#variants-plot .legendtext",
    )
    cmp = q.variant_comparison(data, "demo/timm-digits", "ylecun/mnist", metric="recall")
    assert cmp is not None
    headers = grid_headers(page, "#variants-table")
    assert headers[: len(cmp.variants) + 1] == ["class", *cmp.variants]
    page.locator("#variants-mode label", has_text="relative").click()
    expect(page.locator("#variants-info")).to_contain_text("relative to the original")
    variant = cmp.variants[1]
    delta = cmp.values[variant][0] - cmp.values["original"][0]  # type: ignore[operator]
    expect(page.locator(f"#variants-table {ROW}").first).to_contain_text(f"{delta:.3f}")


def test_model_comparison(page: Page, space_url: str, data: Snapshot) -> None:
    ids = ["demo/timm-digits", "demo/vit-digits"]
    open_view(
        page,
        space_url,
        f"?view=compare&dataset=ylecun/mnist&models={','.join(ids)}",
        "#compare-speed",
    )
    rows = table_rows(page, "#compare-speed")
    assert [r[0] for r in rows] == ids
    for row, repo_id in zip(rows, ids, strict=True):
        (s,) = [r for r in q.model_detail(data, repo_id).results if r.variant == "original"]  # type: ignore[union-attr]
        assert row[3] == f"{s.instances_per_s:.1f}"
    expect(page.locator("#compare-plot .legendtext")).to_have_count(2)
    # is the difference real: McNemar's test and the paired bootstrap, from the stored outcomes
    cmp = q.compare_models(data, "ylecun/mnist", ids)
    test = q.paired_test(data, cmp.models[0], cmp.models[1], "ylecun/mnist")
    assert test.problem == "" and test.accuracy is not None and test.macro_f1 is not None
    assert test.n == cmp.models[0].summary.num_examples
    accuracies = [m.summary.metrics["accuracy"] for m in cmp.models]
    assert test.accuracy.diff == pytest.approx(accuracies[1] - accuracies[0])  # type: ignore[operator]
    (row,) = table_rows(page, "#compare-significance")
    assert row[0] == ids[1] and row[1] == str(test.n)
    assert row[2] == f"{test.accuracy.only_a} / {test.accuracy.only_b}"
    for line in test.verdicts():
        assert line in row[4]
    assert re.search(r"(is better than \S+ on|are not separable on) accuracy .*\(p [=<] ", row[4])
    open_view(
        page,
        space_url,
        "?view=compare&dataset=ylecun/mnist&models=demo/vit-digits",
        ".evalbot-empty",
    )
    assert "two or more models" in page.locator("#compare-info").inner_text()


def test_dataset_view(page: Page, space_url: str, data: Snapshot) -> None:
    open_view(page, space_url, "?view=dataset&dataset=ylecun/mnist", "#dataset-name")
    expect(page.locator("#dataset-problem")).to_contain_text(
        "cannot currently be used for new evaluations (module mnist"
    )
    expect(page.locator("#dataset-problem")).to_contain_text("no column <label>")  # as text
    shot(page, "dataset_problem")
    d = q.dataset_detail(data, "ylecun/mnist")
    assert d is not None
    assert len(table_rows(page, "#dataset-classes")) == len(d.labels) == 10
    assert page.locator("#dataset-classes img.example-thumb").count() > 0
    counts = {r[0]: r[2] for r in table_rows(page, "#dataset-variants")}
    assert counts == {v.variant: str(v.models) for v in d.evaluated}
    assert table_rows(page, "#dataset-splits")[0][2] == str(d.splits[0].num_examples)
    open_view(page, space_url, "?view=dataset&dataset=dair-ai/emotion", "#dataset-name")
    assert page.locator("#dataset-classes .example-text").count() > 0


def test_scatterplot_click_opens_the_result(page: Page, space_url: str, data: Snapshot) -> None:
    open_view(
        page, space_url, "?view=scatter&dataset=ylecun/mnist", "#scatter-plot .scatterlayer .point"
    )
    points = q.model_points(data, "ylecun/mnist")
    expect(page.locator("#scatter-plot .scatterlayer .point")).to_have_count(len(points))
    assert f"Plotting {len(points)} models" in page.locator("#scatter-info").inner_text()
    table = {r[0] for r in grid_rows(page, "#scatter-table")}
    assert table == {p.model_id for p in points}
    pick(page, "scatter-y", "weights (MB)")
    expect(page.locator("#scatter-info")).to_contain_text("versus weights (MB)")
    page.wait_for_timeout(1500)  # the new figure and its click handler
    page.locator("#scatter-plot .scatterlayer .point").first.click(force=True)
    page.wait_for_url("**view=result**")
    page.wait_for_selector("#result-title")
    assert "on MNIST" in page.locator("#result-title").inner_text()


def test_leaderboard_reweights(page: Page, space_url: str, data: Snapshot) -> None:
    open_view(
        page, space_url, "?view=leaderboard&dataset=ylecun/mnist", f"#leaderboard-table {ROW}"
    )
    expect(page.locator(f"#leaderboard-table {ROW}")).to_have_count(2)
    points = q.model_points(data, "ylecun/mnist")
    fastest = max(points, key=lambda p: p.instances_per_s or 0).model_id
    slowest = min(points, key=lambda p: p.instances_per_s or 0).model_id
    weights = "&".join(
        f"w_{d}=0" for d in ("accuracy", "robustness", "calibration", "balance", "size")
    )
    open_view(
        page,
        space_url,
        f"?view=leaderboard&dataset=ylecun/mnist&{weights}&w_speed=1",
        f"#leaderboard-table {ROW}",
    )
    expect(page.locator(f"#leaderboard-table {ROW}").first).to_contain_text(fastest)
    expect(page.locator(f"#leaderboard-table {ROW}").nth(1)).to_contain_text(slowest)
    # both declare MNIST: the training-data filter keeps them, or none
    open_view(
        page,
        space_url,
        "?view=leaderboard&dataset=ylecun/mnist&training=declared",
        f"#leaderboard-table {ROW}",
    )
    expect(page.locator(f"#leaderboard-table {ROW}")).to_have_count(2)
    expect(page.locator("#leaderboard-training input[value=declared]")).to_be_checked()
    open_view(
        page,
        space_url,
        "?view=leaderboard&dataset=ylecun/mnist&training=inferred",
        "#leaderboard-info",
    )
    expect(page.locator("#leaderboard-info")).to_contain_text(
        "whose training data evalbot inferred"
    )


def test_leaderboard_groups_models_not_separable(page: Page, space_url: str) -> None:
    open_view(
        page, space_url, "?view=leaderboard&dataset=ylecun/mnist", f"#leaderboard-table {ROW}"
    )
    assert grid_headers(page, "#leaderboard-table")[:3] == ["rank", "group", "model"]
    groups = [row[1] for row in grid_rows(page, "#leaderboard-table")]
    assert groups[0] == "1" and all(g.isdigit() for g in groups), groups
    expect(page.locator("#leaderboard-groups-note")).to_contain_text(
        "not separable from the one above them at p < 0.05 on this data"
    )


def test_detector_result_shows_its_classes_and_errors(
    page: Page, space_url: str, data: Snapshot
) -> None:
    open_view(
        page, space_url, f"?view=result&model={DETR_ID}&dataset={COCO_ID}", "#detection-classes"
    )
    expect(page.locator("#detection-overall")).to_be_visible()
    expect(page.locator("#detection-classes tbody tr").first).to_be_visible()
    expect(page.locator("#detection-gallery img").first).to_be_visible()
    expect(page.locator("#result-table")).to_be_hidden()  # the classification table is not shown
    no_traceback(page)
    open_view(
        page,
        space_url,
        f"?view=variants&model={DETR_ID}&dataset={COCO_ID}",
        "#detection-robustness",
    )
    expect(page.locator("#detection-robustness tbody tr").first).to_contain_text("original")


def test_query_form_ranks_by_a_class_metric(page: Page, space_url: str, data: Snapshot) -> None:
    query = "?view=find&dataset=dair-ai/emotion&class=joy&variant=lowercase&metric=recall"
    open_view(page, space_url, query, f"#find-table {ROW}")
    points = q.model_points(data, "dair-ai/emotion", variant="lowercase", class_label="joy")
    ranked = sorted(points, key=lambda p: (-(p.class_metrics["recall"] or 0), p.model_id))
    rows = page.locator(f"#find-table {ROW}")
    expect(rows).to_have_count(len(ranked))
    expect(rows.first).to_contain_text(ranked[0].model_id)
    expect(rows.first).to_contain_text(f"{ranked[0].class_metrics['recall']:.3f}")
    page.locator("#find-min input").fill("1000000000")
    page.locator("#find-show").click()
    expect(page.locator("#find-info")).to_contain_text("None of the")


def test_audit_lists_discrepancies_and_the_key(page: Page, space_url: str, db: Store) -> None:
    open_view(page, space_url, "?view=audit", "#audit-discrepancies")
    rows = table_rows(page, "#audit-discrepancies")
    assert len(rows) == len(db.discrepancies())
    assert any(r[0] == "demo/vit-digits" and "49.0 points" in r[6] for r in rows)
    identity = db.get_identity()
    assert identity is not None
    assert page.locator("#key-id").inner_text() == identity.key_id
    assert "BEGIN PUBLIC KEY" in page.locator("#public-key").inner_text()
