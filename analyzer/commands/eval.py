"""`scriptcheck eval CORPUS_DIR`: evaluate the analyzer on a labelled scenario corpus.

The evaluation lives in bench/eval.py (it needs the scenario tools and the TTS voice, which are not part of
the installed package), so this command works from a repository checkout.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

_REPO = Path(__file__).resolve().parents[2]


def _bench_eval():
    if (_REPO / "bench" / "eval.py").is_file() and str(_REPO) not in sys.path:
        sys.path.insert(0, str(_REPO))
    try:
        from bench import eval as bench_eval
    except ImportError as err:
        raise SystemExit(
            "scriptcheck eval: 需要在代码仓库中运行 / run it from a repository checkout "
            f"(bench/ not found: {err})"
        ) from None
    return bench_eval


def add_arguments(parser: argparse.ArgumentParser) -> None:
    _bench_eval().add_arguments(parser)


def run(args: argparse.Namespace) -> int:
    return _bench_eval().run(args)
