"""The query API's parameters that are ids, and the shape of each (issue #15 item 3).

The shared edge (``helpdesk_shared.web.edge``) checks them before any route runs: in
the path another value is 404, as a filter 422 naming it. So no id that nothing could
carry reaches SQL or becomes a NATS subject (``helpdesk.ticket.<id>.…``).
"""

from __future__ import annotations

import re

TOKEN = re.compile(r"[A-Za-z0-9_-]{1,200}")  # intake's UUIDs; one subject token, no dots or wildcards
SHA256 = re.compile(r"[0-9a-f]{64}")  # an attachment is named by the digest of its bytes

IDS = {"ticket_id": TOKEN, "customer_id": TOKEN, "attachment_id": SHA256}
