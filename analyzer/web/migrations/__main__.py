"""`python -m analyzer.web.migrations revision "message"`: a new revision with the differences
between the models and head filled in by Alembic's autogenerate (a scratch SQLite database at head
is compared with the models). Review it before committing: autogenerate misses renames."""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from alembic import command

from analyzer.web.db import new_engine
from analyzer.web.migrations import alembic_config, prepare


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m analyzer.web.migrations")
    sub = parser.add_subparsers(dest="cmd", required=True)
    rev = sub.add_parser("revision", help="write a new revision from the models' differences")
    rev.add_argument("message")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        engine = new_engine(f"sqlite:///{Path(tmp) / 'scratch.db'}")
        prepare(engine)
        with engine.connect() as connection:
            command.revision(alembic_config(connection), args.message, autogenerate=True)
        engine.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
