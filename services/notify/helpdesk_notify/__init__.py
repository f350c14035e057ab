"""notify: outgoing mail and webhooks, exactly once (CARD-5)."""
