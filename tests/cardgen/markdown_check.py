"""Checks that text from a card stays inert in what evalbot writes, read by a real Markdown parser.

markdown-it-py (CommonMark plus GFM tables) renders the PR body, comment or card section; the
checks look at the raw text too, since the bot's own marker regexes read the raw text.
"""

from __future__ import annotations

import re

from markdown_it import MarkdownIt

# Distinctive pieces of the hostile strings: none may appear outside a code span.
SENTINELS = ("pwned", "evil.example", "<script", "<b>bold", "EVIL")
FAKE_HASH = "e" * 64
FAKE_SHA = "f" * 40
FAKE_MARKER = f"<!-- evalbot:result-hash={FAKE_HASH} model-sha={FAKE_SHA} -->"
HOSTILE = (
    f"Test accuracy\n\n# pwned heading\n[click](https://evil.example/x)\n{FAKE_MARKER}\n",
    "x\n<!-- evalbot:results:end -->\n# pwned\n| a | b |\n<script>alert(1)</script>",
    "``EVIL` ```\t<b>bold</b> -->\r\n## pwned again \u202e",
    "EVIL\\|split\\\\|cells | `pwned` |",
)
_MD = MarkdownIt("commonmark").enable("table")
_CODE_SPAN = re.compile(r"(`+)(?!`)(.*?)(?<!`)\1(?!`)")
_CODE_ELEMENT = re.compile(r"<code>.*?</code>", re.DOTALL)


def render(text: str) -> str:
    return _MD.render(text)


def without_code_spans(line: str) -> str:
    """One raw line with its code spans taken out."""
    return _CODE_SPAN.sub("", line)


def assert_inert(text: str, *, own_headings: set[str], own_comments: int) -> None:
    """No hostile string escapes a code span of ``text``, raw or rendered.

    Args:
        text: Markdown evalbot wrote.
        own_headings: The heading lines evalbot itself writes.
        own_comments: How many ``<!--`` evalbot itself writes in ``text``.
    """
    lines = text.splitlines()
    assert {line for line in lines if line.lstrip().startswith("#")} <= own_headings
    assert text.count("<!--") == own_comments
    assert FAKE_MARKER not in text and "-->" not in without_own_markers(text)
    for line in lines:
        for sentinel in SENTINELS:
            assert sentinel not in without_code_spans(line), (sentinel, line)
    html = render(text)
    outside = _CODE_ELEMENT.sub("", html)
    for sentinel in SENTINELS:
        assert sentinel not in outside, sentinel
    assert "evil.example" not in "".join(re.findall(r'href="[^"]*"', html))


def without_own_markers(text: str) -> str:
    """``text`` without evalbot's own comments (card markers and the hidden result marker)."""
    text = re.sub(
        r"^<!-- evalbot:result-hash=[0-9a-f]{64} model-sha=\S+ -->$", "", text, flags=re.M
    )
    return text.replace("<!-- evalbot:results:start -->", "").replace(
        "<!-- evalbot:results:end -->", ""
    )
