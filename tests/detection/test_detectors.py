"""The DETR family beyond the sandbox's two: tiny random RT-DETR (80 labels, its own ResNet) and
Conditional DETR (91 labels, a transformers ResNetConfig backbone) load, detect in batches with
their own post-processing, and map onto COCO's classes."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch

from evaluators.coco import GroundTruth, process_detection
from evaluators.detection_labels import COCO_LABELS, coco91_id2label, map_detector_labels
from evaluators.object_detection import TransformersDetector, to_dataset_ids
from evaluators.predictions import Options


def rt_detr(folder: Path) -> None:
    from transformers import (
        RTDetrConfig,
        RTDetrForObjectDetection,
        RTDetrImageProcessor,
        RTDetrResNetConfig,
    )

    id2label = dict(enumerate(COCO_LABELS))
    backbone = RTDetrResNetConfig(
        embedding_size=16,
        hidden_sizes=[16, 32, 64, 128],
        depths=[1, 1, 1, 1],
        layer_type="basic",
        out_features=["stage2", "stage3", "stage4"],
    )
    config = RTDetrConfig(
        backbone_config=backbone,
        encoder_in_channels=[32, 64, 128],
        d_model=32,
        encoder_hidden_dim=32,
        encoder_ffn_dim=64,
        decoder_ffn_dim=64,
        decoder_in_channels=[32, 32, 32],
        encoder_layers=1,
        decoder_layers=1,
        encoder_attention_heads=2,
        decoder_attention_heads=2,
        num_queries=20,
        num_denoising=0,
        id2label=id2label,
        label2id={v: k for k, v in id2label.items()},
    )
    RTDetrForObjectDetection(config).save_pretrained(folder)
    RTDetrImageProcessor(size={"height": 128, "width": 128}).save_pretrained(folder)


def conditional_detr(folder: Path) -> None:
    from transformers import (
        ConditionalDetrConfig,
        ConditionalDetrForObjectDetection,
        ConditionalDetrImageProcessor,
        ResNetConfig,
    )

    id2label = coco91_id2label()
    config = ConditionalDetrConfig(
        backbone_config=ResNetConfig(embedding_size=16, hidden_sizes=[16, 32], depths=[1, 1]),
        d_model=32,
        encoder_layers=1,
        decoder_layers=1,
        encoder_attention_heads=2,
        decoder_attention_heads=2,
        encoder_ffn_dim=64,
        decoder_ffn_dim=64,
        num_queries=15,
        id2label=id2label,
        label2id={v: k for k, v in id2label.items() if v != "N/A"},
    )
    ConditionalDetrForObjectDetection(config).save_pretrained(folder)
    size = {"shortest_edge": 96, "longest_edge": 128}
    ConditionalDetrImageProcessor(size=size).save_pretrained(folder)


# boxes per image after each model's own post-processing: RT-DETR keeps one per query,
# Conditional DETR the 100 best (query, class) pairs of its sigmoid scores
@pytest.mark.parametrize(("build", "boxes"), [(rt_detr, 20), (conditional_detr, 100)])
def test_detector_family(build: Callable[[Path], None], boxes: int, tmp_path: Path) -> None:
    torch.manual_seed(0)
    build(tmp_path)
    detector = TransformersDetector.load("org/tiny", tmp_path, torch.device("cpu"))
    mapping = map_detector_labels("org/tiny", detector.id2label, COCO_LABELS)
    assert sorted(mapping.values()) == list(range(80))
    images = [torch.randint(0, 256, (3, 96, 80 + 8 * i), dtype=torch.uint8) for i in range(5)]
    output = detector.detect(images, Options(batch_size=2))  # ragged sizes, batches of two
    assert [len(found.labels) for found in output.detections] == [boxes] * 5
    for image, found in zip(images, output.detections, strict=True):
        assert ((found.scores >= 0) & (found.scores <= 1)).all()
        # boxes in the pixels of the image they were found in
        assert (found.boxes[:, 2] <= image.shape[2] + 1e-3).all()
        assert (found.boxes[:, 3] <= image.shape[1] + 1e-3).all()
    detections = [to_dataset_ids(found, mapping) for found in output.detections]
    truths = [GroundTruth.of([[10, 10, 50, 60]], [0]) for _ in images]
    result = process_detection(truths, detections, COCO_LABELS, score_threshold=0.0)
    assert result.metrics["ap"] is not None and result.classes[0].support == 5
    assert np.isfinite([c.metrics["ap"] or 0.0 for c in result.classes]).all()
