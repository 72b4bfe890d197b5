"""Results → model-index entries, a card section, and PR title/body; merged into the existing card."""

from .audit import Claim, audit, claims_to_dicts
from .card import CardChange, decode_card, propose_card, read_results
from .diff import card_diff
from .errors import CardError, Refusal, SigningKeyError, TokenError, TokenProblem
from .inert import code, one_line
from .optout import OPT_IN_TAG, OPT_OUT_TAG, opted_in, opted_out
from .pr import parse_marker, parse_markers, pr_body, pr_title
from .signing import Signer, verify_token
from .update import update_comment

__all__ = [
    "OPT_IN_TAG",
    "OPT_OUT_TAG",
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
    "code",
    "decode_card",
    "one_line",
    "opted_in",
    "opted_out",
    "parse_marker",
    "parse_markers",
    "pr_body",
    "pr_title",
    "propose_card",
    "read_results",
    "update_comment",
    "verify_token",
]
