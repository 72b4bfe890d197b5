"""The evalbot Space: browse evaluated models and one model's per-class results.

Runs on its own (``python -m space`` or ``evalbot space``) and as a Hugging Face Space
(``space/app.py``). Reads MongoDB (``MONGODB_URI``; the embedded server when unset), never writes.
Links like ``/?model=org/name`` open a model directly (PRs and cards link here).
"""

from __future__ import annotations

import os
from typing import Any

import gradio as gr

from space.queries import (
    CLASS_COLUMNS,
    MODEL_COLUMNS,
    class_table,
    model_results,
    model_summary,
    models_table,
    result_label,
)
from store.db import Store

HUB_URL = os.environ.get("HF_ENDPOINT", "https://huggingface.co").rstrip("/")


def build_app(store: Store) -> gr.Blocks:
    def refresh(search: str) -> tuple[Any, Any]:
        rows = models_table(store, search)
        choices = [r[0] for r in rows]
        return gr.update(value=rows), gr.update(choices=choices)

    def show_model(repo_id: str | None) -> tuple[str, Any, Any]:
        if not repo_id:
            return (
                "Pick a model to see its results.",
                gr.update(choices=[], value=None),
                gr.update(value=[]),
            )
        results = model_results(store, repo_id)
        labels = [result_label(r) for r in results]
        table = class_table(results[0]) if results else []
        return (
            model_summary(store, repo_id, hub_url=HUB_URL),
            gr.update(choices=labels, value=labels[0] if labels else None),
            gr.update(value=table),
        )

    def show_result(repo_id: str | None, label: str | None) -> Any:
        for record in model_results(store, repo_id or ""):
            if result_label(record) == label:
                return gr.update(value=class_table(record))
        return gr.update(value=[])

    def on_load(request: gr.Request) -> tuple[Any, Any, str, Any, Any]:
        rows = models_table(store)
        wanted = request.query_params.get("model") if request else None
        names = [r[0] for r in rows]
        selected = wanted if wanted in names else None
        summary, results, table = show_model(selected)
        return (
            gr.update(value=rows),
            gr.update(choices=names, value=selected),
            summary,
            results,
            table,
        )

    with gr.Blocks(title="evalbot — model evaluation results") as app:
        gr.Markdown(
            "# evalbot results\nEvery model below was evaluated by evalbot on the datasets it was "
            "trained on, with per-class results. Pick a model to see its classes."
        )
        search = gr.Textbox(label="Search models", placeholder="org/name", elem_id="search")
        models = gr.Dataframe(
            headers=MODEL_COLUMNS, interactive=False, elem_id="models-table", wrap=True
        )
        with gr.Row():
            model_pick = gr.Dropdown(label="Model", choices=[], elem_id="model-pick")
            result_pick = gr.Dropdown(label="Evaluation", choices=[], elem_id="result-pick")
        summary = gr.Markdown(elem_id="model-summary")
        classes = gr.Dataframe(headers=CLASS_COLUMNS, interactive=False, elem_id="class-table")

        search.change(refresh, inputs=search, outputs=[models, model_pick])
        model_pick.change(show_model, inputs=model_pick, outputs=[summary, result_pick, classes])
        result_pick.change(show_result, inputs=[model_pick, result_pick], outputs=classes)
        app.load(on_load, outputs=[models, model_pick, summary, result_pick, classes])
    return app


def serve(*, host: str = "127.0.0.1", port: int = 7860) -> None:
    store = Store.open(read_only=True)
    try:
        build_app(store).launch(server_name=host, server_port=port, show_error=True)
    finally:
        store.close()


if __name__ == "__main__":
    serve(
        host=os.environ.get("GRADIO_SERVER_NAME", "0.0.0.0"),
        port=int(os.environ.get("PORT", "7860")),
    )
