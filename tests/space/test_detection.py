"""The Space's object-detection views (``space.detection``): COCO numbers overall, by object size
and per class, robustness by AP, and the gallery of detection errors drawn on their images, over
a results snapshot written as the bot publishes its Parquet tables."""

from __future__ import annotations

import base64
import io
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from space import detection as d
from space import queries as q
from space import tasks
from space.data import Snapshot
from store import tables as t

SHA = "a" * 40
MODEL = "demo/detr-shapes"
DATASET = "demo/shapes"
SPLIT = "test"
LABELS = ("circle", "square", "triangle", "star")  # no star in the ground truth
COCO = ("ap", "ap50", "ap75", "ap_small", "ap_medium", "ap_large")
COCO_AR = ("ar1", "ar10", "ar100", "ar_small", "ar_medium", "ar_large")
# the whole-dataset numbers of the original: AP 0.5, AP50 0.7 ... (ap_small undefined)
ORIGINAL_SCORES: dict[str, float | None] = {
    "ap": 0.5,
    "ap50": 0.7,
    "ap75": 0.45,
    "ap_small": None,
    "ap_medium": 0.4,
    "ap_large": 0.6,
    "ar1": 0.3,
    "ar10": 0.55,
    "ar100": 0.62,
    "ar_small": None,
    "ar_medium": 0.5,
    "ar_large": 0.7,
}
# variant -> how much its numbers fall (fraction of the original's)
VARIANTS = {"original": 1.0, "greyscale": 0.9, "mirrored": 0.8}
# class -> (ap, ap50, ar100, tp, fp, fn, support)
CLASSES = {
    "circle": (0.6, 0.8, 0.7, 7, 2, 3, 10),
    "square": (0.3, 0.5, 0.4, 2, 1, 3, 5),
    "triangle": (0.45, 0.9, 0.65, 15, 4, 5, 20),
    "star": (None, None, None, 0, 1, 0, 0),
}
# the evaluated images are 48 x 24 pixels: under the thumbnail size, their thumbnails are them
THUMB = (48, 24)
GREY = (128, 128, 128)
# (example, kind, label, confidence, box in pixels of the evaluated image)
ERRORS: list[tuple[int, str, str, float | None, tuple[float, float, float, float]]] = [
    (0, "false positive", "circle", 0.9, (4.0, 2.0, 20.0, 14.0)),
    (0, "missed", "square", None, (24.0, 4.0, 44.0, 22.0)),
    (1, "false positive", "triangle", 0.3, (2.0, 2.0, 12.0, 12.0)),
    (2, "missed", "circle", None, (12.0, 6.0, 36.0, 18.0)),
    (3, "false positive", "square", 0.6, (0.0, 0.0, 3.0, 3.0)),  # its image is not stored
    (4, "false positive", "star", 0.75, (14.0, 7.0, 30.0, 20.0)),
]
STORED_IMAGES = (0, 1, 2, 4)


def _identity(variant: str) -> dict[str, Any]:
    identity = {
        "model_id": MODEL,
        "model_sha": SHA,
        "dataset_id": DATASET,
        "dataset_config": None,
        "dataset_revision": "r" * 40,
        "split": SPLIT,
        "variant": variant,
        "config_version": 1,
        "code_version": "0.1",
    }
    return {"evaluation_id": t.evaluation_id(identity), **identity}


def result_id(variant: str = "original") -> str:
    return str(_identity(variant)["evaluation_id"])


def _png(size: tuple[int, int], colour: tuple[int, int, int] = GREY) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, format="PNG")
    return buffer.getvalue()


