"""``make bench``: every benchmark in one run, a table of examples/s, then the BENCH lines
(the Space and re-planning benchmarks, ``bench/space.py`` and ``bench/replan.py``, print their
tables as they go). The streaming benchmark (``bench/streaming.py``: 50,000 ImageNet-shaped images,
about an hour on 2 cores) runs last; ``EVALBOT_BENCH_IMAGES`` shrinks it."""

from __future__ import annotations

import time

from bench import (
    detection,
    generation,
    image_pipeline,
    isolation,
    label_errors,
    ner,
    qa,
    ray_cycle,
    reach,
    replan,
    significance,
    space,
    speech,
    streaming,
    text_pipeline,
)
from bench.common import Report, header, load, quiet

quiet()
start = time.perf_counter()
print(f"{header()}; {load()}", flush=True)
report = Report()
report.note(f"at the start: {load()}")
reach.main(report)
text_pipeline.main(report)
ner.main(report)
qa.main(report)
generation.main(report)
speech.main(report)
image_pipeline.main(report)
isolation.main(report)
space.main(report)
significance.main(report)
label_errors.main(report)
replan.main(report)
detection.main(report)
ray_cycle.main(report)
streaming.main(report)
report.note(f"at the end: {load()}; took {time.perf_counter() - start:.0f} s")
report.print()
