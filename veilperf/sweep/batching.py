"""Cutting a sweep's points into batches of about half a second of work each.

Points cost anything from a fraction of a millisecond (a boot model) to seconds (a long enclave
run). Each batch has a fixed cost (shipping it, writing its part file), so cheap points go in
large batches and expensive ones in small batches, which also keeps the end of the sweep balanced
and bounds what a killed sweep loses to the batches in flight. Each experiment starts with a small
probe batch; its cost per point is then learnt from the last :data:`RECENT` batches that finished
(a worker's first batch also pays for starting up: 0.5 s for two 3 ms points on this machine, and
averaged over every batch it kept batches of cheap points small, and part files many, for
hundreds of points).
"""

from __future__ import annotations

import math
from collections import deque
from typing import TYPE_CHECKING

from veilperf.sweep.points import Point

if TYPE_CHECKING:
    from veilperf.sweep.engine import ExperimentPlan

__all__ = ["Batcher"]

TARGET_BATCH_S = 0.5  # work per batch: per-batch costs (~10 ms) stay a few percent of it
FIRST_BATCH = 2  # points in an experiment's batches until one of them has finished
MAX_BATCH = 512
RECENT = 4  # finished batches the cost per point is learnt from


class Batcher:
    """Hands out batches ``(plan, points)`` in experiment order; ``record`` teaches it costs."""

    def __init__(self, plans: list[ExperimentPlan], workers: int) -> None:
        self._queues = deque((planned, deque(planned.todo)) for planned in plans if planned.todo)
        self._workers = workers
        self._cost: dict[int, deque[tuple[int, float]]] = {}  # id(plan) -> recent (points, seconds)

    def next(self) -> tuple[ExperimentPlan, list[Point]] | None:
        """The next batch, or None when every point has been handed out."""
        if not self._queues:
            return None
        planned, remaining = self._queues[0]
        size = min(self._size(planned), math.ceil(len(remaining) / self._workers))
        batch = [remaining.popleft() for _ in range(max(1, size))]
        if not remaining:
            self._queues.popleft()
        return planned, batch

    def record(self, planned: ExperimentPlan, points: int, seconds: float) -> None:
        """A batch of ``points`` of ``planned`` took ``seconds`` on its worker."""
        self._cost.setdefault(id(planned), deque(maxlen=RECENT)).append((points, seconds))

    def _size(self, planned: ExperimentPlan) -> int:
        if id(planned) not in self._cost:
            return FIRST_BATCH
        recent = self._cost[id(planned)]
        per_point = sum(seconds for _, seconds in recent) / sum(points for points, _ in recent)
        return MAX_BATCH if per_point <= 0 else max(1, min(MAX_BATCH, int(TARGET_BATCH_S / per_point)))
