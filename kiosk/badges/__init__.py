"""Badges: the visitor badge PDF, printing it, reprints, and the evacuation list."""
