"""notify's pure rules: the per-ticket view, who hears what, threading ids and retry policy."""
