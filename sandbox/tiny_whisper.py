"""A tiny Whisper made here, for tests and benchmarks of speech recognition: a byte-level BPE
vocabulary of a few English and German words plus Whisper's special tokens, random weights, and a
generation config shaped like a real checkpoint's (:func:`build_whisper`), with clips of sine and
noise and an in-memory ``datasets`` ``Audio`` column of their FLAC bytes.

Example:
    >>> build_whisper(folder, multilingual=True, new_tokens=8)  # doctest: +SKIP
"""

from __future__ import annotations

import io
import json
import random
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import datasets
import numpy as np
import numpy.typing as npt
import soundfile as sf
import torch
from transformers import (
    GenerationConfig,
    WhisperConfig,
    WhisperFeatureExtractor,
    WhisperForConditionalGeneration,
    WhisperTokenizer,
)
from transformers.models.whisper.tokenization_whisper import LANGUAGES

RATE = 16000
ENGLISH = (
    "the", "quick", "brown", "fox", "jumps", "over", "a", "lazy", "dog", "near", "red", "house",
    "with", "green", "garden", "where", "cold", "water", "runs", "into", "river", "every",
    "morning", "and", "evening", "under", "bright", "sky", "while", "birds", "sing",
)  # fmt: skip
GERMAN = (
    "der", "schnelle", "braune", "fuchs", "springt", "über", "einen", "faulen", "hund", "neben",
    "dem", "roten", "haus", "mit", "grünem", "garten", "wo", "kaltes", "wasser", "jeden",
    "morgen", "und", "abend", "unter", "hellem", "himmel", "fließt", "während", "vögel",
)  # fmt: skip
# Whisper's special tokens after <|endoftext|>, in its order (language ids follow <|sot|>)
SPECIALS = (
    "<|startoftranscript|>",
    *(f"<|{code}|>" for code in LANGUAGES),
    "<|translate|>",
    "<|transcribe|>",
    "<|startoflm|>",
    "<|startofprev|>",
    "<|nocaptions|>",
    "<|notimestamps|>",
)


