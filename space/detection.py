"""What the Space shows of an object detector's result: its COCO numbers overall and by object
size, AP and counts per class, AP under each variant of the dataset, and its detection errors
(false positives and missed objects at IoU 0.5) drawn as boxes on the images behind them.

Every function renders HTML (or a plotly figure) from ``space.queries``; a page places it. The
metric names come from the catalogue entry of object detection (``store.catalogue``).

Boxes are stored in pixels of the evaluated image, and the dataset's examples keep only a small
thumbnail of it, whose scale the results do not record. A thumbnail smaller than the bot's
thumbnail size is the image itself (a thumbnail is never enlarged), so its boxes are drawn where
they were; on a thumbnail that was shrunk, the boxes are listed, not drawn.

Example:
    >>> html = detection_classes(snapshot, result_id, sort="objects")  # doctest: +SKIP
    >>> 'id="detection-classes"' in html  # doctest: +SKIP
    True
"""

from __future__ import annotations

import base64
import io
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import plotly.graph_objects as go

from space import queries as q
from space.data import Snapshot
from space.page import a, empty, esc, fmt, link, table
from store.catalogue import OBJECT_DETECTION, Metric
from store.types import ClassResult, DetectionError

SPEC = OBJECT_DETECTION
SIZES = ("small", "medium", "large")
#: COCO's object sizes, as areas in pixels² of the evaluated image
SIZE_AREAS = {"small": "under 32² (1,024)", "medium": "32² to 96²", "large": "over 96² (9,216)"}
#: the longer side, in pixels, of the thumbnails the bot stores (``evaluators.metadata``)
THUMBNAIL_SIDE = 64
#: the longer side of an image as the gallery draws it (the thumbnail, enlarged)
DRAW_SIDE = 320
#: box colours (Okabe–Ito: told apart with any colour vision)
COLOURS = {"false positive": (230, 159, 0), "missed": (0, 114, 178)}
CLASS_SORTS = ("ap", "ap50", "ar100", "objects", "name")


def _metric(key: str) -> Metric:
    return SPEC.metric(key)


def _overall_keys() -> list[str]:
    """The whole-dataset COCO numbers (AP, AP50, AP75, AR1, AR10, AR100), in the catalogue's
    order: those not of one object size."""
    return [k for k in SPEC.summary if not k.endswith(tuple(f"_{s}" for s in SIZES))]


def _no_result(result_id: str) -> str:
    return empty(f"No result {result_id!r} in this version of the results.")


def detection_summary(data: Snapshot, result_id: str) -> str:
    """A detector's COCO numbers: AP, AP50, AP75, AR1, AR10 and AR100 over all objects
    (``detection-overall``), then AP and AR100 by object size (``detection-sizes``)."""
    s = q.result_summary(data, result_id)
    if s is None:
        return _no_result(result_id)
    keys = _overall_keys()
    overall = table(
        [_metric(k).short for k in keys],
        [[fmt(s.metrics.get(k)) for k in keys]],
        elem_id="detection-overall",
    )
    rows = [
        [
            esc(size),
            esc(SIZE_AREAS[size]),
            fmt(s.metrics.get(f"ap_{size}")),
            fmt(s.metrics.get(f"ar_{size}")),
        ]
        for size in SIZES
    ]
    sizes = table(
        ["object size", "area (pixels²)", _metric("ap").short, _metric("ar100").short],
        rows,
        elem_id="detection-sizes",
    )
    note = (
        "<p>Sizes are COCO's: an object's area in pixels² of the evaluated image. n/a: no object "
        "of that size in the split. The results do not record how many objects there are of each "
        "size; the per-class table counts the objects of each class.</p>"
    )
    return f"<h3>COCO numbers</h3>{overall}<h4>By object size</h4>{sizes}{note}"


def _class_key(c: ClassResult, sort: str) -> tuple[Any, ...]:
    """Classes with ground truth first; then the metric, highest first (n/a last), or the
    objects, most first, or the name."""
    no_truth = c.support == 0
    if sort == "name":
        return (no_truth, c.label.lower(), c.class_id)
    if sort == "objects":
        return (no_truth, -c.support, c.label.lower())
    value = _metric(sort).class_value(c)
    return (no_truth, value is None, -(value or 0.0), c.label.lower())


