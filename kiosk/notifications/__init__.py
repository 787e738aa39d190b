"""Host notifications and invitation emails: what to say (messages), the outbox in the database
(outbox), how to send (transports) and the sender that delivers the outbox (sender)."""
