"""Benchmark harnesses: run them as scripts (``python -m benchmarks.parser``); they are not tests."""
