"""Workspace accounts in the store: users, password checks, reset tokens and the login rate limit.

A user belongs to one shop (role `owner` or `staff`) or to none (`operator`,
who moderates every shop). An owner invites members in the workspace (Settings →
Team): the member is stored without a usable password and chooses one through an
e-mailed link (the password-reset link, valid longer for an invitation). Passwords are hashed with Werkzeug's
`generate_password_hash` (scrypt). A password-reset token is signed by the
app's secret, expires, and carries a fingerprint of the current password
hash, so it stops working as soon as it is used (the hash changes) — one use.
Failed logins are limited in workspace/auth.py with widgetserver/ratelimit.py.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from marshmallow import ValidationError, validate
from werkzeug.security import check_password_hash, generate_password_hash

from .. import store
from ..sanitize import identifier_problem
from ..store import StoreError

ROLES = ("owner", "staff", "operator")
PASSWORD_MIN = 10
PASSWORD_MAX = 200
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
SHOP_ROLES = ("owner", "staff")
UNSET = "!unset:"  # prefix of the stored hash of an invited member who has not chosen a password: matches none
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


_email_validator = validate.Email()


def valid_email(email: str) -> bool:
    """True for an address we can log in with and mail to: at most 254 characters, no control characters,
    and what marshmallow's validator accepts (no markup, no spaces, a real domain part)."""
    if len(email) > 254 or not EMAIL_RE.match(email) or identifier_problem(email):
        return False
    try:
        _email_validator(email)
    except ValidationError:
        return False
    return True


def check_password_rules(password: str) -> str | None:
    """A message saying what is wrong with `password`, or None when it may be used."""
    if len(password) < PASSWORD_MIN:
        return f"Use at least {PASSWORD_MIN} characters."
    if len(password) > PASSWORD_MAX:
        return f"Use at most {PASSWORD_MAX} characters."
    if "\x00" in password:
        return "The password must not contain NUL bytes."
    return None


def has_password(user: dict) -> bool:
    """False for an invited member who has not chosen a password yet (nobody can log in as them)."""
    return not user["password_hash"].startswith(UNSET)


def create_user(db, *, shop_id: int | None, email: str, name: str, role: str, password: str | None,
                title: str = "", actor: str = "cli") -> dict:
    """Store a new user with a hashed password (None: an invited member who chooses one by e-mailed link).

    :raise StoreError: bad e-mail, role, password, or an e-mail address already in use.
    """
    email = normalise_email(email)
    if not valid_email(email):
        raise StoreError(f"{email!r} is not an e-mail address.", "email")
    if role not in ROLES:
        raise StoreError(f"Role must be one of {', '.join(ROLES)}.", "role")
    if (role == "operator") != (shop_id is None):
        raise StoreError("An operator belongs to no shop; owners and staff belong to one.", "role")
    problem = check_password_rules(password) if password is not None else None
    if problem:
        raise StoreError(problem, "password")
    name = " ".join((name or "").split()) or email.split("@")[0]
    stored = hash_password(password) if password is not None else UNSET + secrets.token_hex(16)
    with store.write(db):
        if db.execute("SELECT 1 FROM users WHERE email = ?", [email]).fetchone():
            raise StoreError(f"A user with e-mail {email} exists already.", "email", 409)
        user_id = db.execute(
            "INSERT INTO users (shop_id, email, name, title, role, password_hash, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            [shop_id, email, name[:100], (title or "")[:100], role, stored, store.now_text()],
        ).lastrowid
        store.audit(db, shop_id=shop_id, actor=actor, action="create" if password is not None else "invite",
                    entity="user", entity_id=user_id, data={"role": role})
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
    """The shop's users, owners first; `pending` is true for an invited member without a password yet."""
    rows = db.query("SELECT id, email, name, title, role, last_login_at, disabled_at, created_at,"
                    f" substr(password_hash, 1, {len(UNSET)}) = ? AS pending FROM users"
                    " WHERE shop_id = ? ORDER BY role = 'staff', name, id", [UNSET, shop_id])
    return [{**row, "pending": bool(row["pending"]),
             "last_login_at": store.parse_time(row["last_login_at"]) if row["last_login_at"] else None,
             "created_at": store.parse_time(row["created_at"])} for row in rows]


