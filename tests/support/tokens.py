"""The test session's token signing key, and tokens signed with it as intake would sign them.

One Ed25519 key per test session, in a temporary directory every intake a test starts
reads (``HELPDESK_JWT_KEYS_DIR`` in ``processes.base_env``); the other services verify
with intake's JWK set, so a hand-made token needs a running intake to be believed.
"""

from __future__ import annotations

import atexit
import datetime as dt
import functools
import shutil
import tempfile
from pathlib import Path

from helpdesk_shared.vocabulary import Role
from helpdesk_shared.web.auth import Principal, TokenIssuer
from helpdesk_shared.web.keys import KeyRing, generate_key


@functools.cache
def session_keys_dir() -> Path:
    """A directory holding one fresh signing key, removed when the session ends."""
    directory = Path(tempfile.mkdtemp(prefix="helpdesk-jwt-keys-"))
    atexit.register(shutil.rmtree, directory, ignore_errors=True)
    generate_key(directory, "test-session")
    return directory


def signed_token(user_id: str, role: Role, customer_id: str | None = None, keys_dir: Path | None = None) -> str:
    """A token for ``user_id`` signed with the session key (or the keys in ``keys_dir``)."""
    issuer = TokenIssuer(KeyRing(keys_dir or session_keys_dir()))
    return issuer.issue(Principal(user_id, role, customer_id), dt.datetime.now(dt.UTC))
