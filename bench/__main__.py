"""``make bench``: every benchmark in one run, a table of examples/s, then the BENCH lines
(the Space benchmark, ``bench/space.py``, prints its per-view table as it goes)."""

from __future__ import annotations

import time

from bench import detection, image_pipeline, isolation, ray_cycle, space, text_pipeline
from bench.common import Report, header, load, quiet

quiet()
start = time.perf_counter()
print(f"{header()}; {load()}", flush=True)
report = Report()
report.note(f"at the start: {load()}")
text_pipeline.main(report)
image_pipeline.main(report)
isolation.main(report)
space.main(report)
detection.main(report)
ray_cycle.main(report)
report.note(f"at the end: {load()}; took {time.perf_counter() - start:.0f} s")
report.print()
