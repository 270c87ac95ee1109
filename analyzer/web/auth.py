"""Passwords (argon2id), server-side sessions that expire, per-session CSRF tokens, roles.

The cookie holds only a random token; the database keeps its SHA-256, so a copied database
does not hand out live sessions. User names are compared in one normal form (NFKC, trimmed,
case-folded, ASCII only) so that look-alike spellings cannot become a second account or a
fresh set of login attempts.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import unicodedata
from dataclasses import dataclass
from datetime import timedelta
from functools import lru_cache
from importlib import resources

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from analyzer.web.db import ROLES, User, WebSession, utcnow

SESSION_COOKIE = "sc_session"
IDLE_TIMEOUT = timedelta(minutes=30)
ABSOLUTE_TIMEOUT = timedelta(hours=10)
MIN_PASSWORD_LEN = 10
USERNAME_RE = re.compile(r"[a-z0-9][a-z0-9_.-]{0,63}")

_hasher = PasswordHasher()


class AuthError(Exception):
    """Bad credentials or a bad account request; str(err) is a Chinese one-liner for the user."""


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(stored_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(stored_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def normalise_username(name: str) -> str:
    """The one spelling of a user name that logins, lockouts and uniqueness are keyed on."""
    return unicodedata.normalize("NFKC", name).strip().casefold()


@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    text = resources.files("analyzer.web").joinpath("common-passwords.txt").read_text(encoding="utf-8")
    return frozenset(line for line in text.splitlines() if line and not line.startswith("#"))


def password_problem(password: str, username: str = "") -> str | None:
    """Why `password` is refused (Chinese), or None. A common password stays common with
    capitals, digits or symbols added around it (Password2024!), so those are stripped first."""
    if len(password) < MIN_PASSWORD_LEN:
        return f"密码至少 {MIN_PASSWORD_LEN} 位"
    folded = unicodedata.normalize("NFKC", password).casefold()
    core = folded.strip("0123456789!@#$%^&*()_+-=.,;:?~`'\"/\\|[]{}<> ")
    common = common_passwords()
    if folded in common or (len(core) >= 4 and core in common):
        return "密码过于常见（在常用密码表中），请换一个"
    if len(set(folded)) <= 2:
        return "密码不能只由一两个字符重复组成"
    name = normalise_username(username)
    if name and len(name) >= 3 and name in folded:
        return "密码不能包含用户名"
    return None


def check_password(password: str, username: str = "") -> None:
    problem = password_problem(password, username)
    if problem:
        raise AuthError(problem)


def find_user(db: Session, username: str) -> User | None:
    """The account `username` names in its normal form (names stored before normalisation too)."""
    name = normalise_username(username)
    if not name:
        return None
    return db.scalars(select(User).where(func.lower(User.username) == name).order_by(User.id)).first()


def create_user(db: Session, username: str, password: str, role: str, display_name: str = "") -> User:
    raw = username
    username = normalise_username(username)
    if not USERNAME_RE.fullmatch(username) or not username.isascii():
        raise AuthError("用户名只能包含英文字母、数字、下划线、点或连字符（不区分大小写，以字母或数字开头）")
    if username != raw.strip() and username != raw.strip().lower():
        raise AuthError(f"用户名含有全角或易混淆的字符，请改用 {username}")
    if role not in ROLES:
        raise AuthError(f"未知角色：{role}")
    check_password(password, username)
    if find_user(db, username):
        raise AuthError(f"用户已存在（不区分大小写）：{username}")
    user = User(
        username=username, password_hash=hash_password(password), role=role, display_name=display_name
    )
    db.add(user)
    db.commit()
    return user


def set_password(db: Session, user: User, password: str) -> None:
    """A new password ends every session of the user: whoever knew the old one is logged out."""
    check_password(password, user.username)
    user.password_hash = hash_password(password)
    expire_sessions(db, user)
    db.commit()


def expire_sessions(db: Session, user: User) -> int:
    """End every live session of `user` (password changed, account deactivated); not committed."""
    now = utcnow()
    result = db.execute(
        update(WebSession)
        .where(WebSession.user_id == user.id, WebSession.expires_at > now)
        .values(expires_at=now)
    )
    return result.rowcount or 0


def authenticate(db: Session, username: str, password: str) -> User | None:
    user = find_user(db, username)
    if user is None:
        hash_password(password)  # same cost whether or not the user exists
        return None
    if not user.active or not verify_password(user.password_hash, password):
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
        db.commit()
    return user


@dataclass(frozen=True)
class NewSession:
    token: str  # goes into the cookie, never stored
    session: WebSession


def start_session(db: Session, user: User) -> NewSession:
    token = secrets.token_urlsafe(32)
    now = utcnow()
    ws = WebSession(
        token_hash=_token_hash(token),
        user_id=user.id,
        csrf_token=secrets.token_urlsafe(32),
        created_at=now,
        last_seen=now,
        expires_at=now + ABSOLUTE_TIMEOUT,
    )
    db.add(ws)
    db.commit()
    return NewSession(token=token, session=ws)


def load_session(db: Session, token: str | None) -> WebSession | None:
    """The live session for a cookie token, or None when missing, expired (idle or absolute) or disabled."""
    if not token:
        return None
    ws = db.scalar(select(WebSession).where(WebSession.token_hash == _token_hash(token)))
    if ws is None:
        return None
    now = utcnow()
    if now >= ws.expires_at or now - ws.last_seen >= IDLE_TIMEOUT or not ws.user.active:
        return None  # kept (not deleted): access grants refer to it
    if now - ws.last_seen > timedelta(seconds=30):
        ws.last_seen = now
        db.commit()
    return ws


def end_session(db: Session, ws: WebSession) -> None:
    ws.expires_at = utcnow()
    db.commit()


def csrf_ok(ws: WebSession | None, submitted: str | None) -> bool:
    return bool(ws and submitted and hmac.compare_digest(ws.csrf_token, submitted))
