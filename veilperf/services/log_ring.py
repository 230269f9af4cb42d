"""VeilS-Log's ring: fixed capacity, wraps, overwrites the oldest unread records (counted lost)."""

from __future__ import annotations

import math
from collections import deque


class LogRing:
    """Unread records (aligned sizes) in arrival order; a reader drains them all at once."""

    __slots__ = ("capacity", "align", "unread", "unread_bytes", "appended",
                 "lost", "lost_bytes", "read_bytes", "high_water")

    def __init__(self, capacity: float, align: float) -> None:
        if capacity < align:
            raise ValueError("ring capacity is smaller than one aligned record")
        self.capacity = capacity
        self.align = align
        self.unread: deque[float] = deque()
        self.unread_bytes = 0.0
        self.appended = 0
        self.lost = 0
        self.lost_bytes = 0.0
        self.read_bytes = 0.0
        self.high_water = 0.0

    def aligned(self, size: float) -> float:
        """Size a record occupies in the ring: rounded up to the alignment."""
        return math.ceil(size / self.align) * self.align

    def append(self, size: float) -> None:
        """Append one record, overwriting the oldest unread ones if the ring is full."""
        need = self.aligned(size)
        while self.unread and self.unread_bytes + need > self.capacity:
            oldest = self.unread.popleft()
            self.unread_bytes -= oldest
            self.lost += 1
            self.lost_bytes += oldest
        self.unread.append(need)
        self.unread_bytes += need
        self.appended += 1
        if self.unread_bytes > self.high_water:
            self.high_water = self.unread_bytes

    def drain(self) -> float:
        """Read every unread record; returns the bytes read."""
        taken = self.unread_bytes
        self.unread.clear()
        self.unread_bytes = 0.0
        self.read_bytes += taken
        return taken
