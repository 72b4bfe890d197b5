from __future__ import annotations

import pickle
import re

import pytest
import torch

import perturbations
from perturbations import (
    ModalityError,
    PerturbationParamError,
    UnknownPerturbationError,
    describe_all,
    from_spec,
    get,
    names,
    suggest,
)

THESIS = ["greyscale", "flipped", "mirrored", "inverted", "rotated90"]
CORRUPTIONS = ["gaussian_noise", "gaussian_blur", "jpeg", "brightness", "contrast", "pixelate"]
TEXT = ["lowercase", "uppercase", "typos", "no_punctuation", "word_dropout"]
AUDIO = ["noise", "speed", "lowpass"]


def test_names_by_modality() -> None:
    assert names("image") == THESIS + CORRUPTIONS
    assert names("text") == TEXT
    assert names("audio") == AUDIO
    assert names() == THESIS + CORRUPTIONS + TEXT + AUDIO
    with pytest.raises(ValueError, match="modality"):
        names("video")


def test_unknown_name_suggests_the_closest() -> None:
    with pytest.raises(UnknownPerturbationError) as info:
        get("greyscal")
    assert str(info.value) == "unknown perturbation 'greyscal' — did you mean 'greyscale'?"
    assert info.value.args[0] == str(info.value)
    assert isinstance(info.value, KeyError)
    assert suggest("grayscale") == "greyscale"
    assert suggest("zzzzzz") is None
    with pytest.raises(UnknownPerturbationError) as info:
        get("zzzzzz")
    assert str(info.value) == "unknown perturbation 'zzzzzz'"


@pytest.mark.parametrize(
    ("name", "params", "message"),
    [
        ("gaussian_noise", {"severity": 0}, "severity must be an int 1–5 (got 0)"),
        ("gaussian_noise", {"severity": 6}, "severity must be an int 1–5 (got 6)"),
        ("gaussian_noise", {"severity": 2.0}, "severity must be an int 1–5 (got 2.0)"),
        ("gaussian_noise", {"severity": True}, "severity must be an int 1–5 (got True)"),
        ("jpeg", {"severity": "3"}, "severity must be an int 1–5 (got '3')"),
        ("typos", {"rate": 0}, "rate must be a number 0.01–0.5 (got 0)"),
        ("word_dropout", {"rate": 0.9}, "rate must be a number 0.01–0.5 (got 0.9)"),
        ("word_dropout", {"rate": float("nan")}, "rate must be a number 0.01–0.5 (got nan)"),
        (
            "gaussian_noise",
            {"sevrity": 3},
            "unknown parameter 'sevrity' — did you mean 'severity'?",
        ),
        ("greyscale", {"severity": 3}, "greyscale takes no parameters"),
    ],
)
def test_bad_params_name_the_param_and_range(name: str, params: dict, message: str) -> None:
    with pytest.raises(PerturbationParamError, match=re.escape(message)) as info:
        get(name, **params)
    assert isinstance(info.value, ValueError)
    assert info.value.perturbation == name


def test_variant_id_is_canonical() -> None:
    assert get("greyscale").variant_id == "greyscale"
    assert get("gaussian_noise").variant_id == "gaussian_noise(severity=3)"
    assert get("gaussian_noise", severity=5).variant_id == "gaussian_noise(severity=5)"
    assert get("typos").variant_id == "typos(rate=0.05)"
    assert get("word_dropout", rate=0.2).variant_id == "word_dropout(rate=0.2)"
    assert get("typos", rate=1 / 4).variant_id == "typos(rate=0.25)"
    for name in names():
        p = get(name)
        assert from_spec(p.variant_id) == p
        assert get(name) == p and hash(get(name)) == hash(p)


def test_from_spec_reads_both_yaml_forms_and_variant_ids() -> None:
    assert from_spec("greyscale") == get("greyscale")
    assert from_spec({"name": "gaussian_noise", "severity": 3}) == get("gaussian_noise", severity=3)
    assert from_spec({"name": "gaussian_noise"}) == from_spec("gaussian_noise")
    assert from_spec("gaussian_noise(severity=4)") == get("gaussian_noise", severity=4)
    assert from_spec("typos( rate = 0.1 )") == get("typos", rate=0.1)
    assert from_spec("typos()") == get("typos")
    with pytest.raises(UnknownPerturbationError, match="did you mean 'mirrored'"):
        from_spec({"name": "mirored"})
    with pytest.raises(UnknownPerturbationError, match="did you mean 'mirrored'"):
        from_spec("mirored")
    with pytest.raises(PerturbationParamError, match="needs a string 'name'"):
        from_spec({"severity": 3})
    with pytest.raises(PerturbationParamError, match="severity must be"):
        from_spec({"name": "contrast", "severity": 9})
    with pytest.raises(PerturbationParamError, match="cannot read parameter"):
        from_spec("contrast(severity=high)")
    with pytest.raises(TypeError):
        from_spec(3)  # type: ignore[arg-type]


def test_perturbation_record_fields() -> None:
    mirrored = get("mirrored")
    assert mirrored.description == "Mirrored: each image is flipped left to right."
    assert mirrored.modality == "image" and mirrored.moves_boxes and not mirrored.stochastic
    assert "horizontal_flip" in mirrored.method
    noise = get("gaussian_noise", severity=2)
    assert noise.description.endswith("(severity 2 of 5).")
    assert "Hendrycks & Dietterich 2019" in noise.method and "severity=2" in noise.method
    assert noise.params == {"severity": 2} and noise.stochastic and not noise.moves_boxes
    assert "counter-clockwise" in get("rotated90").method
    assert {n for n in names() if get(n).moves_boxes} == {"flipped", "mirrored", "rotated90"}
    assert pickle.loads(pickle.dumps(noise)) == noise


def test_describe_all() -> None:
    entries = describe_all()
    assert [e["name"] for e in entries] == names()
    by_name = {e["name"]: e for e in entries}
    assert by_name["greyscale"]["params"] == {}
    assert by_name["gaussian_noise"]["params"] == {
        "severity": {"type": "int", "default": 3, "min": 1, "max": 5}
    }
    assert by_name["typos"]["params"] == {
        "rate": {"type": "float", "default": 0.05, "min": 0.01, "max": 0.5}
    }
    for entry in entries:
        assert entry["description"].endswith(".") and entry["method"]
        assert entry["modality"] in ("image", "text", "audio")


def test_modality_mismatch() -> None:
    with pytest.raises(ModalityError, match="'lowercase' is for text, not image"):
        get("lowercase").apply_images(torch.zeros(1, 3, 2, 2, dtype=torch.uint8), seed=0)
    with pytest.raises(ModalityError, match="'greyscale' is for image, not text"):
        get("greyscale").apply_texts(["a"], seed=0)
    assert isinstance(ModalityError("x", modality="text", expected="image"), TypeError)


def test_public_api() -> None:
    assert set(perturbations.__all__) >= {"Perturbation", "get", "from_spec", "names", "suggest"}
