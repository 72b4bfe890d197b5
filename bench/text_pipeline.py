"""Text classification: evalbot's predict loop vs a bare forward pass over pre-tensorised inputs.

Same model (the MiniLM-based demo classifier), same texts, same batch size, CPU. The bare
forward pass is the ceiling: tokenisation done beforehand, one padded tensor per batch in dataset
order. Prints ``BENCH text_vs_forward <ratio of examples/s>``.
"""

from __future__ import annotations

import time

import torch

from evaluators.text_classification import TextClassifier
from sandbox.world import build_world


def main(repeats: int = 3, batch_size: int = 32) -> None:
    world = build_world()
    spec = next(m for m in world.models if m.repo_id == "demo/minilm-emotion")
    dataset = next(d for d in world.datasets if d.repo_id == "dair-ai/emotion")
    import datasets

    texts = list(
        datasets.load_dataset(
            "parquet", data_files=str(dataset.path / "data" / "test-*.parquet"), split="train"
        )["text"]
    )
    clf = TextClassifier.load(spec.repo_id, spec.path, torch.device("cpu"))
    batches = [
        clf.tokenizer(
            texts[i : i + batch_size],
            padding=True,
            truncation=True,
            max_length=128,
            return_tensors="pt",
        )  # type: ignore[operator]
        for i in range(0, len(texts), batch_size)
    ]

    def bare() -> float:
        start = time.perf_counter()
        with torch.inference_mode():
            for batch in batches:
                clf.model(**batch).logits.argmax(-1)
        return time.perf_counter() - start

    def ours() -> float:
        return clf.predict(texts, batch_size=batch_size, max_length=128).seconds

    bare(), ours()  # warm-up
    t_bare = min(bare() for _ in range(repeats))
    t_ours = min(ours() for _ in range(repeats))
    n = len(texts)
    print(f"examples: {n}, batch size {batch_size}, torch threads {torch.get_num_threads()}")
    print(f"bare forward (pre-tokenised): {n / t_bare:8.1f} examples/s")
    print(f"evalbot predict (tokenises):  {n / t_ours:8.1f} examples/s")
    print(f"BENCH text_vs_forward {t_bare / t_ours:.2f} ratio")


if __name__ == "__main__":
    main()
