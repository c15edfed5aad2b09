"""Benchmarks of what the generated configuration costs and how fast it heals.

``python -m bench`` starts the real Debian programs on 127.0.0.200-249 with
exactly the text the renderers produce, measures each figure next to its
baseline in the same run, and prints one JSON object per line (see
``bench.result``). ``docs/benchmarks.md`` holds the latest results.
"""