def detection_classes(data: Snapshot, result_id: str, *, sort: str = "ap") -> str:
    """Per class: AP, AP50 and AR100, the objects of the class, and TP, FP and FN at the
    module's score threshold (``detection-classes``), sorted by ``sort`` (``ap``, ``ap50``,
    ``ar100``, ``objects`` or ``name``; classes without ground truth last, their numbers n/a)."""
    classes = q.result_classes(data, result_id)
    if not classes:
        return empty("This result holds no per-class numbers.")
    sort = sort if sort in CLASS_SORTS else "ap"
    metrics = SPEC.class_metrics()
    rows = [
        [
            esc(c.label),
            *(fmt(None if c.support == 0 else m.class_value(c)) for m in metrics),
            str(c.support),
            str(c.tp),
            str(c.fp),
            str(c.fn),
        ]
        for c in sorted(classes, key=lambda c: _class_key(c, sort))
    ]
    threshold = q.result_settings(data, result_id).get("score_threshold")
    at = (
        f" This result's score threshold: {threshold:g}."
        if isinstance(threshold, int | float)
        else ""
    )
    note = (
        f"<p>{esc(SPEC.class_note)}{esc(at)} n/a: the class has no object in the split, so its "
        "AP and AR are undefined (its false positives still count).</p>"
    )
    headers = ["class", *(m.short for m in metrics), SPEC.support, "TP", "FP", "FN"]
    return table(headers, rows, elem_id="detection-classes") + note


def class_figure(data: Snapshot, result_id: str, *, key: str = "ap") -> go.Figure | None:
    """Per-class ``key`` (AP by default) as horizontal bars, best first; None without classes
    with ground truth."""
    key = key if key in SPEC.class_columns else "ap"
    metric = _metric(key)
    shown = [
        (c.label, value, c.support)
        for c in sorted(q.result_classes(data, result_id), key=lambda c: _class_key(c, key))
        if c.support and (value := metric.class_value(c)) is not None
    ]
    if not shown:
        return None
    figure = go.Figure(
        go.Bar(
            x=[v for _, v, _ in shown],
            y=[label for label, _, _ in shown],
            customdata=[n for _, _, n in shown],
            orientation="h",
            hovertemplate=f"%{{y}}: {metric.short} %{{x:.3f}} (%{{customdata}} objects)<extra></extra>",
        )
    )
    figure.update_layout(
        xaxis={"title": metric.label, "range": [0, 1]},
        yaxis={"autorange": "reversed"},
        height=max(240, 24 * len(shown) + 80),
        margin={"l": 10, "r": 10, "t": 10, "b": 40},
    )
    return figure


def _points(value: float | None, base: float | None) -> str:
    """The change from ``base`` in points (hundredths), signed; n/a where either is missing."""
    if value is None or base is None:
        return "n/a"
    return f"{100 * (value - base):+.1f}".replace("-", "−")


def detection_robustness(data: Snapshot, model_id: str, dataset_id: str) -> str:
    """One row per variant of the dataset the model was evaluated on, original first: AP, AP50
    and AR100, and each one's change from the original in points (``detection-robustness``)."""
    results = q.detection_variants(data, model_id, dataset_id)
    if not results:
        return empty(f"{model_id} has no result on {dataset_id}.")
    keys = list(SPEC.class_columns)  # AP, AP50, AR100: whole-result numbers too
    base = results[0].metrics if results[0].variant == q.ORIGINAL else {}
    rows = []
    for s in results:
        target = link(
            "result", model=model_id, dataset=dataset_id, split=s.split, variant=s.variant
        )
        changes = [
            "—" if s.variant == q.ORIGINAL else _points(s.metrics.get(k), base.get(k)) for k in keys
        ]
        rows.append([a(target, s.variant), *(fmt(s.metrics.get(k)) for k in keys), *changes])
    headers = [
        "variant",
        *(_metric(k).short for k in keys),
        *(f"{_metric(k).short} change (points)" for k in keys),
    ]
    note = "<p>A point is a hundredth: AP 0.500 → 0.450 is −5.0 points.</p>"
    return table(headers, rows, elem_id="detection-robustness") + note


@dataclass(frozen=True)
class Filters:
    """The choices of the gallery's filters: the kinds of errors and the classes present."""

    kinds: list[str]
    labels: list[str]


def filters(data: Snapshot, result_id: str) -> Filters:
    """The kinds of detection errors and the classes a result's errors have, for dropdowns."""
    kinds, labels = q.detection_error_choices(data, result_id)
    return Filters(kinds=kinds, labels=labels)


def evaluated_size(thumbnail: Any) -> tuple[int, int] | None:
    """The size of the evaluated image a thumbnail was made of, where the thumbnail tells it (for
    examples stored before their image's size was): a thumbnail under the bot's thumbnail size is
    the image itself; None for a shrunk one."""
    width, height = thumbnail.size
    return (width, height) if max(width, height) < THUMBNAIL_SIDE else None


def _caption(e: DetectionError) -> str:
    if e.kind == "missed":
        return f"{e.label} (missed)"
    return f"{e.label} {e.confidence:.2f}" if e.confidence is not None else e.label


