"""Commands for the community: users and roles, moderation (hide/unhide papers), imported votes."""

from __future__ import annotations
