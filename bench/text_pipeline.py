"""Text classification: evalbot's ``TextClassifier.predict`` against its ceiling and against
``evaluate``'s evaluator, on the demo MiniLM classifier and the emotion test split (CPU).

- bare forward: tokenisation done beforehand, one padded tensor per batch of 32 in dataset
  order, ``model(**batch).logits.argmax(-1)`` under ``inference_mode``: the ceiling;
- evalbot: ``TextClassifier.predict(texts, Options(batch_size=32))`` (tokenises, softmax, confidences);
- evaluator: ``evaluate.evaluator("text-classification").compute(model_or_pipeline=<folder>)``,
  which builds a transformers pipeline and runs it one text at a time; its own timing of the
  pipeline call is used (model loading and the metric are not counted against it).

``BENCH text_vs_forward`` = evalbot ÷ bare forward; ``BENCH text_vs_evaluator`` = evalbot ÷
evaluator (examples/s).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from typing import Any

import evaluate
import numpy as np
import torch

from bench.common import (
    LocalAccuracy,
    Report,
    evaluator_seconds,
    fastest,
    quiet,
    split,
    timed,
    world,
)
from evaluators.predictions import Options
from evaluators.text_classification import TextClassifier

MODEL = "demo/minilm-emotion"
DATASET = "dair-ai/emotion"


def main(
    report: Report,
    *,
    repeats: int = 5,
    batch_size: int = 32,
    chunk: int = 60,
) -> None:
    spec = world().model(MODEL)
    data = split(DATASET)
    texts = [str(t) for t in data["text"]]
    n = len(texts)
    clf = TextClassifier.load(spec.repo_id, spec.path, torch.device("cpu"))
    print(f"text: {MODEL}, {DATASET} test, {n} examples, batch size {batch_size}", flush=True)

    def tokenise(rows: Sequence[int]) -> Any:
        return clf.tokenizer(  # type: ignore[operator]
            [texts[i] for i in rows],
            padding=True,
            truncation=True,
            max_length=128,
            return_tensors="pt",
        )

    def bare_unit(rows: Sequence[int]) -> Callable[[], float]:
        batch = tokenise(rows)

        def run() -> float:
            start = time.perf_counter()
            with torch.inference_mode():
                clf.model(**batch).logits.argmax(-1)
            return time.perf_counter() - start

        return run

    def ours_unit(rows: Sequence[int]) -> Callable[[], float]:
        batch = [texts[i] for i in rows]
        return timed(lambda: clf.predict(batch, Options(batch_size=batch_size, max_length=128)))

    # The evaluator maps the pipeline's label names to dataset ids through label_mapping (model
    # class i is dataset class i for the demo models).
    id2label = json.loads((spec.path / "config.json").read_text())["id2label"]
    mapping = {name: int(i) for i, name in id2label.items()}
    task = evaluate.evaluator("text-classification")

    def evaluator_unit(rows: range) -> Callable[[], float]:
        def run() -> float:
            result = task.compute(
                model_or_pipeline=str(spec.path),
                data=data.select(rows),
                metric=LocalAccuracy(),
                label_mapping=mapping,
            )
            return evaluator_seconds(result)

        return run

    # predict sorts the texts by length and cuts the sorted list into batches; a unit here is
    # one of those batches, so evalbot does exactly its own work, batch by batch. The evaluator
    # runs in chunks of rows, one compute each (each builds its pipeline anew, untimed).
    order = np.argsort([len(t) for t in texts], kind="stable")
    in_order = [range(i, min(i + batch_size, n)) for i in range(0, n, batch_size)]
    by_length = [order[i : i + batch_size].tolist() for i in range(0, n, batch_size)]
    best = fastest(
        {
            "bare": [bare_unit(rows) for rows in in_order],
            "sorted": [bare_unit(rows) for rows in by_length],
            "ours": [ours_unit(rows) for rows in by_length],
            "evaluator": [evaluator_unit(range(i, min(i + chunk, n))) for i in range(0, n, chunk)],
        },
        repeats=repeats,
        budget_s=60,
    )
    bare_rate = report.row("text", "bare forward (pre-tokenised, dataset order)", n, best["bare"])
    report.row("text", "  bare forward (pre-tokenised, length-sorted batches)", n, best["sorted"])
    ours_rate = report.row("text", "evalbot TextClassifier.predict (tokenises)", n, best["ours"])
    eval_rate = report.row(
        "text", "evaluate text-classification evaluator (batch 1)", n, best["evaluator"]
    )

    report.add("text_vs_forward", ours_rate / bare_rate)
    report.add("text_vs_evaluator", ours_rate / eval_rate)


if __name__ == "__main__":
    quiet()
    r = Report()
    main(r)
    r.print()
