#!/usr/bin/env python3
"""README "Quick start" step 1, read from README.md so that CI and the README cannot drift apart.

`readme_step1.py command` prints the step's command line exactly as the README shows it.
`readme_step1.py check SINCE_FILE` checks that every report the README promises for it ("Step 1
writes `out/<name>.json`, ...") exists, was written after SINCE_FILE was touched, and that each
recording's JSON holds a result, not an error. Standard library only: it runs before anything is
installed.
"""

from __future__ import annotations

import json
import re
import shlex
import sys
from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"


def _quick_start() -> str:
    text = README.read_text(encoding="utf-8")
    section = re.search(r"^## Quick start\n(.*?)(?=^## )", text, re.S | re.M)
    if not section:
        raise SystemExit("README.md: no '## Quick start' section")
    return section.group(1)


def command() -> str:
    """The line after the '# 1.' comment in the section's first bash block."""
    block = re.search(r"```bash\n(.*?)```", _quick_start(), re.S)
    lines = block.group(1).splitlines() if block else []
    for i, line in enumerate(lines):
        if line.startswith("# 1.") and i + 1 < len(lines) and lines[i + 1].strip():
            return lines[i + 1]
    raise SystemExit("README.md: Quick start has no '# 1.' step followed by a command")


def promised() -> list[Path]:
    """The files of the 'Step 1 writes ...' sentence, `<name>` expanded for every input file."""
    args = shlex.split(command().split("scriptcheck analyze", 1)[1].split("&&")[0])
    out = args[args.index("-o") + 1] if "-o" in args else "scriptcheck-report"
    inputs = [a for i, a in enumerate(args) if not a.startswith("-") and (i == 0 or args[i - 1] != "-o")]
    sentence = re.search(r"Step 1 writes(.*?)\.\s", _quick_start(), re.S)
    if not sentence or not inputs:
        raise SystemExit("README.md: cannot tell which files step 1 promises")
    files: list[Path] = []
    for pattern in re.findall(r"`([^`]+)`", sentence.group(1)):
        if not pattern.startswith(out.rstrip("/") + "/"):
            raise SystemExit(f"README.md: step 1 promises {pattern}, outside its output folder {out}")
        names = [Path(p).name for p in inputs] if "<name>" in pattern else [""]
        files += [Path(pattern.replace("<name>", n)) for n in names]
    return files


def check(since: Path) -> int:
    files = promised()
    problems = []
    for f in files:
        if not f.is_file() or f.stat().st_size == 0:
            problems.append(f"{f}: missing or empty")
        elif f.stat().st_mtime < since.stat().st_mtime:
            problems.append(f"{f}: not written by this run")
        elif f.suffix == ".json":
            for rec in json.loads(f.read_text(encoding="utf-8"))["recordings"]:
                if rec.get("error") or rec.get("score") is None:
                    problems.append(f"{f}: no result ({rec.get('error')})")
    for p in problems:
        print(f"README step 1: {p}", file=sys.stderr)
    if not problems:
        print(f"README step 1: all {len(files)} promised reports written: {', '.join(map(str, files))}")
    return 1 if problems else 0


def main(argv: list[str]) -> int:
    if argv[:1] == ["command"]:
        print(command())
        return 0
    if argv[:1] == ["check"] and len(argv) == 2:
        return check(Path(argv[1]))
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
