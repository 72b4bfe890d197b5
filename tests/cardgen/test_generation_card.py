"""Cards of summarization and translation results: the Hub's metric ids in model-index, the
decoding settings and sacreBLEU's signature in the section, length buckets without TP/FP/FN, and
the claims audit reading ROUGE and BLEU written in percent."""

from __future__ import annotations

import dataclasses

import yaml

from cardgen.audit import audit
from cardgen.card import propose_card
from cardgen.section import render_section
from store.types import ClassResult, EvaluationRecord
from tests.cardgen.conftest import emotion_record

SIGNATURE = "nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:2.6.0"


def _bucket(class_id: int, label: str, support: int, **metrics: float) -> ClassResult:
    return ClassResult(class_id, label, 0, 0, 0, support, None, None, None, metrics=metrics)


def summary_record() -> EvaluationRecord:
    return dataclasses.replace(
        emotion_record(),
        model_id="acme/bart-samsum",
        task="summarization",
        module_id="samsum",
        dataset_id="Samsung/samsum",
        dataset_name="SAMSum",
        dataset_config="samsum",
        num_examples=819,
        metrics={
            "rouge1": 0.4712,
            "rouge2": 0.2411,
            "rougeL": 0.3902,
            "rougeLsum": 0.4377,
            "gen_len": 21.3,
        },
        classes=(
            _bucket(0, "0-49 words", 300, rouge1=0.5, rouge2=0.3, rougeL=0.4, rougeLsum=0.45),
            _bucket(1, "50-99 words", 519, rouge1=0.45, rouge2=0.2, rougeL=0.38, rougeLsum=0.43),
        ),
        label_mapping={},
        settings={"decoding": "beam search", "num_beams": 4, "max_new_tokens": 60},
    )


def translation_record() -> EvaluationRecord:
    return dataclasses.replace(
        emotion_record(),
        model_id="acme/bart-samsum",
        task="translation",
        module_id="wmt16-en-ro",
        dataset_id="wmt/wmt16",
        dataset_name="WMT16 English-Romanian",
        dataset_config="ro-en",
        num_examples=1999,
        metrics={"bleu": 0.2807, "chrf": 0.5512, "gen_len": 31.0},
        classes=(_bucket(1, "10-19 words", 1999, bleu=0.2807, chrf=0.5512),),
        label_mapping={},
        settings={"decoding": "greedy", "sacrebleu_bleu": SIGNATURE},
    )


def test_model_index_uses_the_hubs_ids() -> None:
    proposal = propose_card(
        None,
        [summary_record(), translation_record()],
        repo_id="acme/bart-samsum",
        space_url="https://s",
    )
    assert yaml.safe_load(proposal.text.split("---")[1])["model-index"]
    results = proposal.model_index
    types = {r["task"]["type"]: [m["type"] for m in r["metrics"]] for r in results}
    assert types == {
        "summarization": ["rouge1", "rouge2", "rougeL", "rougeLsum"],
        "translation": ["bleu", "chrf"],
    }


def test_section_shows_settings_and_buckets_without_counts() -> None:
    section = render_section(
        [summary_record(), translation_record()], repo_id="acme/bart-samsum", space_url="https://s"
    )
    assert "Settings: decoding `beam search`; num beams `4`; max new tokens `60`." in section
    assert f"sacrebleu bleu `{SIGNATURE}`" in section
    assert "| input length | ROUGE-1 | ROUGE-2 | ROUGE-L | ROUGE-Lsum | examples |" in section
    assert "| `0-49 words` |" in section
    assert "TP" not in section.split("### SAMSum")[1].split("### WMT16")[0]


def test_the_audit_reads_rouge_and_bleu_in_percent() -> None:
    card = """---
model-index:
- name: m
  results:
  - task: {type: summarization}
    dataset: {type: Samsung/samsum, name: SAMSum, config: samsum, split: test}
    metrics:
    - {type: rouge1, value: 47.12, name: Rouge1}
    - {type: rougeL, value: 45.0, name: RougeL}
  - task: {type: translation}
    dataset: {type: wmt/wmt16, name: wmt16, config: ro-en, split: test}
    metrics:
    - {type: sacrebleu, value: 28.07}
---
# m
"""
    claims = {c.metric: c for c in audit(card, [summary_record(), translation_record()])}
    assert claims["rouge1"].claimed == 0.4712 and claims["rouge1"].agrees
    assert "percentage" in claims["rouge1"].note
    assert not claims["rougeL"].agrees
    assert claims["rougeL"].verdict == "claims 6.0 points more than measured"
    assert claims["bleu"].claimed == 0.2807 and claims["bleu"].agrees


def speech_record() -> EvaluationRecord:
    return dataclasses.replace(
        emotion_record(),
        model_id="acme/bart-samsum",
        task="automatic-speech-recognition",
        module_id="librispeech-clean",
        dataset_id="openslr/librispeech_asr",
        dataset_name="LibriSpeech",
        dataset_config="clean",
        num_examples=2620,
        metrics={"wer": 0.0412, "cer": 0.0151, "wer_raw": 0.2233, "cer_raw": 0.0702},
        classes=(_bucket(0, "length: 0-2 s", 300, wer=0.08, cer=0.03),),
        label_mapping={},
        settings={"decoding": "greedy CTC", "normalizer": "Whisper's English normaliser"},
    )


def _asr_card(*metrics: str) -> str:
    listed = "\n".join(f"    - {m}" for m in metrics)
    return f"""---
model-index:
- name: m
  results:
  - task: {{type: automatic-speech-recognition}}
    dataset: {{type: openslr/librispeech_asr, name: LibriSpeech, config: clean, split: test}}
    metrics:
{listed}
---
# m
"""


def test_the_audit_reads_wer_in_percent_and_says_lower_is_better() -> None:
    card = _asr_card("{type: wer, value: 4.12, name: Test WER}", "{type: cer, value: 0.9}")
    claims = {c.metric: c for c in audit(card, [speech_record()])}
    assert claims["wer"].claimed == 0.0412 and claims["wer"].agrees
    assert "percentage" in claims["wer"].note
    assert claims["cer"].claimed == 0.009  # 0.9 read as 0.9 %, the nearer reading
    assert "the nearer reading" in claims["cer"].note
    assert claims["cer"].verdict == (
        "claims 0.6 points less than measured (lower is better: the card claims fewer errors)"
    )


def test_a_wer_computed_without_normalisation_is_a_mismatch_not_a_discrepancy() -> None:
    claims = audit(_asr_card("{type: wer, value: 22.3}"), [speech_record()])
    (claim,) = claims
    assert claim.agrees and claim.verdict == "agrees without text normalisation"
    assert "matches ours without text normalisation (0.2233)" in claim.note
    assert "Whisper's English normaliser" in claim.note
    (far,) = audit(_asr_card("{type: wer, value: 12.0}"), [speech_record()])
    assert not far.agrees and "more errors" in far.verdict
