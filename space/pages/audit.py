"""The Claims audit page (``?view=audit``): the self-reported values of model cards that differ
from what evalbot measured, and the bot's public signing key."""

from __future__ import annotations

from typing import Any

import gradio as gr

from space import queries as q
from space.data import Snapshot
from space.page import Params, a, empty, esc, link, table
from space.pages.base import Page, PageParts, Site
from space.pages.model import claim_row


def audit_view(data: Snapshot, p: Params) -> str:
    au = q.audit(data)
    parts = ["<h2>Claims audit</h2>"]
    if not au.discrepancies:
        parts.append(empty("No self-reported value differs from what evalbot measured."))
    else:
        parts.append(
            f"<p>{len(au.discrepancies)} self-reported values differ from evalbot's measurement.</p>"
        )
        parts.append(
            table(
                ["model", "dataset", "split", "metric", "claimed", "measured [95% CI]", "verdict"],
                [
                    [a(link("model", model=c.model_id), c.model_id), *claim_row(c)]
                    for c in au.discrepancies
                ],
                elem_id="audit-discrepancies",
            )
        )
    parts.append("<h2>Signing key</h2>")
    if au.identity is None:
        parts.append(empty("The bot has not published its signing key yet."))
    else:
        parts.append(
            f'<p>Key id <code id="key-id">{esc(au.identity.key_id)}</code>. Check the '
            "<code>verifyToken</code> of evalbot's results with "
            "<code>evalbot verify ORG/MODEL --public-key key.pem</code>.</p>"
            f'<pre id="public-key">{esc(au.identity.public_key_pem)}</pre>'
        )
    return "\n".join(parts)


def r_audit(data: Snapshot, p: dict[str, str]) -> list[Any]:
    return [audit_view(data, p)]


def layout(site: Site) -> PageParts:
    a_html = gr.HTML(elem_id="audit-html")
    return PageParts(inputs=[], keys=[], outputs=[a_html], callback=r_audit)


PAGE = Page("audit", "Claims audit", layout, audit_view)
