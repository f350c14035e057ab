"""How work reaches notify: the JetStream consumer, the sender loop and the admin HTTP API."""
