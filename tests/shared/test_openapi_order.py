"""The OpenAPI document is the same bytes in every process: litestar keeps a handler's response
headers in a frozenset, whose order follows the hash seed, so the completed document lists them
by name. A document that changes between two starts of the same code makes every diff of the API
noisy (and an ETag or a published copy churn)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

# an app with the shared layer's documented headers and a handler that overrides one and adds two
_DOCUMENT = """
import json
from litestar import Litestar, get
from litestar.datastructures import ResponseHeader
from helpdesk_shared.web.headers import DOCUMENTED
from helpdesk_shared.web.openapi import complete_openapi

@get("/keys", sync_to_thread=False, response_headers=[
    ResponseHeader(name="Cache-Control", value="public, max-age=30", description="briefly"),
    ResponseHeader(name="ETag", value="x", documentation_only=True, description="the version"),
    ResponseHeader(name="Vary", value="Accept", documentation_only=True, description="by media type")])
def keys() -> dict[str, str]:
    return {}

app = Litestar([keys], response_headers=DOCUMENTED)
print(json.dumps(complete_openapi(app)))
"""


def _document(seed: int) -> str:
    env = {**os.environ, "PYTHONHASHSEED": str(seed)}
    return subprocess.run([sys.executable, "-c", _DOCUMENT], env=env, check=True, capture_output=True,
                          text=True, timeout=60).stdout


def test_openapi_document_lists_response_headers_by_name_whatever_the_hash_seed() -> None:
    documents = {seed: _document(seed) for seed in range(6)}
    assert len(set(documents.values())) == 1, "the document changes with PYTHONHASHSEED"
    headers = list(json.loads(documents[0])["paths"]["/keys"]["get"]["responses"]["200"]["headers"])
    assert headers == sorted(headers) and {"Cache-Control", "ETag", "Vary", "X-Content-Type-Options"} <= set(headers)
