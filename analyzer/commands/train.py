"""`scriptcheck train`: practise a standard phrase or a scenario from a recorded attempt; show progress."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    target = parser.add_mutually_exclusive_group()
    target.add_argument("--phrase", help="练习的用语 id（如 rights_notice）")
    target.add_argument("--scenario", help="练习的情景 id（执法类型，如 on_site_penalty）")
    target.add_argument("--history", metavar="NAME", help="显示学员的训练进度")
    target.add_argument("--list", action="store_true", help="列出可练习的用语和情景")
    parser.add_argument("audio", nargs="?", help="练习录音文件")
    parser.add_argument("--trainee", help="学员姓名（记录到训练历史）")
    parser.add_argument("--guide", default=None, help="用语指引名称或 TOML 路径")
    parser.add_argument(
        "--db", default=None, help="训练记录 SQLite 路径（默认 $SCRIPTCHECK_TRAINING_DB 或 ~/.scriptcheck/）"
    )
    parser.add_argument("--json", action="store_true", help="输出 JSON")


def run(args: argparse.Namespace) -> int:
    from analyzer.guide import GuideError, load_guide
    from analyzer.training import TrainingStore, evaluate_attempt, format_history

    try:
        guide = load_guide(args.guide)
    except GuideError as exc:
        print(f"错误: {exc}", file=sys.stderr)
        return 2
    if args.list:
        print("用语：")
        for p in guide.phrases:
            print(f"  {p.id}\t{p.title}\t{p.display(0)}")
        print("情景：")
        for pr in guide.profiles:
            print(f"  {pr.id}\t{pr.title}\t" + " → ".join(guide.phrase(x).title for x in pr.sequence))
        return 0
    if args.history:
        store = TrainingStore(args.db)
        if args.json:
            print(
                json.dumps(
                    [p.__dict__ for p in store.progress(args.history, guide.setting("weak_score", 70.0))],
                    ensure_ascii=False,
                    indent=2,
                )
            )
        else:
            print(format_history(store, args.history, guide))
        return 0
    target = args.phrase or args.scenario
    if not target or not args.audio:
        print(
            "用法: scriptcheck train --phrase ID 录音.wav [--trainee 姓名] | --scenario ID 录音.wav | "
            "--history 姓名 | --list",
            file=sys.stderr,
        )
        return 2
    ids = {p.id for p in guide.phrases} if args.phrase else {p.id for p in guide.profiles}
    if target not in ids:
        print(
            f"错误: {guide.path}: 没有{'用语' if args.phrase else '情景'} {target!r}；"
            f"可选：{'、'.join(sorted(ids))}",
            file=sys.stderr,
        )
        return 2
    audio = Path(args.audio)
    if not audio.is_file():
        print(f"错误: {audio}: 文件不存在 / no such file", file=sys.stderr)
        return 2
    from analyzer.media import MediaError

    try:
        store = TrainingStore(args.db) if args.trainee else None
        fb = evaluate_attempt(audio, target, guide, trainee=args.trainee, store=store)
    except MediaError as exc:
        print(f"错误: {exc}", file=sys.stderr)  # names the file already
        return 2
    print(json.dumps(fb.to_dict(), ensure_ascii=False, indent=2) if args.json else fb.format_text())
    return 0