def _tables() -> dict[str, Any]:
    """One detector evaluated on a shapes dataset and two variants of it, with its errors on the
    original and the thumbnails of the images behind them (one image not stored)."""
    start = datetime(2026, 12, 1, tzinfo=UTC)
    evaluations, scores, classes = [], [], []
    for n, (variant, factor) in enumerate(VARIANTS.items()):
        ident = _identity(variant)
        evaluations.append(
            {
                **ident,
                "task": "object-detection",
                "module_id": "shapes",
                "dataset_name": "Shapes",
                "num_examples": 50,
                "created_at": start + timedelta(hours=n),
                "settings": t.dumps({"score_threshold": 0.5}) if variant == "original" else None,
            }
        )
        for metric, value in ORIGINAL_SCORES.items():
            scaled = None if value is None else value * factor
            scores.append({**ident, "metric": metric, "value": scaled})
        for class_id, (label, (ap, ap50, ar100, tp, fp, fn, support)) in enumerate(CLASSES.items()):
            per_class = {"ap": ap, "ap50": ap50, "ar100": ar100, "ap75": None}
            classes.append(
                {
                    **ident,
                    "class_id": class_id,
                    "label": label,
                    "tp": tp,
                    "fp": fp,
                    "fn": fn,
                    "support": support,
                    "metrics": t.dumps(
                        {k: None if v is None else v * factor for k, v in per_class.items()}
                    ),
                }
            )
    original = _identity("original")
    errors = [
        {
            "evaluation_id": original["evaluation_id"],
            "dataset_id": DATASET,
            "split": SPLIT,
            "example_id": example,
            "kind": kind,
            "label": label,
            "confidence": confidence,
            "x1": box[0],
            "y1": box[1],
            "x2": box[2],
            "y2": box[3],
        }
        for example, kind, label, confidence, box in ERRORS
    ]
    examples = [
        {
            "dataset_id": DATASET,
            "split": SPLIT,
            "class_id": 0,
            "label": "circle",
            "example_id": example,
            "thumbnail_png": _png(THUMB),
        }
        for example in STORED_IMAGES
    ]
    rows: dict[str, list[dict[str, Any]]] = {
        "models": [
            {
                "repo_id": MODEL,
                "sha": SHA,
                "eval_sha": SHA,
                "pipeline_tag": "object-detection",
                "status": "evaluated",
            }
        ],
        "evaluations": evaluations,
        "scores": scores,
        "class_results": classes,
        "detection_errors": errors,
        "examples": examples,
        "datasets": [
            {
                "dataset_id": DATASET,
                "name": "Shapes",
                "modality": "image",
                "task": "object-detection",
                "labels": list(LABELS),
                "variants": list(VARIANTS),
            }
        ],
        "variants": [
            {"variant_id": "greyscale", "name": "greyscale", "description": "Grey levels only."},
            {"variant_id": "mirrored", "name": "mirrored", "description": "Flipped left-right."},
        ],
    }
    return {table.name: t.to_table(table, rows.get(table.name, [])) for table in t.TABLES}


@pytest.fixture
def data(tmp_path: Path) -> Snapshot:
    t.write_tables(_tables(), tmp_path)
    return Snapshot.open(tmp_path, revision="r")


def _cells(html: str, elem_id: str) -> list[list[str]]:
    """The body cells of the table ``elem_id`` of ``html``, as text."""
    body = html.split(f'id="{elem_id}"', 1)[1].split("</tbody>", 1)[0]
    return [
        [re.sub(r"<[^>]+>", "", cell) for cell in re.findall(r"<td>(.*?)</td>", row)]
        for row in re.findall(r"<tr>(.*?)</tr>", body.split("<tbody>", 1)[1])
    ]


def _images(html: str) -> dict[int, Image.Image]:
    """The drawn images of a gallery, by example id."""
    out = {}
    for example, uri in re.findall(
        r'data-example="(\d+)"[^>]*><img src="data:image/png;base64,([^"]+)"', html
    ):
        out[int(example)] = Image.open(io.BytesIO(base64.b64decode(uri))).convert("RGB")
    return out


def _shown(html: str) -> list[int]:
    return [int(x) for x in re.findall(r'data-example="(\d+)"', html)]


def test_the_summary_shows_the_coco_numbers_overall_and_by_size(data: Snapshot) -> None:
    html = d.detection_summary(data, result_id())
    assert _cells(html, "detection-overall") == [
        [f"{ORIGINAL_SCORES[k]:.3f}" for k in ("ap", "ap50", "ap75", "ar1", "ar10", "ar100")]
    ]
    sizes = _cells(html, "detection-sizes")
    assert [row[0] for row in sizes] == ["small", "medium", "large"]
    assert [row[2:] for row in sizes] == [["n/a", "n/a"], ["0.400", "0.500"], ["0.600", "0.700"]]
    assert "32²" in sizes[0][1] and "96²" in sizes[2][1]
    assert "do not record how many objects" in html
    assert "No result" in d.detection_summary(data, "nope")


