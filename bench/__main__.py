"""``make bench``: every benchmark in one run, a table of examples/s, then the BENCH lines."""

from __future__ import annotations

import time

from bench import image_pipeline, text_pipeline
from bench.common import Report, header, quiet

quiet()
start = time.perf_counter()
print(header(), flush=True)
report = Report()
text_pipeline.main(report)
image_pipeline.main(report)
print(f"\n(benchmarks took {time.perf_counter() - start:.0f} s)")
report.print()
