"""A stand-in service package, `helpdesk_fake`, for testing the process machinery itself."""

import os
import textwrap
from pathlib import Path

FAKE_MAIN = textwrap.dedent("""
    import json, os, signal, sys, time
    from http.server import BaseHTTPRequestHandler, HTTPServer

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            body = json.dumps({k: v for k, v in os.environ.items() if k.startswith("HELPDESK_")})
            self.send_response(200)
            self.end_headers()
            self.wfile.write(body.encode())

        def log_message(self, *args):
            pass

    command = sys.argv[1]
    if command == "crash":
        print("boom: cannot start", flush=True)
        sys.exit(3)
    signal.signal(signal.SIGTERM, lambda *_: (print("stopping", flush=True), sys.exit(0)))
    if command == "crash-later":
        time.sleep(float(os.environ.get("FAKE_CRASH_AFTER", "1")))
        print("crashing now", flush=True)
        sys.exit(4)
    if command == "idle":
        while True:
            time.sleep(1)
    print("fake service starting", flush=True)
    HTTPServer(("127.0.0.1", int(os.environ["HELPDESK_FAKE_PORT"])), Handler).serve_forever()
""")


def write_fake_package(root: Path) -> str:
    """Create `root/helpdesk_fake`; returns a PYTHONPATH that finds it (and all else as before)."""
    package = root / "helpdesk_fake"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "__main__.py").write_text(FAKE_MAIN)
    return os.pathsep.join(filter(None, [str(root), os.environ.get("PYTHONPATH")]))
