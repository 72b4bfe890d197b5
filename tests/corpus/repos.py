"""Malformed model repos: tiny files, one commit each, for one bot cycle on the sandbox Hub.

`micro_model()` is a real 6-class BERT text classifier of a few KB (64-word tokenizer, hidden
size 4): loading it is cheap, so many repos can reach the loader and fail there. `generate()` is
deterministic (seeded weights, no randomness elsewhere).
"""

from __future__ import annotations

import json
import struct
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from store.types import FailureReason

LABELS = ["sadness", "joy", "love", "anger", "fear", "surprise"]
EVALUATED = "evaluated"


@dataclass(frozen=True)
class RepoCase:
    """A repo to push, and what the cycle must record on its model.

    Attributes:
        name: Repo name (the namespace is the test's).
        files: Path in the repo -> content; the card is added unless ``files`` has one.
        expected: The FailureReason value, or "evaluated".
        discovered: False: the card hides it from discovery, so the test queues it itself.
        then: What happens to the repo after discovery: "delete", "private", "gated", "disable".
    """

    name: str
    files: dict[str, bytes]
    expected: str
    discovered: bool = True
    then: str | None = None
    sha: str | None = field(default=None)  # queue this revision instead of the head


def micro_model(positions: int = 512) -> dict[str, bytes]:
    """config.json, model.safetensors, tokenizer.json and tokenizer_config.json."""
    import torch
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import BertConfig, BertForSequenceClassification, PreTrainedTokenizerFast

    words = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", *(f"w{i}" for i in range(60))]
    tok = Tokenizer(models.WordLevel({w: i for i, w in enumerate(words)}, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()  # type: ignore[assignment]
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok, unk_token="[UNK]", pad_token="[PAD]", cls_token="[CLS]"
    )
    config = BertConfig(
        vocab_size=len(words),
        hidden_size=4,
        num_hidden_layers=1,
        num_attention_heads=1,
        intermediate_size=4,
        max_position_embeddings=positions,
        id2label=dict(enumerate(LABELS)),
        label2id={label: i for i, label in enumerate(LABELS)},
    )
    torch.manual_seed(0)
    with tempfile.TemporaryDirectory() as folder:
        fast.save_pretrained(folder)
        BertForSequenceClassification(config).save_pretrained(folder)
        return {p.name: p.read_bytes() for p in Path(folder).iterdir() if p.is_file()}


def _with_config(model: dict[str, bytes], **changes: Any) -> dict[str, bytes]:
    config = json.loads(model["config.json"])
    for key, value in changes.items():
        if value is None:
            config.pop(key, None)
        else:
            config[key] = value
    return {**model, "config.json": json.dumps(config).encode()}


def _without(model: dict[str, bytes], name: str = "model.safetensors") -> dict[str, bytes]:
    return {k: v for k, v in model.items() if k != name}


def _safetensors_variants(weights: bytes) -> dict[str, bytes]:
    n = struct.unpack("<Q", weights[:8])[0]
    header = json.loads(weights[8 : 8 + n])
    name = next(k for k in header if k != "__metadata__")

    def rewrite(**entry: Any) -> bytes:
        data = json.dumps({**header, name: {**header[name], **entry}}).encode()
        return struct.pack("<Q", len(data)) + data + weights[8 + n :]

    return {
        "zero-bytes": b"",
        "four-bytes": weights[:4],
        "header-only": weights[: 8 + n],
        "truncated-half": weights[: len(weights) // 2],
        "truncated-last-byte": weights[:-1],
        "header-length-huge": struct.pack("<Q", 2**60) + weights[8:],
        "header-length-file": struct.pack("<Q", len(weights)) + weights[8:],
        "header-not-json": struct.pack("<Q", 5) + b"xxxxx",
        "header-list": struct.pack("<Q", 2) + b"[]",
        "header-empty-object": struct.pack("<Q", 2) + b"{}",
        "dtype-unknown": rewrite(dtype="X99"),
        "offsets-past-end": rewrite(data_offsets=[0, 10**9]),
        "shape-lies": rewrite(shape=[3, 3]),
        "text-file": b"this is not a safetensors file\n",
        "html-error-page": b"<html><body>502 Bad Gateway</body></html>",
        "git-lfs-pointer": (
            b"version https://git-lfs.github.com/spec/v1\noid sha256:"
            + b"0" * 64
            + b"\nsize 12345\n"
        ),
        "pickle-bytes": b"\x80\x04\x95\x05\x00\x00\x00\x00\x00\x00\x00}\x94.",
        "zeros-1k": b"\x00" * 1024,
    }


def generate(card: str) -> list[RepoCase]:
    """Every case, ``card`` being a README.md that discovery selects (it names the test's tag)."""
    model = micro_model()
    weights = model["model.safetensors"]
    config_only = {"config.json": model["config.json"]}
    metadata, load, labels = (
        FailureReason.INSUFFICIENT_METADATA.value,
        FailureReason.LOAD_ERROR.value,
        FailureReason.UNKNOWN_LABELS.value,
    )
    unsafe, library = FailureReason.UNSAFE_WEIGHTS.value, FailureReason.INCOMPATIBLE_LIBRARY.value
    gone, gated = FailureReason.NOT_FOUND.value, FailureReason.GATED.value
    cases = [
        RepoCase("good", model, EVALUATED),
        RepoCase("good-with-pickle-too", {**model, "pytorch_model.bin": b"\x80\x04."}, EVALUATED),
        RepoCase("short-positions", micro_model(positions=64), EVALUATED),  # < max_length
        RepoCase("no-config", {"model.safetensors": weights}, metadata),
        RepoCase("card-only", {}, metadata),
        RepoCase("no-weights", config_only, unsafe),
        RepoCase(
            "weights-in-subfolder", {**_without(model), "sub/model.safetensors": weights}, load
        ),
    ]
    for suffix in ("bin", "pt", "pth", "ckpt", "pkl", "pickle"):
        cases.append(
            RepoCase(f"pickle-only-{suffix}", {**config_only, f"model.{suffix}": b"\x80."}, unsafe)
        )
    cases += [
        RepoCase("gguf-only", {**config_only, "model.gguf": b"GGUF"}, unsafe),
        RepoCase("onnx-only", {**config_only, "model.onnx": b"onnx"}, unsafe),
        RepoCase("h5-only", {**config_only, "tf_model.h5": b"\x89HDF"}, unsafe),
    ]
    for name, data in _safetensors_variants(weights).items():
        cases.append(RepoCase(f"safetensors-{name}", {**model, "model.safetensors": data}, load))
    for name, data in {
        "not-json": b"{model_type: bert",
        "json-list": b"[1, 2, 3]",
        "json-string": b'"bert"',
        "json-null": b"null",
        "empty": b"",
        "not-utf8": b'{"model_type": "b\xffrt"}',
        "utf16": '{"model_type": "bert"}'.encode("utf-16"),
        "deep": b'{"a": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
        "huge-keys": json.dumps({f"k{i}": i for i in range(50_000)}).encode(),
        "nan": b'{"model_type": "bert", "hidden_size": NaN}',
    }.items():
        cases.append(RepoCase(f"config-{name}", {**model, "config.json": data}, metadata))
    for name, changes, expected in [
        ("model-type-unknown", {"model_type": "no-such-model"}, metadata),
        ("model-type-missing", {"model_type": None}, metadata),
        ("model-type-int", {"model_type": 5}, metadata),
        ("model-type-list", {"model_type": ["bert"]}, metadata),
        ("model-type-gpt2", {"model_type": "gpt2"}, load),
        ("model-type-t5", {"model_type": "t5"}, metadata),
        ("model-type-vit", {"model_type": "vit"}, library),
        ("architectures-unknown", {"architectures": ["NoSuchModelForThings"]}, EVALUATED),
        ("architectures-string", {"architectures": "BertModel"}, EVALUATED),
        ("hidden-size-string", {"hidden_size": "four"}, metadata),
        ("hidden-size-mismatch", {"hidden_size": 8}, load),
        ("vocab-mismatch", {"vocab_size": 10}, load),
        ("num-layers-negative", {"num_hidden_layers": -1}, EVALUATED),
        ("heads-indivisible", {"num_attention_heads": 3}, library),
        ("num-labels-mismatch", {"id2label": {"0": "joy", "1": "sadness"}, "label2id": None}, load),
        ("id2label-list", {"id2label": LABELS}, metadata),
        ("id2label-string", {"id2label": "sadness"}, metadata),
        ("id2label-word-keys", {"id2label": {x: x for x in LABELS}}, metadata),
        ("id2label-gap", {"id2label": {str(i * 2): x for i, x in enumerate(LABELS)}}, metadata),
        (
            "id2label-null-label",
            {"id2label": {"0": None, **{str(i): x for i, x in enumerate(LABELS) if i}}},
            metadata,
        ),
        (
            "id2label-spanish",
            {
                "id2label": dict(
                    enumerate(["tristeza", "alegría", "amor", "ira", "miedo", "sorpresa"])
                )
            },
            labels,
        ),
        ("id2label-generic", {"id2label": {str(i): f"LABEL_{i}" for i in range(6)}}, EVALUATED),
        (
            "id2label-upper",
            {"id2label": {str(i): x.upper() for i, x in enumerate(LABELS)}},
            EVALUATED,
        ),
        (
            "id2label-aliases",
            {"id2label": dict(enumerate(["sad", "happy", "love", "angry", "fear", "surprise"]))},
            EVALUATED,
        ),
        (
            "id2label-superset-name",
            {"id2label": {**{str(i): x for i, x in enumerate(LABELS[:5])}, "5": "neutral"}},
            labels,
        ),
        ("id2label-numbers", {"id2label": {str(i): i for i in range(6)}}, labels),
        ("id2label-empty", {"id2label": {}}, load),
        (
            "auto-map-unknown-type",
            {"auto_map": {"AutoModel": "m.M"}, "model_type": "custom-x"},
            library,
        ),
        (
            "auto-map-unknown-arch",
            {"auto_map": {"AutoModel": "m.M"}, "architectures": ["MyBert"]},
            library,
        ),
        ("auto-map-known", {"auto_map": {"AutoModel": "m.M"}}, EVALUATED),
        ("auto-map-string", {"auto_map": "m.M", "model_type": "custom-x"}, library),
        ("auto-map-list", {"auto_map": ["m.M"], "model_type": "custom-y"}, library),
    ]:
        cases.append(RepoCase(f"config-{name}", _with_config(model, **changes), expected))
    cases.append(
        RepoCase(
            "remote-code-with-py",
            {
                **_with_config(model, auto_map={"AutoModel": "m.M"}, model_type="custom-z"),
                "m.py": b"import os\nos.system('echo pwned')\n",
            },
            library,
        )
    )
    no_tokenizer = {k: v for k, v in model.items() if not k.startswith("tokenizer")}
    cases += [
        RepoCase("tokenizer-missing", no_tokenizer, metadata),
        RepoCase(
            "tokenizer-config-only",
            {**no_tokenizer, "tokenizer_config.json": model["tokenizer_config.json"]},
            metadata,
        ),
        RepoCase("tokenizer-not-json", {**model, "tokenizer.json": b"{not json"}, metadata),
        RepoCase("tokenizer-empty", {**model, "tokenizer.json": b""}, metadata),
        RepoCase(
            "tokenizer-partial",
            {**model, "tokenizer.json": b'{"version": "1.0", "model": {"type": "Nope"}}'},
            metadata,
        ),
        RepoCase(
            "tokenizer-unknown-model",
            {
                **model,
                "tokenizer.json": b'{"version": "1.0", "added_tokens": [], "normalizer": null, "pre_tokenizer": null, "post_processor": null, "decoder": null, "model": {"type": "Nope"}}',
            },
            load,  # the tokenizers library raises a bare Exception
        ),
        RepoCase(
            "tokenizer-config-class",
            {**model, "tokenizer_config.json": b'{"tokenizer_class": "NoSuchTokenizer"}'},
            metadata,
        ),
        RepoCase("tokenizer-config-list", {**model, "tokenizer_config.json": b"[]"}, metadata),
        RepoCase(
            "sharded-index-missing-shard",
            {
                **{k: v for k, v in model.items() if k != "model.safetensors"},
                "model.safetensors.index.json": b'{"metadata": {}, "weight_map": {"classifier.bias": "model-00001-of-00002.safetensors"}}',
                "x.safetensors": b"",
            },
            load,
        ),
        RepoCase(
            "sharded-index-not-json",
            {
                **{k: v for k, v in model.items() if k != "model.safetensors"},
                "model.safetensors.index.json": b"{",
                "x.safetensors": b"",
            },
            library,
        ),
    ]
    # discovered, then changed on the Hub before the worker gets to them
    cases += [
        RepoCase("deleted-after-discovery", model, gone, then="delete"),
        RepoCase("private-after-discovery", model, gone, then="private"),
        RepoCase("gated-after-discovery", model, gated, then="gated"),
        RepoCase("disabled-after-discovery", model, gone, then="disable"),
        RepoCase("deleted-no-config", {}, gone, then="delete"),
        RepoCase("gated-pickle", {**config_only, "model.bin": b"\x80."}, unsafe, then="gated"),
    ]
    # cards discovery cannot read: the test queues these revisions itself (as a past discovery)
    hidden = [
        ("card-not-utf8", b"---\nlicense: mit\n---\n\xff\xfe broken\n", EVALUATED),
        ("card-invalid-yaml", b"---\nlicense: [mit\n---\n", EVALUATED),
        ("card-unclosed", b"---\nlicense: mit\n# no closing line\n", EVALUATED),
        ("card-list", b"---\n- a\n---\n", EVALUATED),
        ("card-bad-date", b"---\ndate: 2020-13-45\n---\n", EVALUATED),
        ("card-deep", b"---\na: " + b"[" * 2000 + b"]" * 2000 + b"\n---\n", EVALUATED),
        (
            "card-markers",
            b"<!-- evalbot:results:start -->\n<!-- evalbot:results:start -->\n",
            EVALUATED,
        ),
        ("card-empty", b"", EVALUATED),
        ("card-binary", bytes(range(256)), EVALUATED),
    ]
    cases += [
        RepoCase(name, {**model, "README.md": data}, expected, discovered=False)
        for name, data, expected in hidden
    ]
    cases.append(RepoCase("revision-gone", model, gone, discovered=False, sha="e" * 40))
    cases.append(RepoCase("never-pushed", {}, gone, discovered=False, then="delete"))
    return cases
