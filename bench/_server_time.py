"""What the services themselves measured: their Prometheus request-duration histograms over a run.

A client's latency includes its own queueing (and, on 2 shared cores, its own CPU); the server's
histogram (``litestar_request_duration_seconds``, request_telemetry.py) is the time from routing to
the last byte sent. ``scrape`` before and after a run, ``between`` the two: each route's requests in
the run with p50 and p99 estimated as Prometheus's ``histogram_quantile`` does (linear within the
bucket, so no finer than the buckets: …, 50, 75, 100, 250, 500 ms, …).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import httpx
from prometheus_client.parser import text_string_to_metric_families

METRIC = "litestar_request_duration_seconds"
Buckets = dict[tuple[str, str], dict[float, float]]  # (method, route) → upper bound → cumulative count


@dataclass(frozen=True)
class RouteTime:
    """One route's requests in the run, as the server counted them."""

    service: str
    method: str
    route: str
    count: int
    p50_ms: float
    p99_ms: float

    def line(self) -> str:
        return (f"{self.service} {self.method} {self.route}: {self.count} requests, server-side"
                f" p50 {self.p50_ms:.1f} ms, p99 {self.p99_ms:.1f} ms")


def scrape(url: str) -> Buckets:
    """The cumulative bucket counts of every route (all statuses together) at ``url``/metrics now."""
    text = httpx.get(f"{url}/metrics", timeout=10).text
    buckets: Buckets = {}
    for family in text_string_to_metric_families(text):
        if family.name != METRIC:
            continue
        for sample in family.samples:
            if sample.name.endswith("_bucket"):
                key = (sample.labels["method"], sample.labels["path"])
                bound = float(sample.labels["le"])
                route = buckets.setdefault(key, {})
                route[bound] = route.get(bound, 0.0) + sample.value
    return buckets


def between(service: str, before: Buckets, after: Buckets) -> list[RouteTime]:
    """Each route's requests between two scrapes, busiest first."""
    times = []
    for key, counts in after.items():
        earlier = before.get(key, {})
        run = {bound: count - earlier.get(bound, 0.0) for bound, count in sorted(counts.items())}
        total = run.get(math.inf, 0.0)
        if total:
            times.append(RouteTime(service, *key, int(total), quantile(run, 0.50) * 1000,
                                   quantile(run, 0.99) * 1000))
    return sorted(times, key=lambda t: -t.count)


def quantile(cumulative: dict[float, float], q: float) -> float:
    """``histogram_quantile``: the bucket the rank falls in, linearly interpolated inside it."""
    bounds = sorted(cumulative)
    rank = q * cumulative[math.inf]
    lower, below = 0.0, 0.0
    for bound in bounds:
        if cumulative[bound] >= rank:
            if math.isinf(bound):
                return lower  # beyond the last finite bucket: its bound is all that is known
            inside = cumulative[bound] - below
            return lower + (bound - lower) * ((rank - below) / inside if inside else 1.0)
        lower, below = bound, cumulative[bound]
    return lower
