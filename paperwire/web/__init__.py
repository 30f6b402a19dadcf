"""The web app: server-rendered pages, each with a JSON twin, Atom feeds and a JSON API."""

from paperwire.web.app import create_app

__all__ = ["create_app"]
