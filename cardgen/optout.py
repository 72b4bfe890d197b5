"""Whether a model repo opted out of evalbot, or explicitly in: one rule for the whole bot.

Opted out: a repo tag or card front-matter tag ``no-evalbot`` or ``evalbot:false`` (any case,
spaces ignored: ``evalbot: false`` as a tag counts too), or the front-matter key
``evalbot: false`` (also ``no`` or ``off``, as YAML 1.1 spells false). The front matter is parsed
as YAML, never searched as text; a card whose front matter cannot be read does not opt out by its
card (its repo tags still count).

Opted in: the tag ``evalbot``, on the repo or in the card, and no opt-out. It lifts the pause that
follows a PR the author closed without merging.

Example:
    >>> opted_out(["text-classification", "No-Evalbot"], None)
    True
    >>> opted_out([], "---\\nevalbot: false\\n---\\n# M\\n")
    True
    >>> opted_in([], "---\\ntags: [evalbot]\\n---\\n# M\\n")
    True
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from .errors import CardError
from .frontmatter import split_front_matter

OPT_OUT_TAG = "no-evalbot"
OPT_OUT_TAGS = frozenset({OPT_OUT_TAG, "evalbot:false"})
OPT_IN_TAG = "evalbot"
KEY = "evalbot"  # the front-matter key: `evalbot: false` opts out
_FALSE = frozenset({"false", "no", "off"})


def opted_out(tags: Iterable[str], card: str | None) -> bool:
    """Whether the repo's tags or its card opt out of evalbot (see the module docstring).

    Args:
        tags: The repo's tags on the Hub (they include the card's own tags).
        card: The README.md, or None when there is none or it was not read.

    Example:
        >>> opted_out(["evalbot:false"], None), opted_out([], "evalbot: false")
        (True, False)
    """
    return bool(_normalised(tags) & OPT_OUT_TAGS) or card_opt_out(_front(card)) is not None


def opted_in(tags: Iterable[str], card: str | None) -> bool:
    """Whether the repo explicitly invites evalbot: the tag ``evalbot`` and no opt-out.

    Args:
        tags: The repo's tags on the Hub.
        card: The README.md, or None.

    Example:
        >>> opted_in(["evalbot"], None), opted_in(["evalbot", "no-evalbot"], None)
        (True, False)
    """
    front = _front(card)
    repo_tags = _normalised(tags)
    if repo_tags & OPT_OUT_TAGS or card_opt_out(front) is not None:
        return False
    return OPT_IN_TAG in repo_tags | _normalised(_card_tags(front))


def card_opt_out(front: Mapping[str, object]) -> str | None:
    """How a card's parsed front matter opts out, in words, or None when it does not.

    Example:
        >>> card_opt_out({"tags": ["nlp", "NO-EVALBOT"]})
        "tag 'no-evalbot'"
        >>> card_opt_out({"evalbot": False})
        "key 'evalbot: false'"
    """
    tags = sorted(_normalised(_card_tags(front)) & OPT_OUT_TAGS)
    if tags:
        return f"tag '{tags[0]}'"
    if _is_false(front.get(KEY)):
        return f"key '{KEY}: false'"
    return None


def _front(card: str | None) -> Mapping[str, object]:
    """The card's front matter, or nothing when there is no card or it cannot be read."""
    if card is None:
        return {}
    try:
        front, _ = split_front_matter(card.removeprefix("\ufeff"), repo_id="")
    except CardError:
        return {}
    return front


def _card_tags(front: Mapping[str, object]) -> list[str]:
    """The front matter's ``tags`` as strings; an entry ``- evalbot: false`` (a mapping in YAML)
    reads as the tag ``evalbot:false`` it was meant to be."""
    value = front.get("tags")
    items = value if isinstance(value, list) else [value]
    tags = []
    for item in items:
        if isinstance(item, str):
            tags.append(item)
        elif isinstance(item, dict) and len(item) == 1:
            ((key, inner),) = item.items()
            tags.append(f"{key}:{str(inner).casefold()}")
    return tags


def _normalised(tags: Iterable[str]) -> set[str]:
    """Tags compared case-insensitively, without spaces: "Evalbot: False" is "evalbot:false"."""
    return {"".join(tag.split()).casefold() for tag in tags if isinstance(tag, str)}


def _is_false(value: object) -> bool:
    return value is False or (isinstance(value, str) and value.strip().casefold() in _FALSE)
