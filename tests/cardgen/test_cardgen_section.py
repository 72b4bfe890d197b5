"""The Markdown section: tables, n/a, label mapping, escaping, line breaks."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from cardgen.section import END, HEADING, START, code, render_section
from store.types import Calibration, CalibrationBin, ClassResult, EvaluationRecord, Interval

MakeRecords = Callable[..., list[EvaluationRecord]]

REPO_ID = "acme/distilbert-emotion"
SPACE_URL = "https://huggingface.co/spaces/evalbot/results/"


def render(records: list[EvaluationRecord], newline: str = "\n") -> str:
    return render_section(records, repo_id=REPO_ID, space_url=SPACE_URL, newline=newline)


def test_section_layout(records: list[EvaluationRecord]) -> None:
    lines = render(records).split("\n")

    assert lines[0] == START
    assert lines[-1] == END
    assert lines.count(HEADING) == 1
    assert "### Emotion (`dair-ai/emotion`), split `test`" in lines
    sentence = next(line for line in lines if line.startswith("Model revision"))
    for fact in ("`0123456`", "`cab853a`", "config `split`", "5 examples", "`0.1.0`", "version 2"):
        assert fact in sentence
    assert "| accuracy | 0.8000 | n/a |" in lines  # no interval computed for this record
    assert "| F1 (macro) | 0.7619 | n/a |" in lines
    assert "| F1 (weighted) | 0.7810 | n/a |" in lines
    assert "| `sadness` | 0.750 | 1.000 | 0.857 | 3 | 3 | 1 | 0 |" in lines
    assert "| `surprise` | n/a | n/a | n/a | 0 | 0 | 0 | 0 |" in lines
    assert "Runtime: 100.0 instances/s on `cpu`, batch size 8." in lines
    assert "| `LABEL_0` | `sadness` |" in lines
    assert f"({SPACE_URL.rstrip('/')}/?view=model&model={REPO_ID})" in lines[-3]
    # the perturbed variant: its own row in the robustness table, its classes stay on the Space
    assert "| original | 0.8000 |  | 0.7619 |" in lines
    assert "| `typos` | 0.6000 | -20.0 points | n/a |" in lines
    assert "Calibration" not in "\n".join(lines)


def test_intervals_and_calibration(make_records: MakeRecords) -> None:
    calibration = Calibration(
        ece=0.0412,
        mce=0.125,
        bins=(
            CalibrationBin(0.0, 0.5, 0, None, None),
            CalibrationBin(0.5, 1.0, 5, 0.8, 0.76),
        ),
    )
    records = make_records(
        intervals={"accuracy": Interval(0.6, 1.0), "macro_f1": Interval(0.41, 0.9)},
        calibration=calibration,
    )
    lines = render(records).split("\n")
    assert "| accuracy | 0.8000 | 0.6000 – 1.0000 |" in lines
    assert "| F1 (macro) | 0.7619 | 0.4100 – 0.9000 |" in lines
    assert (
        "Calibration: expected calibration error (ECE) 0.0412, maximum 0.1250 over 1 non-empty "
        "confidence bins of 2 (0 is perfectly calibrated)."
    ) in lines


def test_identity_label_mapping_is_not_shown(make_records: MakeRecords) -> None:
    records = make_records(label_mapping={"sadness": "sadness", "joy": "joy"})
    assert "Label mapping" not in render(records)


def test_missing_metric_is_na(make_records: MakeRecords) -> None:
    records = make_records(metrics={"accuracy": 0.8, "weighted_f1": float("nan")})
    section = render(records)
    assert "| precision (macro) | n/a |" in section
    assert "| F1 (weighted) | n/a |" in section


def test_labels_cannot_break_the_table(make_records: MakeRecords) -> None:
    odd = ClassResult(0, "a|b `c` <unk>", 1, 0, 0, 1, precision=1.0, recall=1.0, f1=1.0)
    record = dataclasses.replace(make_records()[0], classes=(odd,))
    row = next(line for line in render([record]).split("\n") if "<unk>" in line)
    assert row.startswith("| ``a\\|b `c` <unk>`` | 1.000 |")
    assert code("`x`") == "`` `x` ``"
    assert code("plain") == "`plain`"


def test_crlf_section_has_no_bare_lf(records: list[EvaluationRecord]) -> None:
    section = render(records, newline="\r\n")
    assert section.count("\r\n") == section.count("\n") > 20
