"""`scriptcheck guide validate|show|list`: check and inspect phrase-guide TOML files."""

from __future__ import annotations

import argparse
import sys


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="guide_command", metavar="ACTION")
    v = sub.add_parser("validate", help="校验用语指引文件 / validate guide files")
    v.add_argument("paths", nargs="+", help="TOML 文件路径或指引名称")
    s = sub.add_parser("show", help="显示用语指引内容 / show a guide")
    s.add_argument("path", nargs="?", default=None, help="TOML 文件路径或指引名称（默认 default）")
    sub.add_parser("list", help="列出 phrasebook/ 中的用语指引 / list shipped guides")


def run(args: argparse.Namespace) -> int:
    from analyzer.guide import GuideError, list_guides, load_guide

    action = getattr(args, "guide_command", None)
    if action == "validate":
        failed = 0
        for path in args.paths:
            try:
                g = load_guide(path)
            except GuideError as exc:
                print(f"错误: {exc}", file=sys.stderr)
                failed += 1
                continue
            print(f"通过: {g.path}  {g.title}（{len(g.phrases)} 条用语，{len(g.profiles)} 种执法类型）")
        return 1 if failed else 0
    if action == "list":
        for path in list_guides():
            try:
                g = load_guide(path)
                print(f"{path.stem}\t{g.id}\t{g.title}")
            except GuideError as exc:
                print(f"{path.stem}\t(无效) {exc}")
        return 0
    if action == "show":
        try:
            g = load_guide(args.path)
        except GuideError as exc:
            print(f"错误: {exc}", file=sys.stderr)
            return 2
        print(f"{g.title}（{g.id}，版本 {g.version}）\n来源：{g.source}\n")
        for p in g.phrases:
            print(f"[{p.id}] {p.title}  要求：{p.required}  权重：{p.weight:g}  出处：{p.source}")
            for i in range(len(p.standards)):
                print(f"    标准{i + 1}：{p.display(i)}")
            if p.key_terms:
                print("    关键词：" + "、".join(f"{t.term}({t.weight:g})" for t in p.key_terms))
        print("\n执法类型：")
        for pr in g.profiles:
            print(f"  {pr.id}\t{pr.title}：" + " → ".join(pr.sequence))
        return 0
    print("用法: scriptcheck guide {validate,show,list}", file=sys.stderr)
    return 2