def whisper_tokenizer() -> WhisperTokenizer:
    """A Whisper tokenizer over a byte-level BPE trained on :data:`ENGLISH` and :data:`GERMAN`
    (every word, with its leading space, one token), with Whisper's special tokens in Whisper's
    order: ``<|endoftext|>``, ``<|startoftranscript|>``, a token per language, the task tokens,
    ``<|nocaptions|>``, ``<|notimestamps|>`` (no timestamp tokens)."""
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers

    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    trainer = trainers.BpeTrainer(
        vocab_size=2000,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    bpe.train_from_iterator([" " + " ".join((*ENGLISH, *GERMAN))] * 4, trainer=trainer)
    state = json.loads(bpe.to_str())["model"]
    merges = [tuple(m) if isinstance(m, list) else tuple(m.split(" ")) for m in state["merges"]]
    tokenizer = WhisperTokenizer(vocab=state["vocab"], merges=merges)  # adds <|endoftext|>
    tokenizer.add_special_tokens({"additional_special_tokens": list(SPECIALS)})
    return tokenizer


def word_ids(tokenizer: WhisperTokenizer) -> list[int]:
    """The ids of the tokens that are a whole word with its leading space (``Ġword``)."""
    vocab = tokenizer.get_vocab()
    out = []
    for word in (*ENGLISH, *GERMAN):
        (token,) = tokenizer.tokenize(" " + word)  # one token each, by construction
        out.append(vocab[token])
    return sorted(set(out))


def build_whisper(
    folder: Path,
    *,
    multilingual: bool = True,
    d_model: int = 64,
    layers: int = 2,
    heads: int = 2,
    new_tokens: int | None = 8,
    decoder_positions: int = 448,
    seed: int = 0,
) -> None:
    """Save a random Whisper with its feature extractor, tokenizer and generation config in
    ``folder``, loadable by ``AutoModelForSpeechSeq2Seq``, ``AutoFeatureExtractor`` and
    ``AutoTokenizer``.

    Its generation config is a real checkpoint's (``decoder_start_token_id``, ``lang_to_id`` and
    ``task_to_id`` where ``multilingual``, ``no_timestamps_token_id``; an English-only model, like
    ``whisper-tiny.en``, has no languages and forces ``<|notimestamps|>``), except that it
    suppresses every token but whole words and decodes exactly ``new_tokens`` of them (EOS is
    held off by ``min_new_tokens``): transcripts are ``new_tokens`` words, which depend on the
    audio since the weights are drawn with a standard deviation of 8/sqrt(d_model). With
    ``new_tokens`` None it sets no length, as a real checkpoint does (the caller's
    ``max_new_tokens``, or EOS, ends a transcript).

    Args:
        folder: Where to save it.
        multilingual: A multilingual model (else English-only).
        d_model: The width of both stacks.
        layers: Encoder layers, and as many decoder layers.
        heads: Attention heads in every layer.
        new_tokens: The exact number of words a transcript has (None: no length set).
        decoder_positions: ``max_target_positions`` (448 in OpenAI's checkpoints).
        seed: The torch seed of the weights.

    Example:
        >>> build_whisper(Path("/tmp/tiny-whisper"), multilingual=False)  # doctest: +SKIP
    """
    tokenizer = whisper_tokenizer()
    ids = tokenizer.get_vocab()
    eot, sot = ids["<|endoftext|>"], ids["<|startoftranscript|>"]
    config = WhisperConfig(
        vocab_size=len(tokenizer),
        num_mel_bins=80,
        d_model=d_model,
        encoder_layers=layers,
        decoder_layers=layers,
        encoder_attention_heads=heads,
        decoder_attention_heads=heads,
        encoder_ffn_dim=4 * d_model,
        decoder_ffn_dim=4 * d_model,
        max_source_positions=1500,
        max_target_positions=decoder_positions,
        init_std=8.0 / d_model**0.5,
        pad_token_id=eot,
        bos_token_id=eot,
        eos_token_id=eot,
        decoder_start_token_id=sot,
    )
    words = set(word_ids(tokenizer))
    told: dict[str, Any] = (
        {
            "lang_to_id": {f"<|{code}|>": ids[f"<|{code}|>"] for code in LANGUAGES},
            "task_to_id": {"transcribe": ids["<|transcribe|>"], "translate": ids["<|translate|>"]},
        }
        if multilingual
        else {"forced_decoder_ids": [[1, ids["<|notimestamps|>"]]]}
    )
    generation = GenerationConfig(
        decoder_start_token_id=sot,
        bos_token_id=eot,
        eos_token_id=eot,
        pad_token_id=eot,
        is_multilingual=multilingual,
        no_timestamps_token_id=ids["<|notimestamps|>"],
        return_timestamps=False,
        suppress_tokens=[i for i in range(len(tokenizer)) if i not in words and i != eot],
        begin_suppress_tokens=[eot],
        **told,
    )
    if new_tokens is not None:
        generation.min_new_tokens = generation.max_new_tokens = new_tokens
    torch.manual_seed(seed)
    model = WhisperForConditionalGeneration(config)
    model.generation_config = generation
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    WhisperFeatureExtractor(
        feature_size=80, sampling_rate=RATE, hop_length=160, chunk_length=30, n_fft=400
    ).save_pretrained(folder)
    (folder / "README.md").write_text(
        "---\npipeline_tag: automatic-speech-recognition\nlibrary_name: transformers\n"
        "datasets: [speech-tiny]\n---\n# tiny random Whisper\n"
    )


def clip(rng: random.Random, seconds: float) -> npt.NDArray[np.float32]:
    """``seconds`` of three random sines in noise at :data:`RATE` Hz."""
    t = np.arange(int(RATE * seconds)) / RATE
    tone = sum(np.sin(2 * np.pi * rng.uniform(100, 3000) * t) for _ in range(3))
    noise = np.random.default_rng(rng.randrange(1 << 30)).normal(0, 0.1, t.shape)
    return np.asarray(0.2 * tone + noise, dtype=np.float32)


def flac(wave: npt.NDArray[np.float32]) -> bytes:
    """``wave`` as 16-bit FLAC at :data:`RATE` Hz."""
    buffer = io.BytesIO()
    sf.write(buffer, wave, RATE, format="FLAC")
    return buffer.getvalue()


def audio_dataset(files: Sequence[bytes]) -> datasets.Dataset:
    """An in-memory dataset of one ``Audio`` column holding ``files`` (FLAC bytes)."""
    rows = [{"bytes": b, "path": f"{i}.flac"} for i, b in enumerate(files)]
    return datasets.Dataset.from_dict({"audio": rows}).cast_column("audio", datasets.Audio())
