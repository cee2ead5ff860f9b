"""Editors and API tokens: the use cases of ``distributor editors|tokens``.

An editor removed or demoted loses the dashboard at their next request (the session
holds only the account id, looked up each time); a revoked token is refused at once.
The last admin can neither be removed nor demoted: someone must be able to manage
subscribers.
"""

from __future__ import annotations

from distributor.errors import AccountError
from distributor.service.context import Context
from distributor.store.accounts import AccountStore, EditorAccount, TokenEntry
from distributor.store.web import ROLES

__all__ = [
    "ROLES",
    "EditorAccount",
    "TokenEntry",
    "editors",
    "remove_editor",
    "revoke_token",
    "set_role",
    "tokens",
]


def editors(ctx: Context) -> list[EditorAccount]:
    """Every dashboard account, by address."""
    return AccountStore(ctx.store).editors()


def _must_exist(accounts: AccountStore, email: str) -> str:
    role = accounts.editor_role(email)
    if role is None:
        raise AccountError(f"no editor {email!r}")
    return role


def remove_editor(ctx: Context, email: str) -> EditorAccount:
    """Remove an editor; refused for an unknown address or the last admin."""
    accounts = AccountStore(ctx.store)
    role = _must_exist(accounts, email)
    if role == "admin" and accounts.admins() <= 1:
        raise AccountError(f"{email} is the last admin; make another admin first")
    removed = next(e for e in accounts.editors() if e.email == email.lower())
    accounts.remove_editor(email)
    return removed


def set_role(ctx: Context, email: str, role: str) -> tuple[str, str]:
    """Change an editor's role; returns (old role, new role)."""
    if role not in ROLES:
        raise AccountError(f"unknown role {role!r} (expected one of {', '.join(ROLES)})")
    accounts = AccountStore(ctx.store)
    old = _must_exist(accounts, email)
    if old == "admin" and role != "admin" and accounts.admins() <= 1:
        raise AccountError(f"{email} is the last admin; make another admin first")
    accounts.set_editor_role(email, role)
    return old, role


def tokens(ctx: Context) -> list[TokenEntry]:
    """Every API token by name (never the token itself: it is stored hashed)."""
    return AccountStore(ctx.store).tokens()


def revoke_token(ctx: Context, name: str) -> None:
    """Delete a token: calls made with it are refused from now on."""
    if not AccountStore(ctx.store).revoke_token(name):
        raise AccountError(f"no API token named {name!r}")
