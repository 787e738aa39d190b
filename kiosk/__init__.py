"""kiosk: visitor registration for office receptions."""

from kiosk.app import create_app

__all__ = ["create_app"]
