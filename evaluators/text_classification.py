"""Text classification: load a transformers classifier and predict over a dataset in batches."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import torch
from transformers import AutoModelForSequenceClassification

from evaluators.labels import model_labels
from evaluators.loading import load_config, load_tokenizer, load_transformers_model
from evaluators.predictions import Options, Predictions, autocast
from evaluators.processing import check_scores
from evaluators.streaming import Loading, spans, stream

_IN_PROCESS = Loading(workers=0)  # reading texts costs little next to the model


Text = str | tuple[str, str]  # one text, or a pair (text, text_pair) tokenised together


def text_length(text: Text) -> int:
    """Characters of a text, or of both texts of a pair."""
    return len(text) if isinstance(text, str) else sum(len(t) for t in text)


def length_order(texts: Sequence[Text]) -> npt.NDArray[np.intp]:
    """The order in which :meth:`TextClassifier.predict` batches texts: by length (stable; a
    pair by the sum of its texts), so a batch holds texts of similar length (less padding).
    Sharding cuts along it."""
    return np.argsort(
        np.fromiter((text_length(t) for t in texts), dtype=np.int64, count=len(texts)),
        kind="stable",
    )


def encode(tokenizer: Any, texts: Sequence[Text], max_length: int) -> Any:
    """A padded batch of ``texts``: single texts, or pairs tokenised as pairs (the model's
    separator and segment ids between them), truncated to ``max_length`` tokens together.

    Example:
        >>> encode(tokenizer, [("A man sleeps.", "He rests.")], 128)  # doctest: +SKIP
    """
    pairs = bool(texts) and isinstance(texts[0], tuple)
    first = [t[0] for t in texts] if pairs else list(texts)
    return tokenizer(
        first,
        [t[1] for t in texts] if pairs else None,
        padding=True,
        truncation=True,
        max_length=max_length,
        return_tensors="pt",
    )


@dataclass
class TextClassifier:
    repo_id: str
    model: torch.nn.Module
    tokenizer: object
    id2label: dict[int, str]
    device: torch.device

    @classmethod
    def load(cls, repo_id: str, path: Path, device: torch.device) -> TextClassifier:
        """Load from a local snapshot; safetensors only, never remote code.

        Raises:
            InsufficientMetadataError: no usable config or tokenizer.
            IncompatibleLibraryError: the architecture is not a sequence classifier.
            EvaluationError: any other load failure (reason ``load error``).
        """
        config = load_config(repo_id, path)
        id2label = model_labels(repo_id, getattr(config, "id2label", None))
        tokenizer = load_tokenizer(repo_id, path)
        model = load_transformers_model(
            repo_id,
            AutoModelForSequenceClassification,
            path,
            config,
            kind="a sequence classifier",
            device=device,
        )
        return cls(
            repo_id=repo_id, model=model, tokenizer=tokenizer, id2label=id2label, device=device
        )

    @torch.inference_mode()
    def predict(self, texts: Sequence[Text], options: Options) -> Predictions:
        """Predict every text (or pair of texts). Batches are formed from texts of similar
        length (less padding); texts are read (and perturbed) batch by batch.

        Raises:
            EvaluationError: the model's scores are not finite (see
                :func:`~evaluators.processing.check_scores`).
        """
        order = length_order(texts)
        labels = np.empty(len(texts), dtype=np.int64)
        confidences = np.empty(len(texts), dtype=np.float32)
        tokenizer = self.tokenizer
        # never more tokens than the model has positions (a module's max_length may exceed them)
        max_length = options.max_length
        positions = getattr(getattr(self.model, "config", None), "max_position_embeddings", None)
        if isinstance(positions, int) and positions > 0:
            max_length = min(max_length, positions)
        parts = spans(len(texts), options.batch_size, order)
        start = time.perf_counter()
        with autocast(self.device, options.precision):
            for idx, batch_texts in zip(
                parts, stream(texts, parts, loading=_IN_PROCESS), strict=True
            ):
                batch = encode(tokenizer, batch_texts, max_length).to(self.device)
                logits = self.model(**batch).logits.float()
                probs = torch.softmax(logits, dim=-1)
                conf, pred = probs.max(dim=-1)
                labels[idx] = pred.cpu().numpy()
                confidences[idx] = conf.cpu().numpy()
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
        check_scores(self.repo_id, confidences)
        return Predictions(
            labels=labels, confidences=confidences, seconds=time.perf_counter() - start
        )
