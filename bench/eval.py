"""`python -m bench.eval CORPUS`: the evaluation (analyzer/evaluation.py) with its report written to
bench/results/eval.md, the figures quoted in bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from analyzer.evaluation import add_arguments, run

RESULTS = Path(__file__).resolve().parent / "results" / "eval.md"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Evaluate the analyzer on a labelled scenario corpus")
    add_arguments(parser, out=RESULTS)
    return run(parser.parse_args(argv), program="python -m bench.eval")


if __name__ == "__main__":
    raise SystemExit(main())
