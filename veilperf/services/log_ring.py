"""VeilS-Log's ring: fixed capacity, wraps, overwrites the oldest unread records (counted lost).

Two units are kept apart. A record's *bytes* are what the audit produced (after truncation to the
transit buffer); its *slot* is the ring space it takes, its bytes rounded up to the alignment.
Capacity, occupancy and the reader's work are in slot bytes (the reader copies the ring out);
``appended_bytes``, ``lost_bytes``, ``read_bytes`` and ``unread_bytes`` count records' bytes, so
they add up with the service's ``log.bytes``. Conservation, at any instant:

    appended       == lost       + read       + len(unread)
    appended_bytes == lost_bytes + read_bytes + unread_bytes
    ring_bytes     == lost_ring_bytes + read_ring_bytes + used        (slot bytes)
"""

from __future__ import annotations

import math
from collections import deque


class LogRing:
    """Unread records (their bytes) in arrival order; a reader drains them all at once."""

    __slots__ = ("capacity", "align", "unread", "unread_bytes", "used", "appended", "appended_bytes",
                 "ring_bytes", "lost", "lost_bytes", "lost_ring_bytes", "read", "read_bytes",
                 "read_ring_bytes", "high_water")

    def __init__(self, capacity: float, align: float) -> None:
        if capacity < align:
            raise ValueError("ring capacity is smaller than one aligned record")
        self.capacity = capacity
        self.align = align
        self.unread: deque[float] = deque()
        self.unread_bytes = 0.0  # records' bytes not yet read
        self.used = 0.0  # slot bytes they occupy
        self.appended = 0
        self.appended_bytes = 0.0
        self.ring_bytes = 0.0  # slot bytes of every appended record
        self.lost = 0
        self.lost_bytes = 0.0
        self.lost_ring_bytes = 0.0
        self.read = 0
        self.read_bytes = 0.0
        self.read_ring_bytes = 0.0
        self.high_water = 0.0  # most slot bytes ever occupied

    def aligned(self, size: float) -> float:
        """Size a record occupies in the ring: rounded up to the alignment."""
        return math.ceil(size / self.align) * self.align

    def append(self, size: float) -> None:
        """Append one record of ``size`` bytes, overwriting the oldest unread ones if the ring is full."""
        need = self.aligned(size)
        while self.unread and self.used + need > self.capacity:
            oldest = self.unread.popleft()
            slot = self.aligned(oldest)
            self.unread_bytes -= oldest
            self.used -= slot
            self.lost += 1
            self.lost_bytes += oldest
            self.lost_ring_bytes += slot
        self.unread.append(size)
        self.unread_bytes += size
        self.used += need
        self.appended += 1
        self.appended_bytes += size
        self.ring_bytes += need
        if self.used > self.high_water:
            self.high_water = self.used

    def drain(self) -> float:
        """Read every unread record; returns the slot bytes read (what the reader copies out)."""
        taken = self.used
        self.read += len(self.unread)
        self.read_bytes += self.unread_bytes
        self.read_ring_bytes += taken
        self.unread.clear()
        self.unread_bytes = 0.0
        self.used = 0.0
        return taken
