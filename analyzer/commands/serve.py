"""`scriptcheck serve`: the local reviewer web app (review queue, evidence view, access log, training).

Binds 127.0.0.1 unless --host says otherwise; any other address needs HTTPS (--ssl-certfile and
--ssl-keyfile, or --behind-proxy for a TLS proxy in front) and --secure-cookies. Requests are
answered only for the host names allowed (--allowed-host). Files are created with umask 077.
The first admin is created with `scriptcheck serve --create-admin NAME` (password from
SCRIPTCHECK_ADMIN_PASSWORD or a prompt).
"""

from __future__ import annotations

import argparse
import getpass
import ipaddress
import os
import sys
from pathlib import Path

LOOPBACK_NAMES = ["127.0.0.1", "localhost", "::1"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="监听地址（默认仅本机 127.0.0.1）")
    parser.add_argument("--port", type=int, default=8765, help="端口（默认 8765）")
    parser.add_argument(
        "--db",
        default=os.environ.get("SCRIPTCHECK_DB"),
        help="数据库：SQLAlchemy URL 或 SQLite 文件（默认 DATA_DIR/scriptcheck.db；环境变量 SCRIPTCHECK_DB）",
    )
    parser.add_argument(
        "--migrate",
        action="store_true",
        help="启动前将数据库结构升级到本程序的版本（PostgreSQL 等服务器数据库须明确要求；SQLite 自动升级）",
    )
    parser.add_argument(
        "--data-dir",
        default=os.environ.get("SCRIPTCHECK_DATA", "scriptcheck-data"),
        help="数据目录：原始文件、分析结果、训练录音（默认 ./scriptcheck-data；环境变量 SCRIPTCHECK_DATA）",
    )
    parser.add_argument(
        "--import-root",
        action="append",
        default=[],
        metavar="DIR",
        help="管理员可登记的服务器文件夹根目录（可重复；默认 DATA_DIR/inbox）",
    )
    parser.add_argument("--guide", default=None, help="默认用语指引（名称或 TOML 路径）")
    parser.add_argument("--workers", type=int, default=1, help="后台分析线程数（默认 1）")
    parser.add_argument(
        "--executor",
        choices=("local", "ray"),
        default="local",
        help=(
            "后台分析在哪里运行：local 本机（默认）；ray 每条录音一个 Ray 任务"
            "（数据目录须在所有节点都能访问的共享存储上）"
        ),
    )
    parser.add_argument(
        "--ray-address", metavar="ADDRESS", help="加入已有的 Ray 集群；不指定则在本机启动一个 Ray 实例"
    )
    parser.add_argument(
        "--secure-cookies", action="store_true", help="仅通过 HTTPS 发送会话 Cookie（部署在 HTTPS 之后时）"
    )
    parser.add_argument("--ssl-certfile", metavar="FILE", help="HTTPS 证书（PEM），与 --ssl-keyfile 一起使用")
    parser.add_argument("--ssl-keyfile", metavar="FILE", help="HTTPS 私钥（PEM）")
    parser.add_argument(
        "--behind-proxy",
        action="store_true",
        help="部署在终止 HTTPS 的反向代理之后（信任其 X-Forwarded-For；"
        "代理地址由环境变量 FORWARDED_ALLOW_IPS 指定，默认 127.0.0.1）",
    )
    parser.add_argument(
        "--allowed-host",
        action="append",
        default=[],
        metavar="NAME",
        help="浏览器访问本服务所用的主机名（可重复；默认 127.0.0.1、localhost 与 --host）",
    )
    parser.add_argument(
        "--max-upload-gb",
        type=float,
        default=4.0,
        metavar="GB",
        help="每个上传文件的大小上限（GB，默认 4）；超过的上传在读取过程中即被拒绝",
    )
    parser.add_argument(
        "--user-quota-gb",
        type=float,
        default=100.0,
        metavar="GB",
        help="每个用户上传的原始文件与训练录音合计的磁盘配额（GB，默认 100；0 表示不限）",
    )
    parser.add_argument(
        "--training-jobs-per-user",
        type=int,
        default=2,
        metavar="N",
        help="每个用户同时等待评分的练习录音数上限（默认 2）",
    )
    parser.add_argument(
        "--create-admin",
        metavar="NAME",
        help="创建管理员账号后退出（密码取自环境变量 SCRIPTCHECK_ADMIN_PASSWORD，否则提示输入）",
    )


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _is_wildcard(host: str) -> bool:
    return host in ("", "0.0.0.0", "::", "*")