def draw_errors(png: bytes, errors: Sequence[DetectionError], size: tuple[int, int]) -> bytes:
    """The thumbnail ``png``, enlarged to :data:`DRAW_SIDE` pixels on its longer side, with each
    error's box (in pixels of the evaluated image, of ``size``) scaled onto it and captioned:
    false positives "label score", missed objects "label (missed)", in :data:`COLOURS`."""
    from PIL import Image, ImageDraw, ImageFont

    image = Image.open(io.BytesIO(png)).convert("RGB")
    factor = DRAW_SIDE / max(image.size)
    canvas = image.resize(
        (max(1, round(image.width * factor)), max(1, round(image.height * factor))),
        Image.Resampling.BILINEAR,
    )
    sx, sy = canvas.width / size[0], canvas.height / size[1]
    draw = ImageDraw.Draw(canvas)
    font = ImageFont.load_default(size=12)
    for e in errors:
        colour = COLOURS.get(e.kind, COLOURS["false positive"])
        x1, y1, x2, y2 = e.box
        box = (round(x1 * sx), round(y1 * sy), round(x2 * sx), round(y2 * sy))
        draw.rectangle(box, outline=colour, width=2)
        text = _caption(e)
        left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
        height = bottom - top + 4
        y = box[1] - height if box[1] >= height else box[3] + 1  # above the box, else below
        draw.rectangle((box[0], y, box[0] + right - left + 4, y + height), fill=colour)
        draw.text((box[0] + 2, y + 2 - top), text, fill=(255, 255, 255), font=font)
    out = io.BytesIO()
    canvas.save(out, format="PNG")
    return out.getvalue()


def _uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode()


def _alt(image: q.ErrorImage) -> str:
    named = [
        f"missed {e.label}" if e.kind == "missed" else f"{e.kind} {_caption(e)}"
        for e in image.errors
    ]
    return f"Example {image.example_id}: " + "; ".join(named)


def _figure(image: q.ErrorImage) -> str:
    """One image of the gallery: drawn with its boxes, or plain with a note why not."""
    from PIL import Image

    alt = _alt(image)
    listed = "; ".join(
        f"{_caption(e)} at ({', '.join(f'{v:.0f}' for v in e.box)})" for e in image.errors
    )
    if image.thumbnail_png is None:
        body = '<div class="evalbot-empty detection-missing">image not stored</div>'
        note = "the dataset's examples do not hold this image"
    else:
        size = image.size or evaluated_size(Image.open(io.BytesIO(image.thumbnail_png)))
        png = (
            image.thumbnail_png
            if size is None
            else draw_errors(image.thumbnail_png, image.errors, size)
        )
        body = f'<img src="{_uri(png)}" alt="{esc(alt)}" style="width:100%;height:auto">'
        note = (
            ""
            if size is not None
            else "boxes not drawn: the results do not record the evaluated image's size"
        )
    extra = f"<br><small>{esc(note)}</small>" if note else ""
    return (
        f'<figure class="detection-error" data-example="{image.example_id}" style="margin:0">'
        f"{body}<figcaption>example {image.example_id}: {esc(listed)}{extra}</figcaption></figure>"
    )


def _legend() -> str:
    def swatch(kind: str, text: str) -> str:
        r, g, b = COLOURS[kind]
        return (
            f'<span style="display:inline-block;width:1em;height:1em;border:3px solid '
            f'rgb({r},{g},{b});vertical-align:middle"></span> {esc(text)}'
        )

    return (
        '<p class="detection-legend">'
        + swatch("false positive", "false positive (class and score)")
        + " · "
        + swatch("missed", "missed object (class, “missed”)")
        + "</p>"
    )


def detection_errors_gallery(
    data: Snapshot,
    result_id: str,
    *,
    kind: str = "",
    label: str = "",
    min_confidence: float = 0.0,
    page: int = 1,
    per_page: int = 12,
) -> str:
    """The images behind a result's detection errors, each drawn with its false positives and
    missed objects at IoU 0.5 (``detection-gallery``), most confident error first, filtered by
    ``kind`` (``false positive``, ``missed``, empty: both), class and ``min_confidence`` (of false
    positives only: a missed object has no score), ``per_page`` images a page."""
    f = q.ErrorFilter(
        kind=kind if kind in q.DETECTION_KINDS else "",
        label=label,
        min_confidence=max(0.0, min(1.0, float(min_confidence))),
        page=page,
        per_page=per_page,
    )
    found = q.detection_errors(data, result_id, f)
    if not found.images:
        return f'<div id="detection-gallery">{empty("No detection error matches these filters.")}</div>'
    summary = q.result_summary(data, result_id)
    info = (
        f"<p>{found.total_errors} errors on {found.total_images} images match; page "
        f"{found.page} / {found.pages}. The confidence filter applies to false positives only: "
        "a missed object has no confidence, so missed objects are always listed.</p>"
    )
    if summary is not None and summary.variant != q.ORIGINAL:
        info += (
            f"<p>The images are shown as the dataset publishes them; the boxes are where the "
            f"{esc(summary.variant)} variant had them (a variant that moves the image moves its "
            "boxes too).</p>"
        )
    grid = "".join(_figure(image) for image in found.images)
    return (
        f'<div id="detection-gallery">{_legend()}{info}<div class="detection-grid" '
        'style="display:grid;grid-template-columns:repeat(auto-fill,minmax(240px,1fr));gap:12px">'
        f"{grid}</div></div>"
    )
