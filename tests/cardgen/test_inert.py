"""Untrusted text as one inert code span: one line, capped, no comment delimiters, fence rule."""

from __future__ import annotations

import re

import pytest

from cardgen.inert import MAX_CHARS, code, escape_pipes, one_line
from tests.cardgen.markdown_check import HOSTILE, render

NASTY = (
    *HOSTILE,
    "",
    " ",
    "`",
    "``",
    "a`b``c```d",
    "`leading",
    "trailing`",
    "<!--->",
    "<<!--!-->>",
    "<!-\n-",
    "-\n->",
    "\\",
    "a\\",
    "[x]: https://evil.example/ref",
    "* list\n1. item\n> quote\n    indented\n```\nfence",
    "\x00\x1b[31mred\x7f\x85\u2028\u2029\u200b\u200e\u2066\ufeff",
    "x" * 1000,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a\nb\r\nc\rd\te", "a b c d e"),
        ("  spaced \n\n out  ", "spaced out"),
        ("nel\x85ls\u2028ps\u2029vt\x0bff\x0c", "nel ls ps vt ff"),
        ("bidi\u202eevil\u2066", "bidi evil"),
        ("zero\u200bwidth", "zero width"),
        ("<!-- x -->", "‹!-- x --›"),
        ("<!--->", "‹!---›"),
        ("<!-\n- a -\n->", "<!- - a - ->"),
        ("a < b > c -- d", "a < b > c -- d"),
        ("", ""),
    ],
)
def test_one_line(text: str, expected: str) -> None:
    assert one_line(text) == expected


def test_one_line_is_capped() -> None:
    long = "word " * 100
    capped = one_line(long)
    assert len(capped) == MAX_CHARS and capped.endswith("wo…")
    assert one_line("abcdef", limit=4) == "abc…"
    longest_imagenet_class = (
        "cash machine, cash dispenser, automated teller machine, automatic teller machine, "
        "automated teller, automatic teller, ATM"
    )
    assert one_line(longest_imagenet_class) == longest_imagenet_class


@pytest.mark.parametrize("text", NASTY)
def test_one_line_has_no_line_break_control_or_comment(text: str) -> None:
    line = one_line(text)
    assert line == line.strip() and len(line) <= MAX_CHARS
    assert "<!--" not in line and "-->" not in line
    assert not re.search(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u200b-\u200f\u202a-\u202e]", line)
    assert len(line.splitlines()) <= 1


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("plain", "`plain`"),
        ("`x`", "`` `x` ``"),
        ("a``b", "```a``b```"),
        ("a`b``c```d", "````a`b``c```d````"),
        ("", "` `"),
        ("x\n# y", "`x # y`"),
    ],
)
def test_code_fence(text: str, expected: str) -> None:
    assert code(text) == expected


@pytest.mark.parametrize("text", NASTY)
def test_code_is_one_code_span_for_commonmark(text: str) -> None:
    html = render(f"before {code(text)} after\n")

    # One paragraph: the text before, one <code> element holding the whole line, the text after.
    match = re.fullmatch(r"<p>before <code>(.*)</code> after</p>\n", html, re.DOTALL)
    assert match, html
    assert "<code>" not in match.group(1)
    assert match.group(1).count("\n") == 0


@pytest.mark.parametrize("text", NASTY)
def test_code_in_a_table_keeps_the_cells(text: str) -> None:
    table = f"| a | b |\n| --- | --- |\n| {code(text, table=True)} | 1 |\n"
    html = render(table)

    body = html.split("<tbody>")[1]
    assert body.count("<tr>") == 1 and body.count("<td>") == 2, html
    assert body.count("<code>") == 1 and "<td>1</td>" in body


@pytest.mark.parametrize(
    ("markdown", "expected"),
    [
        ("a|b", "a\\|b"),
        ("a\\|b", "a∖\\|b"),  # the author's backslash cannot escape our escape
        ("a\\\\|b", "a\\∖\\|b"),
        ("no pipe \\ here", "no pipe \\ here"),
    ],
)
def test_escape_pipes(markdown: str, expected: str) -> None:
    escaped = escape_pipes(markdown)
    assert escaped == expected
    # Every pipe is preceded by exactly one backslash: GFM parsers agree it is escaped.
    assert all(escaped[i - 1] == "\\" and escaped[i - 2] != "\\" for i in _pipes(escaped))


def _pipes(text: str) -> list[int]:
    return [i for i, c in enumerate(text) if c == "|"]