@pytest.mark.parametrize(
    ("sort", "order"),
    [
        ("ap", ["circle", "triangle", "square", "star"]),
        ("ap50", ["triangle", "circle", "square", "star"]),
        ("ar100", ["circle", "triangle", "square", "star"]),
        ("objects", ["triangle", "circle", "square", "star"]),
        ("name", ["circle", "square", "triangle", "star"]),
        ("'; DROP TABLE scores; --", ["circle", "triangle", "square", "star"]),
    ],
)
def test_classes_sort_with_those_without_ground_truth_last(
    data: Snapshot, sort: str, order: list[str]
) -> None:
    html = d.detection_classes(data, result_id(), sort=sort)
    rows = _cells(html, "detection-classes")
    assert [r[0] for r in rows] == order
    by_name = {r[0]: r[1:] for r in rows}
    for label, (ap, ap50, ar100, tp, fp, fn, support) in CLASSES.items():
        shown = [ap, ap50, ar100]
        assert by_name[label] == [
            *("n/a" if v is None else f"{v:.3f}" for v in shown),
            *(str(n) for n in (support, tp, fp, fn)),
        ]
    assert "score threshold: 0.5" in html


def test_robustness_is_the_change_from_the_original_in_points(data: Snapshot) -> None:
    rows = _cells(d.detection_robustness(data, MODEL, DATASET), "detection-robustness")
    assert [r[0] for r in rows] == list(VARIANTS)
    assert rows[0][1:] == ["0.500", "0.700", "0.620", "—", "—", "—"]
    for row, factor in zip(rows[1:], list(VARIANTS.values())[1:], strict=True):
        base = [ORIGINAL_SCORES[k] or 0.0 for k in ("ap", "ap50", "ar100")]
        assert row[1:4] == [f"{v * factor:.3f}" for v in base]
        assert row[4:] == [f"{100 * v * (factor - 1):+.1f}".replace("-", "−") for v in base]
    assert rows[2][4] == "−10.0"
    assert "no result" in d.detection_robustness(data, "demo/other", DATASET)


def test_filters_list_the_kinds_and_classes_present(data: Snapshot) -> None:
    found = d.filters(data, result_id())
    assert found.kinds == ["false positive", "missed"]
    assert found.labels == sorted({label for _, _, label, _, _ in ERRORS})
    assert d.filters(data, result_id("greyscale")) == d.Filters(kinds=[], labels=[])


def test_the_gallery_orders_images_by_their_most_confident_error(data: Snapshot) -> None:
    html = d.detection_errors_gallery(data, result_id())
    assert 'id="detection-gallery"' in html
    assert _shown(html) == [0, 4, 3, 1, 2]  # 0.9, 0.75, 0.6, 0.3, then missed only
    assert "6 errors on 5 images" in html
    assert "image not stored" in html  # example 3's image is not among the examples
    assert set(_images(html)) == set(STORED_IMAGES)
    assert 'alt="Example 0: false positive circle 0.90; missed square"' in html
    assert "false positives only" in html


@pytest.mark.parametrize(
    ("options", "shown", "errors"),
    [
        ({"kind": "missed"}, [0, 2], 2),
        ({"kind": "false positive"}, [0, 4, 3, 1], 4),
        ({"label": "circle"}, [0, 2], 2),
        ({"min_confidence": 0.5}, [0, 4, 3, 2], 5),  # missed objects stay
        ({"kind": "false positive", "min_confidence": 0.7}, [0, 4], 2),
        ({"kind": "missed", "label": "triangle"}, [], 0),
        ({"kind": "<script>"}, [0, 4, 3, 1, 2], 6),  # unknown: both
    ],
)
def test_the_gallery_filters_by_kind_class_and_confidence(
    data: Snapshot, options: dict[str, Any], shown: list[int], errors: int
) -> None:
    html = d.detection_errors_gallery(data, result_id(), **options)
    assert _shown(html) == shown
    if shown:
        assert f"{errors} errors on {len(shown)} images" in html
    else:
        assert "No detection error matches" in html
    if options.get("kind") == "missed" and shown:
        assert "(missed)" in html and " 0.90" not in html


