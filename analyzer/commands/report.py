"""`scriptcheck report monthly`: the monthly compliance report of the reviewer app's database, as an
XLSX workbook (one sheet per view) and a printable HTML file, without starting the web server.

The access log records the producer as the OS user (os:NAME).
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="report_kind", metavar="KIND")
    monthly = sub.add_parser("monthly", help="月度报告（XLSX + 可打印 HTML）", description="月度报告")
    monthly.add_argument("--period", required=True, help="月份，如 2026-03")
    monthly.add_argument("--unit", default="", help="单位（默认全部单位）")
    monthly.add_argument("-o", "--out", required=True, metavar="DIR", help="输出目录")
    monthly.add_argument(
        "--data-dir",
        default=os.environ.get("SCRIPTCHECK_DATA", "scriptcheck-data"),
        help="审阅网页的数据目录（默认 ./scriptcheck-data；环境变量 SCRIPTCHECK_DATA）",
    )
    monthly.add_argument(
        "--db", default=os.environ.get("SCRIPTCHECK_DB"), help="数据库（默认 DATA_DIR/scriptcheck.db）"
    )
    monthly.add_argument("--guide", default=None, help="用语指引（训练情况的用语清单；默认内置指引）")


def run(args: argparse.Namespace) -> int:
    if args.report_kind != "monthly":
        print("用法: scriptcheck report monthly --period 2026-03 [--unit 单位] -o 目录", file=sys.stderr)
        return 2
    if not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", args.period):
        print(f"错误: --period {args.period!r}：月份格式应为 YYYY-MM（如 2026-03）", file=sys.stderr)
        return 2
    data_dir = Path(args.data_dir).expanduser()
    from analyzer.web.db import database_url

    url = database_url(args.db, data_dir)
    if url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).exists():
        print(
            f"错误: {url.removeprefix('sqlite:///')}：数据库不存在（请用 --data-dir 或 --db 指定）",
            file=sys.stderr,
        )
        return 2
    from analyzer.web import audit_log
    from analyzer.web.dashboard import Scope, backfill
    from analyzer.web.db import make_sessionmaker
    from analyzer.web.jobs import load_output
    from analyzer.web.migrations import SchemaError, make_engine
    from analyzer.web.monthly import file_stem, training_for, write_monthly

    try:
        sessions = make_sessionmaker(make_engine(url))
    except SchemaError as err:
        print(f"错误: {err}", file=sys.stderr)
        return 2
    audit_log.attach_key(sessions, data_dir)
    scope = Scope.from_params({"period": args.period, "unit": args.unit})
    with sessions() as db:
        backfill(db, load_output)
        files = write_monthly(
            db, scope, Path(args.out), file_stem(args.period, args.unit), training_for(data_dir, args.guide)
        )
    print(f"已生成：{files.xlsx}")
    print(f"已生成：{files.html}（在浏览器中打开，Ctrl+P 可打印或另存为 PDF）")
    return 0
