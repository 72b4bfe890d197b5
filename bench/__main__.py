"""``make bench``: run every benchmark in turn."""

from bench import text_pipeline

text_pipeline.main()
