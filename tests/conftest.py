"""Shared fixtures. The repo root goes on sys.path so `bench` (TTS, audio tools) imports in tests."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
