"""Login attempt limits, counted in the database per normalised user name and per client address.

Every attempt is counted *before* its password is checked, in one INSERT ... ON CONFLICT DO UPDATE
... RETURNING statement, so parallel guesses each see their own number and no more than the limit
are ever checked; a successful login gives its own count back. A counter lives for one window from
its first failure; expired rows are deleted, never the live ones.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import case, delete, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from analyzer.web.db import LoginAttempt, utcnow


@dataclass(frozen=True)
class Limits:
    per_name: int = 5  # failures of one user name within the window
    per_address: int = 30  # failures from one client address, any names, within the window
    window: timedelta = timedelta(minutes=15)


def _keys(name: str, address: str) -> list[tuple[str, str]]:
    return [("name", name), ("addr", address or "?")]


def _bump(db: Session, kind: str, key: str, now: datetime, window: timedelta) -> int:
    """Add one attempt to (kind, key) and return the new count, atomically in the database."""
    dialect = db.get_bind().dialect.name
    insert = {"sqlite": sqlite.insert, "postgresql": postgresql.insert}.get(dialect)
    if insert is None:
        raise RuntimeError(f"登录次数限制不支持此数据库：{dialect}")
    table = LoginAttempt.__table__
    stmt = insert(table).values(kind=kind, key=key, count=1, window_start=now)
    stale = table.c.window_start <= now - window
    stmt = stmt.on_conflict_do_update(
        index_elements=[table.c.kind, table.c.key],
        set_={
            "count": case((stale, 1), else_=table.c.count + 1),
            "window_start": case((stale, now), else_=table.c.window_start),
        },
    ).returning(table.c.count)
    return int(db.execute(stmt).scalar_one())


def begin_attempt(db: Session, name: str, address: str, limits: Limits) -> bool:
    """Count one login attempt for `name` from `address`; False when either is over its limit
    (then the password must not be checked). Commits, so that parallel requests see the count."""
    now = utcnow()
    db.execute(delete(LoginAttempt).where(LoginAttempt.window_start <= now - limits.window))
    over = False
    for kind, key in _keys(name, address):
        count = _bump(db, kind, key, now, limits.window)
        over |= count > (limits.per_name if kind == "name" else limits.per_address)
    db.commit()
    return not over


def attempt_succeeded(db: Session, name: str, address: str) -> None:
    """A correct password: the name's failures are forgiven, the address gets this attempt back."""
    db.execute(delete(LoginAttempt).where(LoginAttempt.kind == "name", LoginAttempt.key == name))
    db.execute(
        update(LoginAttempt)
        .where(LoginAttempt.kind == "addr", LoginAttempt.key == (address or "?"), LoginAttempt.count > 0)
        .values(count=LoginAttempt.count - 1)
    )
    db.commit()
