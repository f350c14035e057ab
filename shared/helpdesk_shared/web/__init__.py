"""HTTP pieces every service shares: problem documents, tokens and roles, health and metrics."""
