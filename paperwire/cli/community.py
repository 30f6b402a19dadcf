"""Commands for the community signal: imported votes (Hugging Face daily papers), trending."""

from __future__ import annotations
