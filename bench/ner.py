"""Token classification: evalbot's word-level prediction against a bare forward, on a MiniLM-sized
BERT token classifier (the real all-MiniLM-L6-v2 encoder with a random 9-tag head) and 1,024
seeded conll-like sentences of 3 to 40 words (CPU).

- bare forward: sub-tokenisation done beforehand, one padded tensor per batch of 32 in the
  pipeline's own (length-sorted) batches, ``model(**batch).logits.argmax(-1)`` under
  ``inference_mode``: the ceiling;
- evalbot: :func:`evaluators.token_classification.predict_split` over a split of the same batch
  (reads the words, sub-tokenises them, softmax, first sub-token of each word, confidences).

``BENCH ner_vs_forward`` = evalbot ÷ bare forward (sentences/s); the target is 0.85 or more.
"""

from __future__ import annotations

import random
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import torch

from bench.common import Report, fastest, quiet, timed
from evaluators.predictions import Options
from evaluators.token_classification import (
    TaggedSplit,
    TokenClassifier,
    length_order,
    predict_split,
)
from sandbox.world import minilm_path

TAGS = ("O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC", "B-MISC", "I-MISC")


def sentences(n: int, seed: int = 0) -> list[list[str]]:
    """``n`` sentences of 3 to 40 words drawn from the MiniLM vocabulary's whole words."""
    vocab = [w for w in (minilm_path() / "vocab.txt").read_text().split() if w.isalpha()]
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        words = [rng.choice(vocab) for _ in range(rng.randint(3, 40))]
        out.append([w.capitalize() if rng.random() < 0.2 else w for w in words])
    return out


def build_model(folder: Path) -> TokenClassifier:
    """The MiniLM encoder with a random token classification head, saved and loaded as evalbot
    loads a snapshot."""
    from transformers import AutoTokenizer, BertForTokenClassification

    torch.manual_seed(0)
    model = BertForTokenClassification.from_pretrained(
        minilm_path(),
        num_labels=len(TAGS),
        id2label=dict(enumerate(TAGS)),
        label2id={t: i for i, t in enumerate(TAGS)},
    )
    model.save_pretrained(folder, safe_serialization=True)
    AutoTokenizer.from_pretrained(minilm_path()).save_pretrained(folder)
    return TokenClassifier.load("bench/minilm-ner", folder, torch.device("cpu"))


def main(report: Report, *, n: int = 1024, repeats: int = 5, batch_size: int = 32) -> None:
    words = sentences(n)
    rng = np.random.default_rng(0)
    tags = tuple(rng.integers(0, len(TAGS), size=len(w)).astype(np.int64) for w in words)
    with tempfile.TemporaryDirectory(prefix="evalbot-bench-ner-") as tmp:
        # on the CPU the weights stay views of the saved file's pages: keep it while running
        run(report, build_model(Path(tmp)), words, tags, repeats=repeats, batch_size=batch_size)


def run(
    report: Report,
    clf: TokenClassifier,
    words: list[list[str]],
    tags: tuple[npt.NDArray[np.int64], ...],
    *,
    repeats: int,
    batch_size: int,
) -> None:
    n = len(words)
    max_length = clf.max_tokens(256)
    options = Options(batch_size=batch_size, max_length=256)
    print(f"ner: MiniLM token classifier, {n} sentences, batch size {batch_size}", flush=True)

    def bare_unit(rows: Sequence[int]) -> Callable[[], float]:
        batch = clf.tokenizer(
            [words[i] for i in rows],
            is_split_into_words=True,
            padding=True,
            truncation=True,
            max_length=max_length,
            return_tensors="pt",
        )

        def run() -> float:
            start = time.perf_counter()
            with torch.inference_mode():
                clf.model(**batch).logits.argmax(-1)
            return time.perf_counter() - start

        return run

    def ours_unit(rows: Sequence[int]) -> Callable[[], float]:
        part = TaggedSplit(
            dataset_id="bench/ner",
            revision="0" * 40,
            split="test",
            words=[words[i] for i in rows],
            tags=tuple(tags[i] for i in rows),
            tag_names=TAGS,
        )
        unit: Callable[[], Any] = lambda: predict_split(clf, part, options)  # noqa: E731
        return timed(unit)

    order = length_order([len(w) for w in words])
    batches = [order[i : i + batch_size].tolist() for i in range(0, n, batch_size)]
    best = fastest(
        {
            "bare": [bare_unit(rows) for rows in batches],
            "ours": [ours_unit(rows) for rows in batches],
        },
        repeats=repeats,
        budget_s=60,
    )
    bare_rate = report.row(
        "ner", "bare forward (pre-tokenised, length-sorted batches)", n, best["bare"]
    )
    ours_rate = report.row(
        "ner", "evalbot predict_split (tokenises, per-word tags)", n, best["ours"]
    )
    report.add("ner_vs_forward", ours_rate / bare_rate)


if __name__ == "__main__":
    quiet()
    r = Report()
    main(r)
    r.print()
