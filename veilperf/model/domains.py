"""Veil's four privilege domains, as small integers for fast indexing on the hot path."""

from __future__ import annotations

MON, SER, ENC, UNT = 0, 1, 2, 3
"""DomMon (VMPL-0, VeilMon), DomSer (VMPL-1, services), DomEnc (VMPL-2, enclaves), DomUnt (VMPL-3)."""

NAMES = ("mon", "ser", "enc", "unt")
BY_NAME = {name: index for index, name in enumerate(NAMES)}
