"""`scriptcheck retention list`: the recordings of the reviewer web app that are past their retention
period (第十五条), for a daily cron job. It only lists them (and records that it did in the access
log); deleting is an admin's decision, one recording at a time, on the web app's 保存期限 page.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    p = sub.add_parser("list", help="列出已过保存期限的录像（适合每日定时任务）/ recordings past retention")
    p.add_argument(
        "--data-dir",
        default=os.environ.get("SCRIPTCHECK_DATA", "scriptcheck-data"),
        help="审阅网页的数据目录（默认 ./scriptcheck-data；环境变量 SCRIPTCHECK_DATA）",
    )
    p.add_argument(
        "--db", default=os.environ.get("SCRIPTCHECK_DB"), help="数据库（默认 DATA_DIR/scriptcheck.db）"
    )
    p.add_argument("--json", action="store_true", help="输出 JSON")


def run(args: argparse.Namespace) -> int:
    from analyzer.web import audit_log
    from analyzer.web.db import database_url, make_sessionmaker
    from analyzer.web.retention import RetentionError, describe, load_policy, past_retention, policy_path

    data_dir = Path(args.data_dir).expanduser().resolve()
    if not data_dir.is_dir():
        print(f"错误: {data_dir}: 数据目录不存在", file=sys.stderr)
        return 2
    try:
        policy = load_policy(policy_path(data_dir))
    except RetentionError as err:
        print(f"错误: {err}", file=sys.stderr)
        return 2
    from analyzer.web.migrations import SchemaError, make_engine

    try:
        sessions = make_sessionmaker(make_engine(database_url(args.db, data_dir)))
    except SchemaError as err:
        print(f"错误: {err}", file=sys.stderr)
        return 2
    audit_log.attach_key(sessions, data_dir)  # the listing is logged in the app's keyed chain
    with sessions() as db:
        due = past_retention(db, policy)
        items = [describe(r) for r in due]
        audit_log.append(
            db,
            username="system",
            role="",
            action="retention_list",
            target=f"{len(items)} 条",
            detail="已过保存期限：" + ("、".join(str(i["recording_id"]) for i in items) or "无"),
        )
    if args.json:
        print(json.dumps({"policy": policy.path, "due": items}, ensure_ascii=False, indent=1))
        return 0
    if not items:
        print("没有已过保存期限的录像")
        return 0
    print(f"已过保存期限的录像 {len(items)} 条（须由管理员在“保存期限”页面逐条确认删除）：")
    for i in items:
        hold = f"  诉讼保全：{i['hold_reason']}" if i["legal_hold"] else ""
        print(f"  #{i['recording_id']}  {i['title']}  {i['class_title']}  到期 {i['due_at'][:10]}{hold}")
    return 0
