"""A 405's ``Allow`` header is the same in every process: litestar lists the methods of a handler
that answers several in the order of a set, which follows the hash seed, so the problem handler
lists them by name. A header that changes between two starts of the same code makes caches and
recorded answers churn for nothing."""

from __future__ import annotations

import os
import subprocess
import sys

_ANSWER = """
from litestar import Litestar, Request, route
from litestar.testing import TestClient
from helpdesk_shared.web.problems import EXCEPTION_HANDLERS

@route("/things", http_method=["GET", "POST", "PUT", "DELETE"], sync_to_thread=False)
def things(request: Request) -> None:
    return None

with TestClient(Litestar([things], exception_handlers=EXCEPTION_HANDLERS)) as client:
    answer = client.patch("/things")
    print(answer.status_code, answer.json()["code"], answer.headers["allow"])
"""


def _answer(seed: int) -> str:
    env = {**os.environ, "PYTHONHASHSEED": str(seed)}
    return subprocess.run([sys.executable, "-c", _ANSWER], env=env, check=True, capture_output=True,
                          text=True, timeout=60).stdout.strip()


def test_a_405_lists_the_allowed_methods_by_name_whatever_the_hash_seed() -> None:
    answers = {_answer(seed) for seed in range(6)}
    assert answers == {"405 method_not_allowed DELETE, GET, OPTIONS, POST, PUT"}
