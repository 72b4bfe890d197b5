"""Languages of models and datasets, as training-data inference compares them.

A model states its languages in its card (``language:``, which the Hub lists among its tags as
bare codes) and often in its name (``...-hate-speech-offensive-spanish``); a dataset module in
``dataset.language`` (else its ``default_for_language``). Inference never assumes a model was
trained on a dataset of other languages: a Spanish model named after an English dataset was
trained on a Spanish one.

Example:
    >>> model_languages(("pytorch", "es"), ["roberta", "hate", "speech", "spanish"])
    frozenset({'es'})
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from evaluators.config import EvaluationModule

# Codes that name one language between them: Norwegian Bokmål and Nynorsk are Norwegian
# (cards and treebanks use `no`, `nb` and `nn` for one another's texts).
_SAME = {"nb": "no", "nn": "no", "nob": "no", "nno": "no", "nor": "no", "swa": "sw", "zho": "zh"}

# English names of languages, as model names spell them, with their ISO 639 codes.
NAMES = {
    "afrikaans": "af", "albanian": "sq", "amharic": "am", "arabic": "ar", "armenian": "hy",
    "basque": "eu", "belarusian": "be", "bengali": "bn", "bangla": "bn", "bulgarian": "bg",
    "burmese": "my", "catalan": "ca", "chinese": "zh", "croatian": "hr", "czech": "cs",
    "danish": "da", "dutch": "nl", "english": "en", "estonian": "et", "filipino": "tl",
    "finnish": "fi", "french": "fr", "galician": "gl", "georgian": "ka", "german": "de",
    "greek": "el", "gujarati": "gu", "hebrew": "he", "hindi": "hi", "hungarian": "hu",
    "icelandic": "is", "indonesian": "id", "irish": "ga", "italian": "it", "japanese": "ja",
    "kannada": "kn", "kazakh": "kk", "korean": "ko", "latvian": "lv", "lithuanian": "lt",
    "macedonian": "mk", "malay": "ms", "malayalam": "ml", "maltese": "mt", "marathi": "mr",
    "mongolian": "mn", "nepali": "ne", "norwegian": "no", "persian": "fa", "farsi": "fa",
    "polish": "pl", "portuguese": "pt", "punjabi": "pa", "romanian": "ro", "russian": "ru",
    "serbian": "sr", "sinhala": "si", "slovak": "sk", "slovenian": "sl", "somali": "so",
    "spanish": "es", "swahili": "sw", "swedish": "sv", "tagalog": "tl", "tamil": "ta",
    "telugu": "te", "thai": "th", "turkish": "tr", "ukrainian": "uk", "urdu": "ur",
    "uzbek": "uz", "vietnamese": "vi", "welsh": "cy", "yoruba": "yo", "zulu": "zu",
}  # fmt: skip


def canonical(code: str) -> str:
    """One code per language (``nb`` and ``nn`` are ``no``)."""
    return _SAME.get(code, code)


# ISO 639-1: the two-letter codes (other two-letter tags, such as `tf`, are not languages)
ISO_639_1 = frozenset(
    """
    aa ab ae af ak am an ar as av ay az ba be bg bh bi bm bn bo br bs ca ce ch co cr cs cu cv
    cy da de dv dz ee el en eo es et eu fa ff fi fj fo fr fy ga gd gl gn gu gv ha he hi ho hr
    ht hu hy hz ia id ie ig ii ik io is it iu ja jv ka kg ki kj kk kl km kn ko kr ks ku kv kw
    ky la lb lg li ln lo lt lu lv mg mh mi mk ml mn mr ms mt my na nb nd ne ng nl nn no nr nv
    ny oc oj om or os pa pi pl ps pt qu rm rn ro ru rw sa sc sd se sg si sk sl sm sn so sq sr
    ss st su sv sw ta te tg th ti tk tl tn to tr ts tt tw ty ug uk ur uz ve vi vo wa wo xh yi
    yo za zh zu
    """.split()  # noqa: SIM905 (a code list)
)


def model_languages(
    tags: Iterable[str], name_words: Iterable[str], known: Iterable[str] = ()
) -> frozenset[str]:
    """The languages a model states, as canonical codes: its card's language codes (the ISO
    639-1 codes among its tags, and three-letter ones in ``known``: codes that datasets use,
    where a bare three-letter tag such as `ner` would otherwise be taken for one) and the
    language names in its name."""
    three = set(known)
    found = {canonical(tag) for tag in tags if tag in ISO_639_1 or tag in three}
    found.update(canonical(NAMES[word]) for word in name_words if word in NAMES)
    return frozenset(found)


def dataset_languages(module: EvaluationModule) -> frozenset[str]:
    """The languages of a module's dataset (empty: not said)."""
    codes = list(module.dataset.language)
    if module.default_for_language is not None:
        codes.append(module.default_for_language)
    return frozenset(canonical(code) for code in codes)


def compatible(own: frozenset[str], languages: frozenset[str]) -> bool:
    """Whether a model stating ``languages`` may have been trained on a dataset in ``own``
    (:func:`dataset_languages`): yes when either side states none, else when they share one."""
    return not own or not languages or bool(own & languages)
