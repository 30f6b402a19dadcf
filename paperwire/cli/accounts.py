"""Commands for accounts and moderation: users and roles, hiding and unhiding papers."""

from __future__ import annotations
