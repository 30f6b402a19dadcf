"""Commands for mail: subscriptions, digests, the outbox, and the scheduled worker."""

from __future__ import annotations
