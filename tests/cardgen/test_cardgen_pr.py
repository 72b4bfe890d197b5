"""PR title, body and marker, and the dry-run diff."""

from __future__ import annotations

from collections.abc import Callable

from cardgen.card import propose_card
from cardgen.diff import card_diff
from cardgen.pr import marker, parse_marker, parse_markers, pr_body, pr_title
from store.types import EvaluationRecord

MakeRecords = Callable[..., list[EvaluationRecord]]

REPO_ID = "acme/distilbert-emotion"
SPACE_URL = "https://huggingface.co/spaces/evalbot/results"
SHA = "0123456789abcdef0123456789abcdef01234567"


def body_for(records: list[EvaluationRecord]) -> tuple[str, str]:
    change = propose_card(None, records, repo_id=REPO_ID, space_url=SPACE_URL)
    body = pr_body(change, records, repo_id=REPO_ID, space_url=SPACE_URL, code_version="0.1.0")
    return body, change.result_hash


def test_title(make_records: MakeRecords) -> None:
    records = make_records()
    assert pr_title(records) == "Add evaluation results on dair-ai/emotion (evalbot)"
    both = records + make_records(dataset_id="stanfordnlp/sst2", dataset_config=None)
    assert (
        pr_title(both) == "Add evaluation results on dair-ai/emotion and stanfordnlp/sst2 (evalbot)"
    )


def test_body_says_what_how_and_how_to_opt_out(records: list[EvaluationRecord]) -> None:
    body, _ = body_for(records)

    for fact in (
        "`dair-ai/emotion` (config `split`), split `test` at revision `cab853a`",
        "5 examples on `cpu`, batch size 8",
        "| `dair-ai/emotion` | `test` | 0.8000 | 0.7619 | 0.8750 | 0.7500 |",
        f"evalbot evaluate {REPO_ID}@{SHA} --dry-run",
        f"({SPACE_URL}/?view=model&model={REPO_ID})",
        "never marks results as `verified`",
        "Add the tag `no-evalbot` to the model card",
        "Close this PR without merging and evalbot opens no further PRs, comments or commits here "
        "until you add the tag `evalbot` to the card or reopen this PR",
        "the results are still evaluated and shown on the Space",
        "Merging it is a thanks, not a no.",
        "perturbed variants of these datasets (typos)",
    ):
        assert fact in body, fact


def test_marker_round_trips(records: list[EvaluationRecord]) -> None:
    body, result_hash = body_for(records)

    assert parse_marker(body) == (result_hash, SHA)
    assert body.splitlines()[-1] == marker(result_hash, SHA)
    assert parse_marker("A PR someone else opened.") is None


def test_the_last_marker_wins() -> None:
    first, last = marker("1" * 64, "a" * 40), marker("2" * 64, "b" * 40)

    assert parse_markers(f"{first}\ntext\r\n{last}\r\n") == [
        ("1" * 64, "a" * 40),
        ("2" * 64, "b" * 40),
    ]
    assert parse_marker(f"{first}\n{last}") == ("2" * 64, "b" * 40)
    assert parse_marker(f"{first}\nquoted: {last}") == ("1" * 64, "a" * 40)  # not a line of its own
    assert parse_marker(f"{first}  \n") == ("1" * 64, "a" * 40)


def test_diff() -> None:
    diff = card_diff("a\nb", "a\nc\n", repo_id=REPO_ID)
    assert diff.splitlines() == [
        f"--- a/{REPO_ID}/README.md",
        f"+++ b/{REPO_ID}/README.md",
        "@@ -1,2 +1,2 @@",
        " a",
        "-b",
        "\\ No newline at end of file",
        "+c",
    ]
    assert card_diff("same\r\n", "same\r\n", repo_id=REPO_ID) == ""


def test_diff_of_a_new_card(records: list[EvaluationRecord]) -> None:
    text = propose_card(None, records, repo_id=REPO_ID, space_url=SPACE_URL).text
    lines = card_diff(None, text, repo_id=REPO_ID).splitlines()
    assert lines[0] == "--- /dev/null"
    assert all(line.startswith("+") for line in lines[3:])
    assert len(lines) == 3 + len(text.splitlines())


def test_inferred_training_data_is_said_in_the_body_and_the_section(
    make_records: MakeRecords,
) -> None:
    from dataclasses import replace

    from store.types import Selection

    evidence = "its config.json labels are exactly Emotion's six classes"
    records = [replace(r, selection=Selection("labels", evidence)) for r in make_records()]
    body, _ = body_for(records)
    change = propose_card(None, records, repo_id=REPO_ID, space_url=SPACE_URL)

    said = (
        "The card names no training dataset: evalbot assumed this model was trained on "
        f"`dair-ai/emotion` because {evidence} (rule: labels)."
    )
    assert "### Training data we assumed" in body and said in body
    assert body.count(said) == 1  # once, not once per perturbed variant
    assert said in change.text
    declared, _ = body_for(make_records())
    assert "assumed" not in declared
