"""A loading-script dataset of the demo world, and the Hub's Parquet conversion of it.

Many datasets evaluation modules name (`eriktks/conll2003`, `eriktks/conll2002`,
`leondz/wnut_17`, Universal Dependencies) keep a loading script on `main`, which `datasets` 4
and later refuse to run; the Hub's converter wrote their rows as parquet to the repo's
`refs/convert/parquet` branch, one folder per config and split (`{config}/{split}/0000.parquet`).

`demo/ner-news-script` is such a repo, made from `demo/ner-news`'s rows:

- `main`: `ner-news-script.py` (a `datasets` builder with two configs), `data/{split}.jsonl`
  and a card without `configs:`, as script datasets have;
- `refs/convert/parquet`: `news/{split}/0000.parquet` (every row) and
  `news-small/{split}/0000.parquet` (the first `SMALL` rows of each split), each file carrying
  its `datasets` features (the tags a `ClassLabel` of CoNLL's names), as converted files do.

Example:
    >>> script = script_dataset(world)
    >>> sorted(script.export)[:2]
    ['news-small/test/0000.parquet', 'news-small/train/0000.parquet']
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sandbox.world import World

SCRIPT_ID = "demo/ner-news-script"
SCRIPT_CONFIGS = ("news", "news-small")
SMALL = 50  # rows per split of the `news-small` config
_SOURCE = "demo/ner-news"

_SCRIPT = '''"""ner-news-script: made-up news sentences with CoNLL-2003 entity tags."""

import json

import datasets

_TAGS = ["O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC", "B-MISC", "I-MISC"]


class NerNewsScript(datasets.GeneratorBasedBuilder):
    BUILDER_CONFIGS = [
        datasets.BuilderConfig(name="news", description="every sentence"),
        datasets.BuilderConfig(name="news-small", description="the first 50 of each split"),
    ]

    def _info(self):
        return datasets.DatasetInfo(
            features=datasets.Features(
                {
                    "id": datasets.Value("string"),
                    "tokens": datasets.Sequence(datasets.Value("string")),
                    "ner_tags": datasets.Sequence(datasets.ClassLabel(names=_TAGS)),
                }
            )
        )

    def _split_generators(self, dl_manager):
        files = dl_manager.download({s: f"data/{s}.jsonl" for s in ("train", "validation", "test")})
        return [datasets.SplitGenerator(name=s, gen_kwargs={"path": p}) for s, p in files.items()]

    def _generate_examples(self, path):
        with open(path, encoding="utf-8") as lines:
            for number, line in enumerate(lines):
                if self.config.name == "news-small" and number >= 50:
                    return
                row = json.loads(line)
                yield row["id"], row
'''

_CARD = """---
language: [en]
license: cc-by-4.0
pretty_name: ner-news (loading script)
task_categories: [token-classification]
task_ids: [named-entity-recognition]
tags: [synthetic]
---

# ner-news-script

The rows of `demo/ner-news` behind a loading script (`ner-news-script.py`, configs `news` and
`news-small`), as many older Hub datasets are. `datasets` 4 and later do not run loading
scripts: read the Hub's Parquet conversion (`refs/convert/parquet`) instead.
"""


@dataclass(frozen=True)
class ScriptDataset:
    """A dataset repo's files on `main` and in its Parquet conversion."""

    repo_id: str
    files: dict[str, bytes]
    export: dict[str, bytes]


def script_dataset(world: World) -> ScriptDataset | None:
    """`demo/ner-news-script`, made from the world's `demo/ner-news` (a second or so); None for
    a world without it (the detection world)."""
    from datasets import Dataset, concatenate_datasets

    source = next((d for d in world.datasets if d.repo_id == _SOURCE), None)
    if source is None:
        return None
    files: dict[str, bytes] = {
        "README.md": _CARD.encode(),
        "ner-news-script.py": _SCRIPT.encode(),
    }
    export: dict[str, bytes] = {}
    for split in ("train", "validation", "test"):
        parts = sorted((source.path / "data").glob(f"{split}-*.parquet"))
        rows = concatenate_datasets([Dataset.from_parquet(str(p)) for p in parts])
        assert isinstance(rows, Dataset)
        files[f"data/{split}.jsonl"] = "".join(
            json.dumps(row, ensure_ascii=False) + "\n" for row in rows
        ).encode()
        for config, part in (("news", rows), ("news-small", rows.select(range(SMALL)))):
            buffer = io.BytesIO()
            part.to_parquet(buffer)
            export[f"{config}/{split}/0000.parquet"] = buffer.getvalue()
    return ScriptDataset(SCRIPT_ID, files, export)
