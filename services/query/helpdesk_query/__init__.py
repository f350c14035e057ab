"""helpdesk_query: read models, the query API, history, as_of views and replay (CARD-6, CARD-8)."""