def test_the_gallery_pages(data: Snapshot) -> None:
    pages = [
        d.detection_errors_gallery(data, result_id(), page=n, per_page=2) for n in (1, 2, 3, 9)
    ]
    assert [_shown(p) for p in pages] == [[0, 4], [3, 1], [2], [2]]  # past the end: the last
    assert "page 2 / 3" in pages[1]


def test_boxes_are_drawn_at_their_place_in_their_colour(data: Snapshot) -> None:
    images = _images(d.detection_errors_gallery(data, result_id()))
    drawn = images[0]
    scale = drawn.width / THUMB[0]  # the thumbnail is the evaluated image, enlarged
    assert drawn.height == round(THUMB[1] * scale)

    def left_edge(box: tuple[float, float, float, float]) -> tuple[int, int]:
        return round(box[0] * scale), round((box[1] + box[3]) / 2 * scale)

    false_positive, missed = ERRORS[0][4], ERRORS[1][4]
    assert drawn.getpixel(left_edge(false_positive)) == d.COLOURS["false positive"]
    assert drawn.getpixel(left_edge(missed)) == d.COLOURS["missed"]
    inside = (
        round((false_positive[0] + false_positive[2]) / 2 * scale),
        left_edge(false_positive)[1],
    )
    assert drawn.getpixel(inside) == GREY  # only the outline is drawn
    assert images[2].getpixel(left_edge(ERRORS[3][4])) == d.COLOURS["missed"]


def test_boxes_scale_from_the_evaluated_image_to_the_thumbnail() -> None:
    thumbnail = _png((40, 20))  # a 200 x 100 image, shrunk to a fifth
    errors = [q.DetectionError(0, "false positive", "circle", 0.8, (50.0, 20.0, 150.0, 90.0))]
    drawn = Image.open(io.BytesIO(d.draw_errors(thumbnail, errors, (200, 100)))).convert("RGB")
    assert drawn.size == (d.DRAW_SIDE, d.DRAW_SIDE // 2)
    scale = drawn.width / 200
    assert drawn.getpixel((round(150 * scale), round(55 * scale))) == d.COLOURS["false positive"]
    assert drawn.getpixel((round(100 * scale), round(55 * scale))) == GREY
    assert d.evaluated_size(Image.open(io.BytesIO(thumbnail))) == (40, 20)
    assert d.evaluated_size(Image.new("RGB", (d.THUMBNAIL_SIDE, 30))) is None


def test_a_shrunk_thumbnail_lists_its_boxes_without_drawing_them(tmp_path: Path) -> None:
    tables = _tables()
    rows = tables["examples"].to_pylist()
    for row in rows:
        row["thumbnail_png"] = _png((d.THUMBNAIL_SIDE, 32))
    tables["examples"] = t.to_table(t.EXAMPLES, rows)
    t.write_tables(tables, tmp_path)
    html = d.detection_errors_gallery(Snapshot.open(tmp_path, revision="r"), result_id())
    images = _images(html)
    assert images[0].size == (d.THUMBNAIL_SIDE, 32)  # as stored
    assert [colour for _, colour in images[0].getcolors() or []] == [GREY]
    assert "boxes not drawn" in html and "circle 0.90 at (4, 2, 20, 14)" in html


def test_a_detection_result_published_without_its_task_is_read_by_its_metrics(
    tmp_path: Path,
) -> None:
    tables = _tables()
    rows = [{**row, "task": None} for row in tables["evaluations"].to_pylist()]
    tables["evaluations"] = t.to_table(t.EVALUATIONS, rows)
    t.write_tables(tables, tmp_path)
    summary = q.result_summary(Snapshot.open(tmp_path, revision="r"), result_id())
    assert summary is not None and summary.task == ""
    assert summary.spec.name == "object-detection"
    assert summary.spec.headline.short == "AP"
    assert tasks.spec(None, {"accuracy": 0.5}) is tasks.FALLBACK
    assert tasks.spec("", {"nothing": 1.0}) is tasks.FALLBACK
