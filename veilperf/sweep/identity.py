"""Content hashes and seeds: what makes a point's identity independent of order and executor.

- ``digest(obj)``: first 16 hex digits of SHA-256 of the canonical JSON of ``obj`` (keys sorted,
  no whitespace). A point id is the digest of its resolved raw config, seed included.
- ``derive_seed(root, pair_key, replication)``: the point's seed, from numpy's ``SeedSequence``
  with the experiment's root seed as entropy and (pair key, replication) as spawn key. It depends
  only on these three values, never on how many points, workers or which executor.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import numpy as np

__all__ = ["canonical_json", "digest", "derive_seed"]


def canonical_json(obj: Any) -> str:
    """Deterministic JSON text of a raw config (sorted keys, compact separators)."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def digest(obj: Any) -> str:
    """First 16 hex digits of SHA-256 of :func:`canonical_json` of ``obj``."""
    return hashlib.sha256(canonical_json(obj).encode("utf-8")).hexdigest()[:16]


def derive_seed(root: int, pair_key: str, replication: int) -> int:
    """Seed in ``[0, 2**32)`` for one replication of one pair (treatment and baseline share it)."""
    key = int(pair_key, 16)
    spawn_key = (key >> 32, key & 0xFFFFFFFF, replication)
    return int(np.random.SeedSequence(entropy=root, spawn_key=spawn_key).generate_state(1)[0])
