"""intake's HTTP API (CONTRACT §2–3)."""
