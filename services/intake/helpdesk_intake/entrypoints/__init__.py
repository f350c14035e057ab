"""intake's entry points: the HTTP API and the relay."""
