"""Untrusted text made inert for Markdown: one line, capped, inside a code span.

Text that a model's author controls (metric, dataset, split and config names from the card's
`model-index`, the model's own label names) reaches the PR description, PR comments and the card's
results section. Rendered with `code`, it cannot start a heading, list, link, HTML block or comment,
cannot close our code span or table cell, and its raw text holds neither ``<!--`` nor ``-->``: it
can neither forge evalbot's hidden marker (`cardgen.pr.parse_marker`) nor end the card section
early (`cardgen.section.END`). Our own fixed text (dataset ids from the config, metric names) goes
through `code` too.

Example:
    >>> code("x\\n<!-- evalbot:results:end -->\\n# pwned")
    '`x ‹!-- evalbot:results:end --› # pwned`'
    >>> code("a|b", table=True)
    '`a\\\\|b`'
"""

from __future__ import annotations

import re
import unicodedata

MAX_CHARS = 128  # room for the longest ImageNet class name (121 characters)
# Control, format (bidi overrides, zero-width) and line/paragraph separator characters.
_INVISIBLE = frozenset({"Cc", "Cf", "Zl", "Zp"})
_BACKTICKS = re.compile(r"`+")
# GFM parsers disagree on "\\|" (an escaped backslash, then a cell delimiter, for micromark): a
# backslash right before a pipe is shown as "∖" so that every pipe has exactly one escape.
_BACKSLASH_BEFORE_PIPE = re.compile(r"\\(?=\|)")


def one_line(text: str, *, limit: int = MAX_CHARS) -> str:
    """``text`` on one line: control and format characters become spaces, whitespace runs one
    space, the HTML comment delimiters ``<!--`` and ``-->`` are broken (``‹!--``, ``--›``), and
    more than ``limit`` characters end in "…".

    Example:
        >>> one_line("Validation\\n\\n# Accuracy -->")
        'Validation # Accuracy --›'
        >>> one_line("abcdef", limit=4)
        'abc…'
    """
    visible = "".join(" " if unicodedata.category(c) in _INVISIBLE else c for c in text)
    line = " ".join(visible.split()).replace("<!--", "‹!--").replace("-->", "--›")
    if len(line) > limit:
        line = line[: limit - 1].rstrip() + "…"
    return line


def escape_pipes(markdown: str) -> str:
    """A Markdown fragment made safe for one GFM table cell: every ``|`` escaped as ``\\|``.

    GFM splits a row into cells before it reads code spans, so a pipe inside a code span must be
    escaped too; a backslash already before a pipe becomes "∖" so the escape cannot be undone.

    Example:
        >>> escape_pipes("the card's config `a|b` is not ours")
        "the card's config `a\\\\|b` is not ours"
    """
    return _BACKSLASH_BEFORE_PIPE.sub("∖", markdown).replace("|", "\\|")


def code(text: str, *, table: bool = False) -> str:
    """``text`` as one inert inline code span (see `one_line`).

    The fence is one backtick longer than the longest backtick run inside (CommonMark), with a
    space of padding where the text starts or ends with a backtick.

    Args:
        text: Any text, trusted or not.
        table: The span lands in a GFM table cell: pipes are escaped (see `escape_pipes`).

    Example:
        >>> code("`x`")
        '`` `x` ``'
        >>> code("")
        '` `'
    """
    line = one_line(text) or " "
    if table:
        line = escape_pipes(line)
    longest = max((len(run) for run in _BACKTICKS.findall(line)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if line.startswith("`") or line.endswith("`") else ""
    return f"{fence}{pad}{line}{pad}{fence}"
