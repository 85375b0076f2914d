"""Workspace accounts in the store: users, password checks, reset tokens and the login rate limit.

A user belongs to one shop (role `owner` or `staff`) or to none (`operator`,
who moderates every shop). Passwords are hashed with Werkzeug's
`generate_password_hash` (scrypt). A password-reset token is signed by the
app's secret, expires, and carries a fingerprint of the current password
hash, so it stops working as soon as it is used (the hash changes) — one use.
Failed logins are limited in workspace/auth.py with widgetserver/ratelimit.py.
"""

from __future__ import annotations

import hashlib
import hmac
import re

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from werkzeug.security import check_password_hash, generate_password_hash

from .. import store
from ..store import StoreError

ROLES = ("owner", "staff", "operator")
PASSWORD_MIN = 10
PASSWORD_MAX = 200
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
HASH_METHOD = "scrypt"  # Werkzeug's default KDF; tests may use a cheaper one (the stored hash names its method)
_dummy_hashes: dict = {}


def hash_password(password: str) -> str:
    """The password's salted hash with HASH_METHOD."""
    return generate_password_hash(password, method=HASH_METHOD)


def _dummy_hash() -> str:
    if HASH_METHOD not in _dummy_hashes:
        _dummy_hashes[HASH_METHOD] = hash_password("timing equaliser, never a real password")
    return _dummy_hashes[HASH_METHOD]


def normalise_email(email: str) -> str:
    """Trimmed, lower-cased e-mail address."""
    return (email or "").strip().lower()


def check_password_rules(password: str) -> str | None:
    """A message saying what is wrong with `password`, or None when it may be used."""
    if len(password) < PASSWORD_MIN:
        return f"Use at least {PASSWORD_MIN} characters."
    if len(password) > PASSWORD_MAX:
        return f"Use at most {PASSWORD_MAX} characters."
    if "\x00" in password:
        return "The password must not contain NUL bytes."
    return None


def create_user(db, *, shop_id: int | None, email: str, name: str, role: str, password: str,
                title: str = "", actor: str = "cli") -> dict:
    """Store a new user with a hashed password.

    :raise StoreError: bad e-mail, role, password, or an e-mail address already in use.
    """
    email = normalise_email(email)
    if not EMAIL_RE.match(email) or len(email) > 254:
        raise StoreError(f"{email!r} is not an e-mail address.", "email")
    if role not in ROLES:
        raise StoreError(f"Role must be one of {', '.join(ROLES)}.", "role")
    if (role == "operator") != (shop_id is None):
        raise StoreError("An operator belongs to no shop; owners and staff belong to one.", "role")
    problem = check_password_rules(password)
    if problem:
        raise StoreError(problem, "password")
    name = " ".join((name or "").split()) or email.split("@")[0]
    with store.write(db):
        if db.execute("SELECT 1 FROM users WHERE email = ?", [email]).fetchone():
            raise StoreError(f"A user with e-mail {email} exists already.", "email", 409)
        user_id = db.execute(
            "INSERT INTO users (shop_id, email, name, title, role, password_hash, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            [shop_id, email, name[:100], (title or "")[:100], role, hash_password(password),
             store.now_text()],
        ).lastrowid
        store.audit(db, shop_id=shop_id, actor=actor, action="create", entity="user", entity_id=user_id,
                    data={"role": role})
    return get_user(db, user_id)


def get_user(db, user_id) -> dict | None:
    """The user row by id, or None."""
    rows = list(db.query("SELECT * FROM users WHERE id = ?", [user_id]))
    return rows[0] if rows else None


def user_by_email(db, email: str) -> dict | None:
    """The user row by e-mail address (any case), or None."""
    rows = list(db.query("SELECT * FROM users WHERE email = ?", [normalise_email(email)]))
    return rows[0] if rows else None


def shop_users(db, shop_id: int) -> list[dict]:
    """The shop's users, owners first."""
    return list(db.query("SELECT id, email, name, title, role, last_login_at, disabled_at FROM users"
                         " WHERE shop_id = ? ORDER BY role = 'staff', name", [shop_id]))


def authenticate(db, email: str, password: str) -> dict | None:
    """The active user with this e-mail and password, or None (same work whether or not the e-mail exists)."""
    user = user_by_email(db, email)
    if user is None or user["disabled_at"]:
        check_password_hash(_dummy_hash(), password or "")
        return None
    if not check_password_hash(user["password_hash"], password or ""):
        return None
    return user


def record_login(db, user_id: int) -> None:
    """Remember when the user last logged in."""
    with store.write(db):
        db.execute("UPDATE users SET last_login_at = ? WHERE id = ?", [store.now_text(), user_id])


def set_password(db, user_id: int, password: str, actor: str) -> None:
    """Replace the user's password (which also ends their other sessions and any reset link).

    :raise StoreError: the password breaks the rules.
    """
    problem = check_password_rules(password)
    if problem:
        raise StoreError(problem, "password")
    with store.write(db):
        row = db.execute("SELECT shop_id FROM users WHERE id = ?", [user_id]).fetchone()
        db.execute("UPDATE users SET password_hash = ? WHERE id = ?", [hash_password(password), user_id])
        store.audit(db, shop_id=row[0] if row else None, actor=actor, action="password", entity="user",
                    entity_id=user_id, data={})


def update_profile(db, user_id: int, *, name: str, title: str) -> None:
    """Change the name and job title a user signs replies with."""
    with store.write(db):
        db.execute("UPDATE users SET name = ?, title = ? WHERE id = ?", [name, title, user_id])


def password_fingerprint(user: dict) -> str:
    """A short digest of the stored password hash: changes whenever the password does."""
    return hashlib.sha256(user["password_hash"].encode()).hexdigest()[:16]


# --- password reset ----------------------------------------------------------------


def _reset_serializer(secret: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret, salt="workspace-password-reset")


def reset_token(secret: str, user: dict) -> str:
    """A signed token for resetting this user's password; valid until used or expired."""
    return _reset_serializer(secret).dumps({"u": user["id"], "p": password_fingerprint(user)})


def user_for_reset_token(db, secret: str, token: str, max_age: int) -> dict | None:
    """The user a reset token is for, or None when it is forged, expired, or already used."""
    try:
        data = _reset_serializer(secret).loads(token, max_age=max_age)
    except (SignatureExpired, BadSignature):
        return None
    if not isinstance(data, dict):
        return None
    user = get_user(db, data.get("u"))
    if user is None or user["disabled_at"] or not hmac.compare_digest(password_fingerprint(user), str(data.get("p"))):
        return None
    return user
