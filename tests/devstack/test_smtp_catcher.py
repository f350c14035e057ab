import smtplib
import subprocess
import sys
from email.message import EmailMessage

from helpdesk_devstack import SmtpCatcher, free_port
from helpdesk_devstack.ports import port_open

from tests.support.waiting import wait_until


def _send(port: int, subject: str, to: str = "agent@example.org", bcc: str = "") -> None:
    message = EmailMessage()
    message["From"] = "customer@example.org"
    message["To"] = to
    message["Subject"] = subject
    message.set_content("Ничего не работает.")
    with smtplib.SMTP("127.0.0.1", port) as client:
        client.send_message(message, to_addrs=[to, *([bcc] if bcc else [])])


def test_writes_each_message_as_an_eml_file(smtp_catcher):
    _send(smtp_catcher.port, "first")
    _send(smtp_catcher.port, "второе", bcc="audit@example.org")
    first, second = smtp_catcher.wait(2)
    assert [p.suffix for p in smtp_catcher.paths()] == [".eml", ".eml"]
    assert first["Subject"] == "first"
    assert second["Subject"] == "второе"
    assert second.get_content().strip() == "Ничего не работает."
    assert second["X-RcptTo"] == "agent@example.org, audit@example.org"


def test_file_names_sort_in_arrival_order(tmp_path):
    with SmtpCatcher(tmp_path, free_port()) as catcher:
        for n in range(5):
            _send(catcher.port, f"message {n}")
        subjects = [m["Subject"] for m in catcher.wait(5)]
    assert subjects == [f"message {n}" for n in range(5)]


def test_runs_as_a_module(tmp_path):
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "helpdesk_devstack.smtp_catcher",
            "--port",
            str(port),
            "--dir",
            str(tmp_path),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_until(lambda: port_open("127.0.0.1", port))
        _send(port, "via module")
        wait_until(lambda: list(tmp_path.glob("*.eml")))
    finally:
        process.terminate()
        assert process.wait(10) == 0
