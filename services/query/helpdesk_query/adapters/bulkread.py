"""A bulk reader of the ``HELPDESK`` stream for the rebuild: the NATS wire protocol parsed in chunks.

nats-py turns every delivered message into a ``Msg`` with parsed headers and metadata and
hands it through a queue to a coroutine: most of a replay's CPU time went there (its
header parser alone took half). This reader has its own connection to the same server,
subscribes the consumer's deliver subject and cuts each socket chunk into
messages itself, reading only what the projection needs (subject, payload, stream
sequence, the position header). A delivery (a ``$JS.ACK`` reply) is read by one regular
expression match, its position header by one search, and buffered as a plain tuple (a
frozen ``StoredMessage`` costs more to make than the rest of its parsing; ``batches`` makes
them, ``rows`` hands the tuples to the rebuild's fold); anything else is taken apart by hand.
The consumer is made and removed through the nats-py connection. Flow control as in
``Reader``: requests are answered while the buffer is small.
"""

from __future__ import annotations

import asyncio
import json
import re
import ssl
from collections import deque
from collections.abc import AsyncIterator
from typing import Any

from nats.aio.client import Client as NATS
from nats.js.api import ConsumerConfig

from helpdesk_shared import subjects
from helpdesk_shared.stream import POSITION_HEADER

from helpdesk_query.adapters.eventstore import Reader, StoredMessage

_POSITION = b"\r\n" + POSITION_HEADER.encode() + b":"
# HMSG <subject> <sid> $JS.ACK.<stream>.<consumer>.<delivered>.<stream seq>.<consumer seq>.<time>.<pending>
#      <header bytes> <total bytes>
_DELIVERY = re.compile(rb"HMSG ([^ \r\n]+) [^ \r\n]+ \$JS\.ACK\.[^. \r\n]+\.[^. \r\n]+\.\d+\.(\d+)\.(\d+)\.\d+\.\d+"
                       rb" (\d+) (\d+)\r\n")
_POSITION_VALUE = re.compile(re.escape(_POSITION) + rb"(.*?)\r\n", re.DOTALL)  # _position's value, found in place
_STALLED = b"\r\nNats-Consumer-Stalled:"


class UnsupportedConnection(Exception):
    """The server wants an authentication this reader does not speak (nkeys, JWT): use ``Reader``."""


class WireProtocol(asyncio.Protocol):
    """Cuts the server's bytes into messages of one subscription; answers PING and flow control."""

    def __init__(self, reader: BulkReader) -> None:
        self.reader = reader
        self.transport: Any = None
        self.rest = b""
        self.info: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self.pong: asyncio.Future[None] | None = None
        self.lost: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: Any) -> None:
        self.transport = transport

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.lost.done():
            self.lost.set_result(None)
        self.reader.failed(f"connection lost: {exc}")

    def data_received(self, data: bytes) -> None:
        buf = self.rest + data if self.rest else data
        pos, size, reader = 0, len(buf), self.reader
        delivery, position, delivered, taken = _DELIVERY.match, _POSITION_VALUE.search, reader.delivered, []
        while True:
            if (m := delivery(buf, pos)) is not None:  # the common case: a message of the stream
                subject, seq, consumer_seq, header, total = m.groups()
                end = (start := m.end()) + int(total)
                if end + 2 > size:
                    break
                if (n := int(consumer_seq)) != delivered + 1:
                    reader.gap(delivered, n)
                delivered, body = n, start + int(header)
                value = None if (v := position(buf, start, body)) is None else v[1].strip()
                taken.append((int(seq), subject.decode(), buf[body:end], int(value) if value and value.isdigit()
                              else None))
                pos = end + 2
                continue
            if (eol := buf.find(b"\r\n", pos)) < 0:
                break
            found = None
            if buf.startswith(b"HMSG ", pos):
                parts = buf[pos + 5:eol].split(b" ")
                end = eol + 2 + int(parts[-1])
                if end + 2 > size:
                    break
                start = eol + 2 + int(parts[-2])
                found = (parts[0], parts[2] if len(parts) == 5 else b"", buf[eol + 2:start], buf[start:end])
                pos = end + 2
            elif buf.startswith(b"MSG ", pos):
                parts = buf[pos + 4:eol].split(b" ")
                end = eol + 2 + int(parts[-1])
                if end + 2 > size:
                    break
                found = (parts[0], parts[2] if len(parts) == 4 else b"", b"", buf[eol + 2:end])
                pos = end + 2
            else:
                self._control(buf[pos:eol])
                pos = eol + 2
            if found is not None:  # in order: what the common case took first
                if taken:
                    reader.taken(taken, delivered)
                    taken = []
                reader.received([found])
                delivered = reader.delivered
        self.rest = buf[pos:]
        if taken:
            reader.taken(taken, delivered)

    def _control(self, line: bytes) -> None:
        if line == b"PING":
            self.transport.write(b"PONG\r\n")
        elif line == b"PONG" and self.pong is not None and not self.pong.done():
            self.pong.set_result(None)
        elif line.startswith(b"INFO ") and not self.info.done():
            self.info.set_result(json.loads(line[5:]))
        elif line.startswith(b"-ERR"):
            self.reader.failed(line.decode(errors="replace"))
            if self.pong is not None and not self.pong.done():
                self.pong.set_exception(ConnectionError(line.decode(errors="replace")))

    async def ping(self) -> None:
        """Round trip: everything written before has been processed by the server."""
        self.pong = asyncio.get_running_loop().create_future()
        self.transport.write(b"PING\r\n")
        await asyncio.wait_for(self.pong, 5)

    def publish(self, subject: bytes) -> None:
        self.transport.write(b"PUB " + subject + b" 0\r\n\r\n")


