"""The demo world's Hub Benchmark: `mteb/mnist`, with the `eval.yaml` a Benchmark has at its root.

On the Hub, MTEB serves MNIST as `mteb/mnist` and writes an `eval.yaml` there listing its task
`MNIST` and its per-split task `MNIST_default_test` (see `config/tasks/image-classification/
mteb-mnist.yaml`). The sandbox's copy holds the world's MNIST stand-in (`ylecun/mnist`: real
digits from scikit-learn, not MNIST's), under a card that says so, and that `eval.yaml`.

Example:
    >>> files = benchmark_files(build_world())  # doctest: +SKIP
    >>> sorted(files["mteb/mnist"])  # doctest: +SKIP
    ['README.md', 'data/test-00000-of-00001.parquet', 'data/train-00000-of-00001.parquet',
     'eval.yaml']
"""

from __future__ import annotations

from pathlib import Path

from sandbox.world import World

MTEB_MNIST = "mteb/mnist"
SOURCE = "ylecun/mnist"  # the world dataset whose data it serves

EVAL_YAML = """\
name: MNIST
description: Classifying handwritten digits.
evaluation_framework: mteb
tasks:
- id: MNIST
- id: MNIST_default_test
  config: default
  split: test
"""

CARD = f"""\
---
license: cc-by-4.0
pretty_name: MNIST (MTEB's id; evalbot stand-in from scikit-learn's digits)
task_categories:
- image-classification
tags:
- mteb
- digits
---

# MNIST under MTEB's id (evalbot stand-in)

The data of the sandbox's [{SOURCE}](https://huggingface.co/datasets/{SOURCE}) stand-in (real
handwritten digits from scikit-learn's `load_digits`, not MNIST's), served under the id of MTEB's
copy of MNIST, a Hub Benchmark: `eval.yaml` at the root lists its tasks. Results on it are not
results on MNIST.
"""


def benchmark_files(world: World) -> dict[str, dict[str, bytes | Path]]:
    """The files of each benchmark dataset repo (path in the repo -> content or local file);
    none for a world without the dataset whose data it serves."""
    if SOURCE not in {d.repo_id for d in world.datasets}:
        return {}
    source = world.dataset(SOURCE).path
    files: dict[str, bytes | Path] = {
        p.relative_to(source).as_posix(): p for p in sorted((source / "data").rglob("*.parquet"))
    }
    files["README.md"] = CARD.encode()
    files["eval.yaml"] = EVAL_YAML.encode()
    return {MTEB_MNIST: files}
