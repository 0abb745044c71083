"""Latency summaries shared by every `gate bench` figure, so all of them mean the same thing."""

from __future__ import annotations


def percentile(samples: list[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..1) of the samples; they need not be sorted."""
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(p * (len(ordered) - 1)))]
