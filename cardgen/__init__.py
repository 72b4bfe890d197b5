"""Results → model-index entries, a card section, and PR title/body; merged into the existing card."""

from .audit import Claim, audit, claims_to_dicts
from .card import CardChange, decode_card, propose_card, read_results
from .diff import card_diff
from .errors import CardError, Refusal, SigningKeyError, TokenError, TokenProblem
from .pr import parse_marker, pr_body, pr_title
from .signing import Signer, verify_token

__all__ = [
    "CardChange",
    "CardError",
    "Claim",
    "Refusal",
    "Signer",
    "SigningKeyError",
    "TokenError",
    "TokenProblem",
    "audit",
    "card_diff",
    "claims_to_dicts",
    "decode_card",
    "parse_marker",
    "pr_body",
    "pr_title",
    "propose_card",
    "read_results",
    "verify_token",
]
