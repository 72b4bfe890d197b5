"""The contract every YAML file under ``config/`` keeps, beyond what the schema checks one file at a
time: a maintainer who adds or edits a module learns here what would go wrong at evaluation time."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pytest
import yaml

from bot.cli import main
from bot.config import load_config
from evaluators.config import EvaluationModule, ModuleFile, modality
from evaluators.identity import compact, linked, normalise, trained_names
from evaluators.labels import normalize

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "config"
SHIPPED = load_config(CONFIG).modules
BY_ID = {item.module.id: item.module for item in SHIPPED}

# Class counts of the shipped datasets (a new module needs no entry here).
LABEL_COUNTS = {
    "emotion": 6,
    "imdb": 2,
    "rotten_tomatoes": 2,
    "ag_news": 4,
    "banking77": 77,
    "yelp_review_full": 5,
    "cifar10": 10,
    "cifar100": 100,
    "mnist": 10,
    "beans": 3,
    "food101": 101,
    "imagenet-1k": 1000,
    "imagenet-sketch": 1000,
    "imagenette": 10,
    "clinc_oos": 151,
    "yelp_polarity": 2,
    "klue-nli": 3,
    "boolq": 2,
    "glue-cola": 2,
    "glue-sst2": 2,
    "glue-mrpc": 2,
    "glue-qqp": 2,
    "glue-mnli-matched": 3,
    "glue-mnli-mismatched": 3,
    "glue-qnli": 2,
    "glue-rte": 2,
    "glue-wnli": 2,
    "tweet_eval-emoji": 20,
    "tweet_eval-emotion": 4,
    "tweet_eval-hate": 2,
    "tweet_eval-irony": 2,
    "tweet_eval-offensive": 2,
    "tweet_eval-sentiment": 3,
    "tweet_eval-stance_abortion": 3,
    "multi_nli-matched": 3,
    "xnli-en": 3,
    "wikiann-en": 7,
    "conll2002-es": 9,
    "hate_speech_offensive": 3,
    "subj": 2,
    "superb-ks": 12,
}

# Universal Dependencies treebanks with a part-of-speech module (configs of universal_dependencies)
TREEBANKS = (
    "en_ewt",
    "de_gsd",
    "fr_gsd",
    "es_ancora",
    "ar_padt",
    "ru_syntagrus",
    "ja_gsd",
    "zh_gsd",
    "uk_iu",
    "be_hse",
    "th_pud",
    "lzh_kyoto",
    "da_ddt",
    "fr_sequoia",
    "ko_gsd",
    "ko_kaist",
    "lv_lvtb",
    "no_bokmaal",
    "no_nynorsk",
    "nl_alpino",
    "nl_lassysmall",
    "pt_bosque",
    "ro_nonstandard",
    "ro_rrt",
    "ru_gsd",
    "sk_snk",
    "sr_set",
    "sv_talbanken",
)
WIKIANN = ("en", "de", "fr", "it", "es", "ar", "mt", "bn")
# Common Voice 17.0 locales with a speech-recognition module (module id common_voice-<code>;
# Swedish's config is sv-SE)
COMMON_VOICE = (
    *("en", "de", "fr", "es", "it", "pt", "nl", "ru", "uk", "be", "pl", "cs", "fi", "el"),
    *("tr", "fa", "ar", "hi", "ur", "ta", "mr", "ja", "th", "et", "sl", "bg", "sv", "br"),
)
# Modules whose dataset revision is not pinned yet: no public record of a full commit sha of
# their dataset was found. `evalbot validate` warns about each; pin one and drop it here.
UNPINNED = {
    "beans",
    "squad",
    "squad_v2",
    "conll2003",
    "wnut_17",
    "samsum",
    "xsum",
    "cnn_dailymail",
    "wmt16-en-ro",
    "wmt16-ro-en",
    "wmt16-en-de",
    "wmt16-de-en",
    "opus100-en-fr",
    "masakhaner",
    "clinc_oos",
    "yelp_polarity",
    "klue-nli",
    "snli",
    "anli-r1",
    "anli-r2",
    "anli-r3",
    *(f"tweet_eval-{part}" for part in ("emoji", "emotion", "hate", "irony", "offensive")),
    *(f"tweet_eval-{part}" for part in ("sentiment", "stance_abortion", "stance_atheism")),
    *(f"tweet_eval-stance_{topic}" for topic in ("climate", "feminist", "hillary")),
    *(f"xnli-{lang}" for lang in ("en", "de", "fr", "es", "zh", "ar")),
    *(f"wikiann-{lang}" for lang in WIKIANN),
    *(f"ud-{treebank}" for treebank in TREEBANKS),
    # Roboflow exports read as COCO zips (format: coco-zip)
    *(f"keremberke-{name}" for name in ("license-plate", "blood-cell", "construction-safety")),
    *(f"keremberke-{name}" for name in ("clash-of-clans", "nfl", "garbage", "smoke")),
    "conll2002-es",
    "conll2002-nl",
    "ontonotes5",
    "hate_speech_offensive",
    "subj",
    # speech: every module but fleurs-en_us (pinned at the commit MTEB evaluates)
    *(f"common_voice-{code}" for code in COMMON_VOICE),
    "librispeech-test-clean",
    "librispeech-test-other",
    "npsc-bokmaal",
    "npsc-nynorsk",
    "gigaspeech",
    "spgispeech",
    "tedlium",
    "superb-ks",
    "mlsum-es",
    "mlsum-de",
    "opus100-fr-en",
    "opus100-en-pt",
    "opus100-pt-en",
    "wmt19-en-de",
    "wmt19-de-en",
}

# Datasets whose names several modules of one task share (a family of configs), with their
# members: each member says which config it is with config_hints.
FAMILIES = {
    # one config per language pair, each translated both ways: the model's name picks the way
    ("translation", "wmt16"): {"wmt16-en-ro", "wmt16-ro-en", "wmt16-en-de", "wmt16-de-en"},
    ("translation", "wmt19"): {"wmt19-en-de", "wmt19-de-en"},
    ("translation", "opus100"): {
        "opus100-en-fr",
        "opus100-fr-en",
        "opus100-en-pt",
        "opus100-pt-en",
    },
    ("summarization", "mlsum"): {"mlsum-es", "mlsum-de"},
    # one module per locale; a model declaring any release gets its card language's
    ("automatic-speech-recognition", "common_voice"): {
        f"common_voice-{code}" for code in COMMON_VOICE
    },
    ("automatic-speech-recognition", "npsc"): {"npsc-bokmaal", "npsc-nynorsk"},
    ("text-classification", "glue"): {
        "glue-cola",
        "glue-sst2",
        "glue-mrpc",
        "glue-qqp",
        "glue-mnli-matched",
        "glue-mnli-mismatched",
        "glue-qnli",
        "glue-rte",
        "glue-wnli",
    },
    ("text-classification", "tweet_eval"): {
        f"tweet_eval-{config}"
        for config in (
            "emoji",
            "emotion",
            "hate",
            "irony",
            "offensive",
            "sentiment",
            "stance_abortion",
            "stance_atheism",
            "stance_climate",
            "stance_feminist",
            "stance_hillary",
        )
    },
    ("text-classification", "xnli"): {
        f"xnli-{lang}" for lang in ("en", "de", "fr", "es", "zh", "ar")
    },
    ("text-classification", "multi_nli"): {"multi_nli-matched", "multi_nli-mismatched"},
    ("text-classification", "anli"): {"anli-r1", "anli-r2", "anli-r3"},
    # also named xtreme: XTREME's PAN-X configs are WikiANN's languages
    ("token-classification", "wikiann"): {f"wikiann-{lang}" for lang in WIKIANN},
    ("token-classification", "conll2002"): {"conll2002-es", "conll2002-nl"},
    # a model declaring it without a treebank gets its card language's (default_for_language)
    ("token-classification", "universal_dependencies"): {f"ud-{t}" for t in TREEBANKS},
}

# Modules whose examples are pairs of texts: (first column, second column).
PAIRS = {
    "glue-mrpc": ("sentence1", "sentence2"),
    "glue-qqp": ("question1", "question2"),
    "glue-mnli-matched": ("premise", "hypothesis"),
    "glue-mnli-mismatched": ("premise", "hypothesis"),
    "glue-qnli": ("question", "sentence"),
    "glue-rte": ("sentence1", "sentence2"),
    "glue-wnli": ("sentence1", "sentence2"),
    "multi_nli-matched": ("premise", "hypothesis"),
    "multi_nli-mismatched": ("premise", "hypothesis"),
    "klue-nli": ("premise", "hypothesis"),
    "snli": ("premise", "hypothesis"),
    "boolq": ("question", "passage"),
    **{f"anli-r{r}": ("premise", "hypothesis") for r in (1, 2, 3)},
    **{f"xnli-{lang}": ("premise", "hypothesis") for lang in ("en", "de", "fr", "es", "zh", "ar")},
}


@pytest.fixture(params=SHIPPED, ids=lambda item: item.module.id)
def item(request: pytest.FixtureRequest) -> ModuleFile:
    return request.param  # type: ignore[no-any-return]


@pytest.fixture
def module(item: ModuleFile) -> EvaluationModule:
    return item.module


def test_every_yaml_file_is_loaded() -> None:
    """Each file is bot.yaml, a module, or a template some module includes (no dead files)."""
    used = {CONFIG / "bot.yaml"} | {item.path for item in SHIPPED}
    for item in SHIPPED:
        path = item.path
        while (include := yaml.safe_load(path.read_text()).get("include")) is not None:
            path = (path.parent / include).resolve()
            used.add(path)
    assert sorted(CONFIG.rglob("*.yaml")) == sorted(used)


def test_shipped_modules() -> None:
    assert set(LABEL_COUNTS) <= set(BY_ID)
    assert set(UNPINNED) <= set(BY_ID)
    assert {m: len(BY_ID[m].dataset.labels) for m in LABEL_COUNTS} == LABEL_COUNTS


def test_module_is_complete(item: ModuleFile) -> None:
    module = item.module
    assert item.path.stem == module.id
    dataset = module.dataset
    assert dataset.description and dataset.homepage and dataset.reference
    assert dataset.reference.url or dataset.reference.arxiv
    assert module.limit is None, "limit is for local runs, never shipped"


def test_dataset_revision_is_pinned_or_listed_as_unpinned(module: EvaluationModule) -> None:
    """Results name the dataset commit they were computed on; a pin keeps that commit the same
    for every model (the schema allows only full commit shas)."""
    assert (module.dataset.revision is None) == (module.id in UNPINNED)


def test_labels_and_aliases_are_unambiguous(module: EvaluationModule) -> None:
    """Label matching ignores case and separators: no two spellings may name two classes."""
    owner: dict[str, str] = {}
    for label in module.dataset.labels:
        assert normalize(label) not in owner, f"{label!r} clashes with {owner[normalize(label)]!r}"
        owner[normalize(label)] = label
    for label, aliases in module.label_aliases.items():
        for alias in aliases:
            assert owner.setdefault(normalize(alias), label) == label, f"alias {alias!r}"


def test_perturbations_fit_the_modality(module: EvaluationModule) -> None:
    assert {p.modality for p in module.variants()} <= {modality(module.task)}


def test_trained_on_selects_one_module_per_task_outside_families() -> None:
    """A dataset name in two modules of one task would evaluate a model twice, unless the modules
    are a family's configs, told apart by their config_hints."""
    owners: dict[tuple[str, str], set[str]] = defaultdict(set)
    for item in SHIPPED:
        for name in {normalise(n) for n in trained_names(item.module)}:
            owners[item.module.task, name].add(item.module.id)
    shared = {frozenset(ids) for ids in owners.values() if len(ids) > 1}
    assert shared == {frozenset(ids) for ids in FAMILIES.values()}


