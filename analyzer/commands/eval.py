"""`scriptcheck eval CORPUS_DIR`: evaluate the analyzer on a labelled scenario corpus.

The scoring lives in analyzer/evaluation.py, so an installed package can run it. The corpus itself
is made in a repository checkout (python -m bench.scenarios), which has the voice.
"""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from analyzer.evaluation import add_arguments as evaluation_arguments

    evaluation_arguments(parser)


def run(args: argparse.Namespace) -> int:
    from analyzer.eval_metrics import NormaliserMissing
    from analyzer.evaluation import run as evaluate

    try:
        return evaluate(args)
    except NormaliserMissing as err:
        raise SystemExit(f"scriptcheck eval: {err}") from None
