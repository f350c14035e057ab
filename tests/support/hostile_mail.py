"""A deterministic corpus of malformed and hostile messages for the email channel's fuzz tests.

Broken MIME boundaries, huge and countless headers, wrong and unknown charsets, header
injection, NUL bytes, deep nesting, random garbage, and random mutations of good mail.
Lines longer than SMTP's 1,000 octets are among them: the listener accepts them up to the
size limit, so the corpus reaches the listener's parser rather than being refused by the protocol.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable

from tests.support.mail import message

SENDERS = ("user@acme.test", "User@ACME.TEST", "boss@acme.test", "x@nowhere.test", "stranger@gmail.com")
Case = Callable[[random.Random, str], bytes]


def _id(rng: random.Random) -> str:
    return f"<{uuid.UUID(int=rng.getrandbits(128)).hex}@fuzz>"


def _head(rng: random.Random, sender: str, subject: str = "Fuzz") -> str:
    return f"From: {sender}\r\nSubject: {subject}\r\nMessage-ID: {_id(rng)}\r\n"


def broken_boundary(rng: random.Random, sender: str) -> bytes:
    declared, used = rng.choice([("XYZ", "ABC"), ("XYZ", "XYZ"), ("", "--"), ('"', "q"), ("a" * 80, "a" * 80)])
    closing = rng.choice(["", f"--{used}--\r\n", f"--{used}-\r\n"])
    return (_head(rng, sender) + f"Content-Type: multipart/mixed; boundary=\"{declared}\"\r\n\r\n"
            f"--{used}\r\nContent-Type: text/plain\r\n\r\nfirst\r\n--{used}\r\n"
            f"Content-Type: application/octet-stream; name=x.bin\r\nContent-Transfer-Encoding: base64\r\n\r\n"
            f"{rng.choice(['AAAA', '!!!!', 'QUJD=', ''])}\r\n{closing}").encode()


def huge_headers(rng: random.Random, sender: str) -> bytes:
    kind = rng.choice(["folded_subject", "many", "encoded_words", "long_line"])
    if kind == "folded_subject":
        subject = "\r\n ".join("слово " * 10 for _ in range(rng.randint(100, 3000)))
        return (_head(rng, sender, "=?utf-8?q?x?=") + f"X-Long: {subject}\r\nSubject: {subject}\r\n\r\nbody").encode()
    if kind == "many":
        return (_head(rng, sender) + "".join(f"X-Junk-{n}: {n}\r\n" for n in range(rng.randint(1000, 20000)))
                + "\r\nbody").encode()
    if kind == "encoded_words":
        words = "\r\n ".join("=?utf-8?q?a?=" for _ in range(rng.randint(1000, 20000)))
        return (_head(rng, sender, words) + "\r\nbody").encode()
    return (_head(rng, sender, "x" * rng.randint(1000, 100_000)) + "\r\nbody").encode()


def bad_charsets(rng: random.Random, sender: str) -> bytes:
    charset = rng.choice(["x-no-such", "utf-8", "koi8-r", "utf-7", "unicode_escape", "rot13", "base64",
                          '"', "utf-16", "us-ascii", "windows-1251\x00"])
    body = rng.choice(["Привет".encode("cp1251"), b"\xff\xfe\x00\xd8", b"\\N{LATIN", "ok".encode("utf-16")])
    subject = rng.choice([f"=?{charset}?B?0J/RgNC40LLQtdGC?=", "=?utf-8?B?####?=", "=?utf-8?Q?=FF=FE?=",
                          "=?koi8-r?B?" + "A" * 5 + "?=", "Привет".encode("koi8-r").decode("latin-1")])
    return (_head(rng, sender, subject) + f"Content-Type: text/plain; charset=\"{charset}\"\r\n"
            f"Content-Transfer-Encoding: {rng.choice(['8bit', 'base64', 'quoted-printable', 'x-uuencode', 'y'])}"
            "\r\n\r\n").encode("latin-1") + body


def injection(rng: random.Random, sender: str) -> bytes:
    subject = rng.choice(["=?utf-8?Q?hi=0D=0ABcc:_victim@x.test?=", "=?utf-8?B?aGkNCkJjYzogdkB4LnRlc3Q=?=",
                          "ok\x00\r\n Bcc: v@x.test", "=?utf-8?Q?=00=01=1B[31m?="])
    filename = rng.choice(["../../etc/passwd", "=?utf-8?Q?a=0D=0AX-Evil:_1.txt?=", "evil\u202egnp.exe", "\x00"])
    sender_header = rng.choice([sender, f"=?utf-8?Q?Name=0D=0ABcc:_v@x?= <{sender}>", f"{sender}\x00"])
    return (f"From: {sender_header}\r\nSubject: {subject}\r\nMessage-ID: {_id(rng)}\r\n"
            "Content-Type: multipart/mixed; boundary=B\r\n\r\n--B\r\nContent-Type: text/plain\r\n\r\nhi\x00there\r\n"
            f"--B\r\nContent-Type: text/plain\r\nContent-Disposition: attachment; filename=\"{filename}\"\r\n\r\n"
            "data\r\n--B--\r\n").encode("utf-8", "surrogateescape")


def nested(rng: random.Random, sender: str) -> bytes:
    depth = rng.choice([3, 29, 31, 120, 1500])
    opening = "".join(f"Content-Type: multipart/{rng.choice(['mixed', 'alternative', 'related'])}; "
                      f"boundary=b{n}\r\n\r\n--b{n}\r\n" for n in range(depth))
    closing = "".join(f"\r\n--b{n}--" for n in reversed(range(depth)))
    return (_head(rng, sender) + opening + "Content-Type: text/plain\r\n\r\ndeep" + closing + "\r\n").encode()


def garbage(rng: random.Random, sender: str) -> bytes:
    size = rng.choice([0, 1, 50, 5000])
    data = bytes(rng.getrandbits(8) for _ in range(size))
    return rng.choice([data, b"From: " + data, b"\r\n\r\n" + data, f"From: {sender}\r\n".encode() + data])


def odd_structure(rng: random.Random, sender: str) -> bytes:
    variant = rng.choice(["attached_garbage", "references", "no_body", "html_bomb", "tags"])
    if variant == "attached_garbage":
        return (_head(rng, sender) + "Content-Type: multipart/mixed; boundary=B\r\n\r\n--B\r\n"
                "Content-Type: message/rfc822\r\n\r\n\x00\xff garbage\r\n--B--\r\n").encode("latin-1")
    if variant == "references":
        ids = "\r\n ".join(f"<ticket-{uuid.UUID(int=rng.getrandbits(128))}@helpdesk>" for _ in range(rng.randint(1, 3000)))
        return (_head(rng, sender, "Re: x") + f"References: {ids}\r\n\r\nreply").encode()
    if variant == "no_body":
        return _head(rng, sender).encode()
    if variant == "html_bomb":
        return message(sender, "html", "", html="</" * rng.randint(1000, 50_000))
    return message(sender, f"Re: [#HD-{rng.randint(0, 10**6)}] [#HD-{'9' * 30}]", "tagged")


def mutated(rng: random.Random, sender: str) -> bytes:
    good = bytearray(message(sender, rng.choice(["Принтер", "Re: x", None]), "Текст письма " * 20,
                             charset=rng.choice(["utf-8", "koi8-r", "windows-1251"]),
                             cte=rng.choice(["base64", "quoted-printable", None]),
                             html=rng.choice([None, "<p>html</p>"]),
                             attachments=(("файл.bin", "application/octet-stream", bytes(range(256))),)))
    for _ in range(rng.randint(1, 8)):
        at = rng.randrange(len(good))
        match rng.choice(["flip", "delete", "insert", "duplicate"]):
            case "flip":
                good[at] = rng.getrandbits(8)
            case "delete":
                del good[at:at + rng.randint(1, 200)]
            case "insert":
                good[at:at] = bytes(rng.getrandbits(8) for _ in range(rng.randint(1, 50)))
            case "duplicate":
                good[at:at] = good[at:at + rng.randint(1, 500)]
    return bytes(good)


CASES: tuple[Case, ...] = (broken_boundary, huge_headers, bad_charsets, injection, nested, garbage,
                           odd_structure, mutated, mutated)


def corpus(count: int, seed: int = 6) -> list[bytes]:
    """``count`` hostile messages, the same ones for the same seed."""
    rng = random.Random(seed)
    return [rng.choice(CASES)(rng, rng.choice(SENDERS)) for _ in range(count)]