@pytest.mark.parametrize("family", sorted(FAMILIES), ids=lambda key: key[1])
def test_family_members_name_their_config(family: tuple[str, str]) -> None:
    """Each member has config_hints, and two members share a hint only when they are evaluated
    together (another split of one dataset config): a hint picks one config."""
    members = [BY_ID[m] for m in sorted(FAMILIES[family])]
    for module in members:
        assert module.config_hints, module.id
    for i, a in enumerate(members):
        for b in members[i + 1 :]:
            shared = {normalise(h) for h in a.config_hints} & {normalise(h) for h in b.config_hints}
            assert not shared or linked(a, b), (a.id, b.id, shared)


def test_family_hints_do_not_repeat_another_dataset_s_name() -> None:
    """A config hint that is also the name of another dataset of the task would make a model's
    name point to two datasets (``emotion``: the dataset's own name wins, see
    evaluators.inference)."""
    for item in SHIPPED:
        module = item.module
        own = {normalise(n) for n in trained_names(module)}
        others = {
            compact(normalise(n))
            for other in SHIPPED
            if other.module.task == module.task
            and not own & {normalise(n) for n in trained_names(other.module)}
            for n in trained_names(other.module)
        }
        clashes = {h for h in module.config_hints if compact(normalise(h)) in others}
        assert clashes <= {"emotion"}, (module.id, clashes)


