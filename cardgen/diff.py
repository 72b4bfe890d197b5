"""A unified diff of a card change, for `evalbot evaluate --dry-run` to print."""

from __future__ import annotations

import difflib
import re

_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+$")


def card_diff(old: str | None, new: str, *, repo_id: str) -> str:
    """Unified diff from the current README.md (None: no README yet) to the proposed one.

    Line endings are kept in the diff lines; a last line without a line break is flagged the way
    git does.

    Example:
        >>> print(card_diff("a\\n", "b\\n", repo_id="org/m"), end="")
        --- a/org/m/README.md
        +++ b/org/m/README.md
        @@ -1 +1 @@
        -a
        +b
    """
    lines = difflib.unified_diff(
        _LINE.findall(old or ""),
        _LINE.findall(new),
        fromfile="/dev/null" if old is None else f"a/{repo_id}/README.md",
        tofile=f"b/{repo_id}/README.md",
    )
    return "".join(
        line if line.endswith(("\n", "\r")) else f"{line}\n\\ No newline at end of file\n"
        for line in lines
    )