def network_problem(args: argparse.Namespace) -> str | None:
    """Why these network options are refused (Chinese, one line), or None."""
    if bool(args.ssl_certfile) != bool(args.ssl_keyfile):
        return "--ssl-certfile 与 --ssl-keyfile 须同时给出"
    for name in (args.ssl_certfile, args.ssl_keyfile):
        if name and not Path(name).is_file():
            return f"{name}：文件不存在或不可读"
    if _is_loopback(args.host):
        return None
    if not args.secure_cookies:
        return f"监听 {args.host} 时须加 --secure-cookies（会话 Cookie 只经 HTTPS 发送）"
    if not args.ssl_certfile and not args.behind_proxy:
        return (
            f"监听 {args.host} 时须启用 HTTPS：--ssl-certfile 与 --ssl-keyfile，"
            "或在终止 HTTPS 的反向代理之后运行并加 --behind-proxy"
        )
    if _is_wildcard(args.host) and not args.allowed_host:
        return f"监听 {args.host or '所有地址'} 时须用 --allowed-host 指定浏览器访问所用的主机名"
    return None


def allowed_hosts(args: argparse.Namespace) -> list[str]:
    names = list(LOOPBACK_NAMES)
    if not _is_wildcard(args.host):
        names.append(args.host)
    return list(dict.fromkeys([*names, *args.allowed_host]))


def _config(args: argparse.Namespace):
    from analyzer.web.app import WebConfig
    from analyzer.web.uploads import GIB

    return WebConfig(
        data_dir=Path(args.data_dir).expanduser(),
        db=args.db,
        import_roots=[Path(p).expanduser() for p in args.import_root],
        guide=args.guide,
        workers=args.workers,
        executor=args.executor,
        ray_address=args.ray_address,
        secure_cookies=args.secure_cookies,
        max_upload_bytes=int(args.max_upload_gb * GIB),
        user_quota_bytes=int(args.user_quota_gb * GIB) or None,
        training_jobs_per_user=max(1, args.training_jobs_per_user),
        allowed_hosts=allowed_hosts(args),
    )


def _create_admin(args: argparse.Namespace) -> int:
    from analyzer.web.auth import AuthError, create_user
    from analyzer.web.db import database_url, make_sessionmaker
    from analyzer.web.migrations import make_engine

    data_dir = Path(args.data_dir).expanduser()
    data_dir.mkdir(parents=True, exist_ok=True)
    password = os.environ.get("SCRIPTCHECK_ADMIN_PASSWORD")
    if not password:
        password = getpass.getpass(f"{args.create_admin} 的密码：")
        if password != getpass.getpass("再输入一次："):
            print("两次输入的密码不一致", file=sys.stderr)
            return 2
    sessions = make_sessionmaker(make_engine(database_url(args.db, data_dir)))
    with sessions() as db:
        try:
            create_user(db, args.create_admin, password, "admin")
        except AuthError as err:
            print(f"无法创建管理员：{err}", file=sys.stderr)
            return 2
    print(f"已创建管理员 {args.create_admin}")
    return 0


def _migrate(args: argparse.Namespace) -> None:
    from analyzer.web.db import database_url, new_engine
    from analyzer.web.migrations import prepare

    data_dir = Path(args.data_dir).expanduser()
    data_dir.mkdir(parents=True, exist_ok=True)
    engine = new_engine(database_url(args.db, data_dir))
    try:
        print(prepare(engine, migrate=True).describe())
    finally:
        engine.dispose()


def run(args: argparse.Namespace) -> int:
    os.umask(0o077)  # database, audit key, originals and results readable by this account only
    if args.db and args.db.startswith("postgresql"):
        try:
            import psycopg  # noqa: F401 - the driver SQLAlchemy loads for postgresql+psycopg://
        except ImportError:
            print("无法启动：未安装 PostgreSQL 驱动 psycopg / pip install -e .[postgresql]", file=sys.stderr)
            return 2
    problem = None if args.create_admin else network_problem(args)
    if problem:
        print(f"无法启动：{problem}", file=sys.stderr)
        return 2
    from analyzer.web.migrations import SchemaError

    try:
        if args.migrate:
            _migrate(args)
        if args.create_admin:
            return _create_admin(args)
    except SchemaError as err:
        print(f"无法启动：{err}", file=sys.stderr)
        return 2
    import uvicorn

    from analyzer.executors import ExecutorError
    from analyzer.web.app import create_app
    from analyzer.web.approval import ApprovalError

    try:
        app = create_app(_config(args))
    except (ExecutorError, ApprovalError, SchemaError) as err:
        print(f"无法启动：{err}", file=sys.stderr)
        return 2
    scheme = "https" if args.ssl_certfile else "http"
    print(f"Scriptcheck 审阅网页：{scheme}://{args.host}:{args.port}/  （Ctrl+C 停止）")
    uvicorn.run(
        app,
        host=args.host,
        port=args.port,
        log_level="warning",
        ssl_certfile=args.ssl_certfile,
        ssl_keyfile=args.ssl_keyfile,
        proxy_headers=args.behind_proxy,
        server_header=False,
    )
    return 0