def test_pair_modules_read_both_texts() -> None:
    """Pair tasks (NLI, paraphrase) give the model both texts, as it was trained."""
    pairs = {
        item.module.id: (item.module.dataset.columns.input, roles["text_pair"])
        for item in SHIPPED
        if "text_pair" in (roles := item.module.dataset.columns.roles())
    }
    assert pairs == PAIRS


def test_three_class_nli_modules_refuse_generic_labels() -> None:
    """NLI models come with entailment/neutral/contradiction in more than one order: a model with
    LABEL_0..2 cannot be read by position."""
    nli = {
        m: BY_ID[m].positional_labels
        for m in BY_ID
        if [normalize(label) for label in BY_ID[m].dataset.labels]
        == ["entailment", "neutral", "contradiction"]
    }
    assert set(nli) == {
        m for m in PAIRS if m.startswith(("glue-mnli", "multi_nli", "xnli", "klue", "anli", "snli"))
    }
    assert not any(nli.values())


def test_glue_modules_evaluate_validation_splits() -> None:
    """GLUE's test labels are hidden: its modules read validation splits and say why."""
    for module_id in FAMILIES["text-classification", "glue"]:
        dataset = BY_ID[module_id].dataset
        assert dataset.split.startswith("validation"), module_id
        assert dataset.description and "test labels are hidden" in dataset.description