def shop_user(db, shop_id: int, user_id: int) -> dict | None:
    """The user `user_id` if they belong to this shop, else None (another shop's user is not found)."""
    rows = list(db.query("SELECT * FROM users WHERE id = ? AND shop_id = ?", [user_id, shop_id]))
    return rows[0] if rows else None


def _owners_who_can_log_in(db, shop_id: int) -> int:
    return db.execute("SELECT count(*) FROM users WHERE shop_id = ? AND role = 'owner' AND disabled_at IS NULL"
                      f" AND substr(password_hash, 1, {len(UNSET)}) != ?", [shop_id, UNSET]).fetchone()[0]


def _keeps_an_owner(db, user: dict) -> None:
    """:raise StoreError (409): `user` is the last owner of their shop who can log in."""
    if user["role"] == "owner" and has_password(user) and not user["disabled_at"] \
            and _owners_who_can_log_in(db, user["shop_id"]) <= 1:
        raise StoreError("A shop needs at least one owner who can log in: make someone else owner first.", "role", 409)


def change_role(db, shop_id: int, user_id: int, role: str, actor: str) -> dict | None:
    """Make a member of this shop an owner or staff; returns the user (None: not a member of this shop).

    :raise StoreError: an unknown role (400); the last owner who can log in would be demoted (409).
    """
    if role not in SHOP_ROLES:
        raise StoreError(f"Role must be one of {', '.join(SHOP_ROLES)}.", "role")
    with store.write(db):  # checked and changed in one transaction: two owners cannot demote each other at once
        user = shop_user(db, shop_id, user_id)
        if user is None:
            return None
        if user["role"] != role:
            if role == "staff":
                _keeps_an_owner(db, user)
            db.execute("UPDATE users SET role = ? WHERE id = ?", [role, user_id])
            store.audit(db, shop_id=shop_id, actor=actor, action="role", entity="user", entity_id=user_id,
                        data={"from": user["role"], "role": role})
    return shop_user(db, shop_id, user_id)


def remove_user(db, shop_id: int, user_id: int, actor: str) -> bool:
    """Delete a member of this shop (their sessions end with the row); False if not a member of this shop.

    The audit log keeps only the id and role, not the address.
    :raise StoreError (409): the last owner who can log in.
    """
    with store.write(db):
        user = shop_user(db, shop_id, user_id)
        if user is None:
            return False
        _keeps_an_owner(db, user)
        db.execute("DELETE FROM users WHERE id = ?", [user_id])
        store.audit(db, shop_id=shop_id, actor=actor, action="delete", entity="user", entity_id=user_id,
                    data={"role": user["role"]})
    return True


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


def user_for_reset_token(db, secret: str, token: str, max_age: int, invite_max_age: int | None = None) -> dict | None:
    """The user a reset token is for, or None when it is forged, expired, or already used.

    An invited member without a password may use it for `invite_max_age` seconds (default `max_age`).
    """
    longest = max(max_age, invite_max_age or 0)
    try:
        data, signed_at = _reset_serializer(secret).loads(token, max_age=longest, return_timestamp=True)
    except (SignatureExpired, BadSignature):
        return None
    if not isinstance(data, dict):
        return None
    user = get_user(db, data.get("u"))
    if user is None or user["disabled_at"] or not hmac.compare_digest(password_fingerprint(user), str(data.get("p"))):
        return None
    age = time.time() - signed_at.timestamp()  # itsdangerous's clock, which signed it
    if age > (longest if not has_password(user) else max_age):
        return None
    return user
