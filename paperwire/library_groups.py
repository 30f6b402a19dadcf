"""Groups (labs): create one, invite by e-mail with a signed link, accept, roles.

An invitation answers the inviter the same whether or not the address has an account, and
the mail carries no text the inviter chose (no group name, no greeting): the address has not
agreed to hear from them. Whoever opens the link signs in (or signs up) with the invited
address and joins as a member. A group keeps at least one owner. A group someone is not in
does not exist for them (LibraryError 404).
"""

from __future__ import annotations

from email.message import EmailMessage
from typing import Any

from paperwire.accounts import may_mail
from paperwire.library import LibraryError, clean_text
from paperwire.mail import Mailer, compose
from paperwire.models import User
from paperwire.settings import Settings
from paperwire.signing import InvalidToken, Signer
from paperwire.store import Store

ROLES = ("owner", "member")
INVITE_PURPOSE = "group-invite"
INVITE_MAX_AGE_S = 14 * 24 * 3600
MAX_GROUP_NAME = 200
MAX_GROUPS = 100  # per user
MAIL_KIND = "group-invite"


def _not_found(group_id: int) -> LibraryError:
    return LibraryError(f"no group {group_id} of yours", 404)


def group_for(store: Store, user: User | None, group_id: int) -> tuple[dict[str, Any], str]:
    """The group and the user's role in it; 404 for anyone not in it."""
    found = store.group(group_id)
    role = store.group_role(group_id, user.id) if user is not None and found else None
    if found is None or role is None:
        raise _not_found(group_id)
    return found, role


def owned(store: Store, user: User | None, group_id: int) -> dict[str, Any]:
    found, role = group_for(store, user, group_id)
    if role != "owner":
        raise LibraryError("only the group's owners may do this", 403)
    return found


def create_group(store: Store, user: User, name: str) -> int:
    name = clean_text(name, "the group's name", MAX_GROUP_NAME)
    if not name:
        raise LibraryError("give the group a name")
    if not user.verified:
        raise LibraryError("confirm your e-mail address before creating a group", 403)
    if len(store.groups_of(user.id)) >= MAX_GROUPS:
        raise LibraryError(f"at most {MAX_GROUPS} groups per account", 409)
    return store.create_group(name, user.id)


def invite_message(settings: Settings, email: str, url: str) -> EmailMessage:
    days = INVITE_MAX_AGE_S // 86400
    text = ("Hello,\n\nsomeone on paperwire invited this address to join their group, to "
            f"read and add to its shared reading lists. To accept, open this link (it works "
            f"for {days} days) and sign in or sign up with this address:\n\n{url}\n\n"
            "If you do not want to join, ignore this message.\n")
    return compose(settings, email, "An invitation to a paperwire group", text)


def invite(store: Store, settings: Settings, mailer: Mailer, inviter: User, group_id: int,
           email: str, base_url: str) -> str:
    """Queue an invitation to ``email``; the same answer whatever the address."""
    owned(store, inviter, group_id)
    address = clean_text(email, "the address", 320).lower()
    if "@" not in address.strip("@") or " " in address:
        raise LibraryError(f"{address[:80]!r} is not an e-mail address")
    invite_id = store.add_group_invite(group_id, address, inviter.id)
    token = Signer(settings, INVITE_PURPOSE).sign({"i": invite_id, "e": address})
    if may_mail(store, settings, MAIL_KIND, address):
        url = f"{base_url}/library/groups/join?token={token}"
        mailer.send(invite_message(settings, address, url), kind=MAIL_KIND)
    return f"an invitation is on its way to {address}"


def read_invite(store: Store, settings: Settings, token: str) -> dict[str, Any]:
    """The invitation a link names (LibraryError 400 when the link is not valid)."""
    try:
        payload = Signer(settings, INVITE_PURPOSE).unsign(token, INVITE_MAX_AGE_S)
        found = store.group_invite(int(payload["i"]))
    except (InvalidToken, KeyError, TypeError, ValueError) as exc:
        raise LibraryError(f"this invitation link is not valid: {exc}", 400) from None
    if found is None or found["email"] != payload.get("e"):
        raise LibraryError("this invitation link is not valid", 400)
    return found


def accept(store: Store, settings: Settings, user: User, token: str) -> int:
    """Join the group the link invites to; the group's id. The signed-in address must be
    the invited one."""
    found = read_invite(store, settings, token)
    if user.email.lower() != found["email"]:
        raise LibraryError("this invitation is for another address: sign in with the "
                           "address it was sent to", 403)
    if not user.verified:
        raise LibraryError("confirm your e-mail address first (see your account page)", 403)
    if found["accepted_at"] is not None and store.group_role(found["group_id"],
                                                             user.id) is None:
        raise LibraryError("this invitation was used already", 400)
    store.accept_group_invite(found["id"], user.id)
    return int(found["group_id"])


def set_role(store: Store, actor: User, group_id: int, member_id: int, role: str | None
             ) -> None:
    """An owner changes a member's role or removes them; anyone may leave (member_id is
    their own). The last owner can neither leave nor step down."""
    if member_id == actor.id and role is None:
        group_for(store, actor, group_id)
    else:
        owned(store, actor, group_id)
    if role is not None and role not in ROLES:
        raise LibraryError(f"role must be one of {', '.join(ROLES)}")
    members = store.group_members(group_id)
    target = next((m for m in members if m["id"] == member_id), None)
    if target is None:
        raise LibraryError(f"no member {member_id} in this group", 404)
    owners = [m for m in members if m["role"] == "owner"]
    if target["role"] == "owner" and role != "owner" and len(owners) == 1:
        raise LibraryError("a group needs an owner: make someone else owner first", 409)
    store.set_group_role(group_id, member_id, role)


def group_data(store: Store, user: User, group_id: int) -> dict[str, Any]:
    found, role = group_for(store, user, group_id)
    members = [{"id": m["id"], "display_name": m["display_name"], "role": m["role"],
                "email": m["email"] if role == "owner" else None}
               for m in store.group_members(group_id)]
    return {"id": found["id"], "name": found["name"], "role": role, "members": members,
            "url": f"/library/groups/{found['id']}"}