def test_also_evaluate_on_names_compatible_modules(module: EvaluationModule) -> None:
    for other_id in module.also_evaluate_on:
        assert other_id != module.id
        other = BY_ID[other_id]
        assert other.task == module.task
        labels = [normalize(label) for label in module.dataset.labels]
        assert [normalize(label) for label in other.dataset.labels] == labels


def test_imagenet_models_also_meet_sketches() -> None:
    assert BY_ID["imagenet-1k"].also_evaluate_on == ["imagenet-sketch"]
    assert "imagenet-sketch" in BY_ID["imagenet-sketch"].trained_on


@pytest.mark.slow  # end to end: `evalbot validate` as a process
def test_cli_validates_the_shipped_config() -> None:
    """Offline here (no Hub at HF_ENDPOINT): benchmark task ids are reported as not checked.
    tests/bot/test_benchmark_pr.py checks them against the sandbox Hub."""
    evalbot = Path(sys.executable).with_name("evalbot")
    offline = {**os.environ, "HF_ENDPOINT": "http://127.0.0.1:9"}
    done = subprocess.run(
        [str(evalbot), "validate", "config"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        env=offline,
    )
    assert done.returncode == 0, done.stderr
    assert f"({len(SHIPPED)} evaluation modules)" in done.stdout
    benchmarks = [item.module.id for item in SHIPPED if item.module.benchmark is not None]
    assert benchmarks == ["mteb-mnist"]
    assert done.stdout.count("not checked: module ") == len(benchmarks)
    assert done.stdout.count("dataset.revision is not pinned") == len(UNPINNED)


@pytest.fixture
def config_copy(tmp_path: Path) -> Path:
    """The shipped config folder, copied so a test can break one file (includes still resolve)."""
    shutil.copytree(CONFIG, tmp_path / "config")
    return tmp_path / "config"


@pytest.mark.parametrize(
    ("module_file", "append", "expected"),
    [
        (
            "image-classification/beans.yaml",
            "perturbations: [greyscal]",
            "unknown perturbation 'greyscal' — did you mean 'greyscale'?",
        ),
        (
            "image-classification/beans.yaml",
            "perturbations: [{name: gaussian_noise, severity: 7}]",
            "severity must be an int 1–5 (got 7)",
        ),
        (
            "image-classification/beans.yaml",
            "perturbations: [typos]",
            "'typos' is for text, this module's task 'image-classification' takes image",
        ),
        (
            "text-classification/imdb.yaml",
            "processors: [classification, calibraton]",
            "unknown processor 'calibraton' — did you mean 'calibration'?",
        ),
    ],
)
def test_cli_rejects_a_bad_module_file(
    config_copy: Path,
    capsys: pytest.CaptureFixture[str],
    module_file: str,
    append: str,
    expected: str,
) -> None:
    path = config_copy / "tasks" / module_file
    path.write_text(path.read_text() + append + "\n")
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert str(path) in err
    assert expected in err


def test_cli_rejects_an_unknown_also_evaluate_on(
    config_copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = config_copy / "tasks" / "text-classification" / "imdb.yaml"
    path.write_text(path.read_text().replace("[rotten_tomatoes]", "[rotten_tomatoe]"))
    assert main(["validate", str(config_copy)]) == 2
    err = capsys.readouterr().err
    assert str(path) in err
    assert "unknown module 'rotten_tomatoe' — did you mean 'rotten_tomatoes'?" in err


def test_ud_modules_tag_words_with_upos() -> None:
    """Each treebank's module scores words (not entities) on the dataset's UPOS tags in its
    language, and each language with a module has one default treebank (Norwegian's two written
    standards one each, under their card codes nb and nn)."""
    defaults: dict[str, list[str]] = {}
    for treebank in TREEBANKS:
        module = BY_ID[f"ud-{treebank}"]
        assert module.tagging == "words" and module.dataset.config == treebank
        assert module.dataset.columns.roles() == {"tokens": "tokens", "tags": "upos"}
        assert len(module.dataset.labels) == 18 and module.dataset.labels[13] == "_"
        assert treebank in module.config_hints
        assert module.default_for_language not in module.config_hints
        language = treebank.split("_")[0]
        assert module.dataset.language == [language]
        if module.default_for_language is not None:
            defaults.setdefault(module.default_for_language, []).append(treebank)
            assert module.default_for_language == language or (language, treebank) in {
                ("no", "no_bokmaal"),
                ("no", "no_nynorsk"),
            }
    assert all(len(treebanks) == 1 for treebanks in defaults.values()), defaults
    assert {t.split("_")[0] for t in TREEBANKS} - {"no"} <= set(defaults)


def test_common_voice_modules_follow_the_model_s_language() -> None:
    """Each Common Voice locale is one module of the family: a model declaring any release of
    Common Voice with card `language: [xx]` is evaluated on `common_voice-xx` (one default per
    language), and every release's Hub name selects the family."""
    names = {normalise(n) for n in trained_names(BY_ID["common_voice-de"])}
    assert {"mozilla-foundation/common-voice-8-0", "mozilla-foundation/common-voice-6-1"} <= names
    assert {"common-voice", "commonvoice"} <= names
    for code in COMMON_VOICE:
        module = BY_ID[f"common_voice-{code}"]
        assert module.default_for_language == code
        assert module.dataset.language == [code]
        assert module.dataset.config == ("sv-SE" if code == "sv" else code)
        roles = module.dataset.columns.roles()
        assert roles == {
            "input": "audio",
            "target": "sentence",
            "gender": "gender",
            "accent": "accent",
        }


def test_speech_modules_read_audio_and_perturb_it() -> None:
    """Speech modules name an audio input and a transcript (or a label), and their perturbed
    variants are audio ones (noise, low-pass, speed)."""
    speech = [m for m in BY_ID.values() if m.task == "automatic-speech-recognition"]
    assert len(speech) >= 30
    for module in speech:
        assert module.dataset.columns.input == "audio" and module.dataset.columns.role("target")
        assert {p.name for p in module.variants()} == {"noise", "lowpass"}
    ks = BY_ID["superb-ks"]
    assert ks.dataset.labels[-2:] == ["_silence_", "_unknown_"]
    assert {p.name for p in ks.variants()} == {"noise", "speed"}
