"""Attachments: file contents outside the event store, content-addressed by SHA-256.

They live in the JetStream object store ``helpdesk_attachments`` (file storage,
chunked, as many copies as the stream: ``HELPDESK_STREAM_REPLICAS``), named by the
hex SHA-256 of their bytes, so the same file sent twice is stored once and an event
can name it by digest (``events.Attachment``). Intake stores them before it commits
the event that refers to them — an orphan blob is harmless, a dangling reference is
not; the query service serves them to those who may see the ticket.
"""

from __future__ import annotations

import hashlib

from nats.js import JetStreamContext
from nats.js.api import ObjectMeta, ObjectStoreConfig, StorageType
from nats.js.errors import BucketNotFoundError, NotFoundError, ObjectNotFoundError
from nats.js.object_store import ObjectStore

from helpdesk_shared.events import Attachment
from helpdesk_shared.stream import ensure_replicas

BUCKET = "helpdesk_attachments"


async def bucket(js: JetStreamContext, replicas: int = 1) -> ObjectStore:
    """The attachments bucket, created on first use with ``replicas`` copies."""
    try:
        return await js.object_store(BUCKET)
    except BucketNotFoundError:
        try:
            return await js.create_object_store(
                BUCKET, config=ObjectStoreConfig(storage=StorageType.FILE, replicas=replicas))
        except Exception:  # noqa: BLE001 - another process created it meanwhile
            return await js.object_store(BUCKET)


async def prepare(js: JetStreamContext, replicas: int) -> None:
    """Intake at start: the bucket exists with ``replicas`` copies, even one created before with others."""
    await bucket(js, replicas)
    await ensure_replicas(js, f"OBJ_{BUCKET}", replicas)


def digest(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


async def store(js: JetStreamContext, content: bytes, *, filename: str,
                content_type: str = "application/octet-stream", replicas: int = 1) -> Attachment:
    """Keep ``content`` (once per digest) and describe it for an event."""
    sha = digest(content)
    objects = await bucket(js, replicas)
    try:
        await objects.get_info(sha)
    except (ObjectNotFoundError, NotFoundError):
        await objects.put(sha, content, meta=ObjectMeta(name=sha, description=filename[:200]))
    return Attachment(id=sha, filename=filename, content_type=content_type, size=len(content))


async def fetch(js: JetStreamContext, attachment_id: str) -> bytes | None:
    """The content stored under ``attachment_id``, or None if there is none (nor a bucket yet)."""
    try:
        result = await (await js.object_store(BUCKET)).get(attachment_id)
    except (ObjectNotFoundError, NotFoundError):
        return None
    return result.data or b""
