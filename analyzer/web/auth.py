"""Passwords (argon2id), server-side sessions that expire, per-session CSRF tokens, roles.

The cookie holds only a random token; the database keeps its SHA-256, so a copied database
does not hand out live sessions.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import select
from sqlalchemy.orm import Session

from analyzer.web.db import ROLES, User, WebSession, utcnow

SESSION_COOKIE = "sc_session"
IDLE_TIMEOUT = timedelta(minutes=30)
ABSOLUTE_TIMEOUT = timedelta(hours=10)
MIN_PASSWORD_LEN = 8

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


def create_user(db: Session, username: str, password: str, role: str, display_name: str = "") -> User:
    username = username.strip()
    if not username or len(username) > 64 or not username.replace("_", "").replace("-", "").isalnum():
        raise AuthError("用户名只能包含字母、数字、下划线或连字符")
    if role not in ROLES:
        raise AuthError(f"未知角色：{role}")
    if len(password) < MIN_PASSWORD_LEN:
        raise AuthError(f"密码至少 {MIN_PASSWORD_LEN} 位")
    if db.scalar(select(User).where(User.username == username)):
        raise AuthError(f"用户已存在：{username}")
    user = User(
        username=username, password_hash=hash_password(password), role=role, display_name=display_name
    )
    db.add(user)
    db.commit()
    return user


def set_password(db: Session, user: User, password: str) -> None:
    if len(password) < MIN_PASSWORD_LEN:
        raise AuthError(f"密码至少 {MIN_PASSWORD_LEN} 位")
    user.password_hash = hash_password(password)
    db.commit()


def authenticate(db: Session, username: str, password: str) -> User | None:
    user = db.scalar(select(User).where(User.username == username.strip()))
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
