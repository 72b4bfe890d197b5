"""A task type in one module: text-pair similarity (STS-style), registered with no edit elsewhere.

A model embeds both sentences (mean-pooled hidden states of any transformers encoder); the
predicted similarity is their cosine. Scored as STS-B cards report it: Pearson and Spearman
correlation with the reference scores.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch
from scipy import stats

from evaluators.config import EvaluationModule
from evaluators.datasets_io import load_rows
from evaluators.tasks import Context, TaskType, register, result
from store import catalogue
from store.catalogue import Metric, TaskSpec
from store.types import EvaluationRecord, ModelRecord

SPEC = catalogue.register(
    TaskSpec(
        name="sentence-similarity",
        modality="text",
        description="Score how similar two sentences are.",
        metrics=(
            Metric(
                "spearman",
                "Spearman correlation",
                "Rank correlation of predicted and reference similarity.",
                "scipy.stats.spearmanr",
                range="-1 to 1, higher is better",
                hub_type="spearmanr",
            ),
            Metric(
                "pearson",
                "Pearson correlation",
                "Linear correlation of predicted and reference similarity.",
                "scipy.stats.pearsonr",
                range="-1 to 1, higher is better",
                hub_type="pearsonr",
            ),
        ),
        card=("spearman", "pearson"),
        summary=("spearman", "pearson"),
        class_columns=(),
    )
)


@dataclass(frozen=True)
class Pairs:
    dataset_id: str
    split: str
    revision: str
    first: list[str]
    second: list[str]
    scores: np.ndarray

    def perturbed(self, perturbation: Any, *, seed: int) -> Pairs:
        apply = perturbation.apply_texts
        return replace(
            self, first=apply(self.first, seed=seed), second=apply(self.second, seed=seed)
        )

    def __len__(self) -> int:
        return len(self.scores)


@dataclass
class Encoder:
    model: Any
    tokenizer: Any
    device: torch.device

    @torch.inference_mode()
    def embed(self, texts: list[str], batch_size: int, max_length: int) -> torch.Tensor:
        out = []
        for start in range(0, len(texts), batch_size):
            batch = self.tokenizer(
                texts[start : start + batch_size],
                padding=True,
                truncation=True,
                max_length=max_length,
                return_tensors="pt",
            ).to(self.device)
            hidden = self.model(**batch).last_hidden_state
            mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
            out.append((hidden * mask).sum(1) / mask.sum(1).clamp(min=1))
        return torch.cat(out)


@register
class SentenceSimilarity(TaskType):
    spec = SPEC
    columns = ("sentence1", "sentence2", "label")
    needs_labels = False
    processors: ClassVar[Mapping[str, str]] = {
        "correlation": "Pearson and Spearman correlation with the reference scores"
    }

    def load_model(self, model: ModelRecord, folder: Path, device: torch.device) -> Encoder:
        from transformers import AutoModel, AutoTokenizer

        encoder = AutoModel.from_pretrained(folder, use_safetensors=True).to(device).eval()
        return Encoder(encoder, AutoTokenizer.from_pretrained(folder), device)

    def load_split(self, module: EvaluationModule, revision: str) -> Pairs:
        rows = load_rows(module, revision)
        columns = module.dataset.columns
        return Pairs(
            module.dataset.repo,
            module.dataset.split,
            revision,
            list(rows[columns.role("sentence1")]),
            list(rows[columns.role("sentence2")]),
            np.asarray(rows[columns.role("label")], dtype=np.float64),
        )

    def evaluate(
        self,
        context: Context,
        model: ModelRecord,
        predictor: Encoder,
        split: Pairs,
        task: Any,
    ) -> EvaluationRecord:
        options = context.options(task.module)
        began = time.perf_counter()
        first = predictor.embed(split.first, options.batch_size, options.max_length)
        second = predictor.embed(split.second, options.batch_size, options.max_length)
        predicted = torch.nn.functional.cosine_similarity(first, second).float().cpu().numpy()
        seconds = time.perf_counter() - began
        return result(
            task,
            model,
            num_examples=len(split.scores),
            metrics={
                "spearman": float(stats.spearmanr(predicted, split.scores).statistic),
                "pearson": float(stats.pearsonr(predicted, split.scores).statistic),
            },
            classes=(),
            runtime=context.runtime(seconds, len(split.scores), options.batch_size),
        )
