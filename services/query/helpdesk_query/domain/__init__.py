"""Pure rules of the query side: how ticket facts fold into a ticket view. No I/O, no clock."""
