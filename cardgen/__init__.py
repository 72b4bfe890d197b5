"""Results → model-index entries, a card section, and PR title/body; merged into the existing card."""

from .card import CardChange, propose_card
from .diff import card_diff
from .errors import CardError, Refusal
from .pr import parse_marker, pr_body, pr_title

__all__ = [
    "CardChange",
    "CardError",
    "Refusal",
    "card_diff",
    "parse_marker",
    "pr_body",
    "pr_title",
    "propose_card",
]
