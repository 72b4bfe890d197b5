"""``make bench``: every benchmark in one run, a table of examples/s, then the BENCH lines
(the Space and re-planning benchmarks, ``bench/space.py`` and ``bench/replan.py``, print their
tables as they go)."""

from __future__ import annotations

import time

from bench import detection, image_pipeline, isolation, ray_cycle, replan, space, text_pipeline
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
replan.main(report)
detection.main(report)
ray_cycle.main(report)
report.note(f"at the end: {load()}; took {time.perf_counter() - start:.0f} s")
report.print()
