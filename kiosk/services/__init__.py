"""Domain logic: plain functions that take a session and ``now`` and never touch the request."""
