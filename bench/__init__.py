"""Benchmarks of issue #8: how fast Firebreak goes from alert to mitigation, and what it holds.

Each benchmark is a module run with ``python -m bench.<name>``; it starts the real components
it needs (moto server, Prefect server, receiver, served deployment) on 127.0.0.1, bounds its
loops in count and time, and ends by printing one JSON line of figures. Results and how to
reproduce them: docs/performance.md.
"""