class BulkReader(Reader):
    """``Reader`` over its own wire connection: the same batches, flow control and refresh."""

    def __init__(self, nc: NATS) -> None:
        super().__init__(nc, nc.jetstream())
        self._wire: WireProtocol | None = None

    async def open(self, config: ConsumerConfig) -> None:
        self._wire = await _connect(self._nc, self)
        inbox = self._nc.new_inbox()
        self._wire.transport.write(f"SUB {inbox} 1\r\n".encode())
        await self._wire.ping()  # subscribed before the consumer starts pushing
        config.deliver_subject = inbox
        info = await self._js.add_consumer(subjects.STREAM, config=config)
        self.name, self.pending = info.name, info.num_pending

    @property
    def delivered(self) -> int:
        return self._delivered

    def gap(self, delivered: int, then: int) -> None:
        self._error = self._error or f"gap in delivery: {delivered} then {then}"  # the first: where it broke

    def taken(self, rows: list[tuple[int, str, bytes, int | None]], delivered: int) -> None:
        """Messages of the stream cut from one chunk (``WireProtocol``'s common case), up to ``delivered``."""
        self._delivered = delivered
        self._buffer.extend(rows)
        self._arrived.set()

    async def batches(self, limit: int | None = None, batch: int = 2000
                      ) -> AsyncIterator[list[StoredMessage]]:
        async for taken in self._take(limit, batch):
            yield [StoredMessage(*row) for row in taken]

    async def rows(self, batch: int = 2000) -> AsyncIterator[list[tuple[int, str, bytes, int | None]]]:
        async for taken in self._take(None, batch):
            yield taken

    def received(self, found: list[tuple[bytes, bytes, bytes, bytes]]) -> None:
        """Messages cut from one chunk by hand (a reply of another shape, control messages): facts
        into the buffer, control messages answered."""
        taken = []
        for subject, reply, header, data in found:
            if not data and header.startswith(b"NATS/1.0 100"):
                self._control(reply, header)
                continue
            tokens = reply.split(b".")
            at = 5 if len(tokens) == 9 else 7  # $JS.ACK[.domain.account].stream.consumer.delivered.sseq.cseq...
            delivered = int(tokens[at + 1])
            if delivered != self._delivered + 1:
                self._error = self._error or f"gap in delivery: {self._delivered} then {delivered}"
            self._delivered = delivered
            taken.append((int(tokens[at]), subject.decode(), data, _position(header)))
        if taken:
            self._buffer.extend(taken)
            self._arrived.set()

    def _control(self, reply: bytes, header: bytes) -> None:
        assert self._wire is not None
        if reply:  # a flow-control request: answer when there is room
            if len(self._buffer) < self.HIGH_WATER:
                self._wire.publish(reply)
            else:
                self._flow_reply = reply.decode()
        elif (i := header.find(_STALLED)) >= 0:  # a heartbeat saying the consumer waits for an answer
            self._wire.publish(header[i + len(_STALLED):header.find(b"\r\n", i + 2)].strip())

    def failed(self, why: str) -> None:
        if self.pending > 0:
            self._error = self._error or why
            self._arrived.set()

    async def close(self) -> None:
        if self._wire is not None and self._wire.transport is not None:
            self._wire.transport.close()
        await super().close()


def _position(header: bytes) -> int | None:
    i = header.find(_POSITION)
    if i < 0:
        return None
    value = header[i + len(_POSITION):header.find(b"\r\n", i + 2)].strip()
    return int(value) if value.isdigit() else None


async def _connect(nc: NATS, reader: BulkReader) -> WireProtocol:
    """A second connection to the server ``nc`` is connected to, with the same credentials."""
    if any(getattr(nc, f"_{o}", None) for o in ("nkeys_seed", "nkeys_seed_str", "user_credentials",
                                                  "signature_cb", "user_jwt_cb")):
        raise UnsupportedConnection("nkeys or JWT credentials")
    url = nc.connected_url
    if url is None:
        raise ConnectionError("the NATS connection is not connected")
    loop = asyncio.get_running_loop()
    transport, wire = await loop.create_connection(lambda: WireProtocol(reader), url.hostname, url.port or 4222)
    info = await asyncio.wait_for(wire.info, 5)
    if url.scheme == "tls" or info.get("tls_required"):
        context = nc.options.get("tls") or ssl.create_default_context()
        transport = await loop.start_tls(transport, wire, context, server_hostname=url.hostname)
        wire.transport = transport
    connect: dict[str, Any] = {"verbose": False, "pedantic": False, "headers": True, "no_responders": True,
                               "protocol": 1, "lang": "python3", "version": "bulk", "name": "helpdesk-query-rebuild"}
    user, password = url.username or nc.options.get("user"), url.password or nc.options.get("password")
    if user and password:
        connect.update(user=user, **{"pass": password})
    elif token := (user or nc.options.get("token")):
        connect["auth_token"] = token
    transport.write(b"CONNECT " + json.dumps(connect).encode() + b"\r\n")
    await wire.ping()
    return wire
