"""S3 emulator for the Go tests: moto's server, single-threaded, persistent.

Usage: python moto_s3.py PORT DATA_DIR

moto checks "If-None-Match: *" and stores the object in two steps without a
lock; here every conditional request (If-None-Match or If-Match) is handled
under one lock, so the conditional create the commit log relies on is
atomic, as it is on S3. Other requests are served concurrently.

moto keeps its state in memory. To survive a restart (the tests kill the
emulator mid-job and start it again on the same data), every request is
appended to DATA_DIR/requests.jsonl (moto's recorder) and, at start, the
requests already there are replayed in-process before the port opens.
"""

import base64
import json
import os
import sys

port, data_dir = int(sys.argv[1]), sys.argv[2]
os.makedirs(data_dir, exist_ok=True)
log = os.path.join(data_dir, "requests.jsonl")
os.environ["MOTO_RECORDER_FILEPATH"] = log
os.environ["MOTO_ENABLE_RECORDING"] = "1"
os.environ.setdefault("MOTO_PORT", str(port))

from werkzeug.serving import run_simple  # noqa: E402
from werkzeug.test import Client  # noqa: E402

from moto.moto_api import recorder  # noqa: E402
from moto.moto_server.werkzeug_app import (  # noqa: E402
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)

import threading  # noqa: E402

moto_app = DomainDispatcherApplication(create_backend_app)
conditional = threading.Lock()


def app(environ, start_response):
    if "HTTP_IF_NONE_MATCH" in environ or "HTTP_IF_MATCH" in environ:
        with conditional:
            # Consume the response inside the lock: moto does its work
            # while the body is produced.
            return [b"".join(moto_app(environ, start_response))]
    return moto_app(environ, start_response)


def replay():
    if not os.path.exists(log):
        return
    with open(log) as f:
        entries = [json.loads(line) for line in f if line.strip()]
    recorder.stop_recording()
    client = Client(app)
    for e in entries:
        body = e.get("body") or b""
        if e.get("body_encoded"):
            body = base64.b64decode(body)
        headers = {k: v for k, v in e["headers"].items() if k.lower() != "transfer-encoding"}
        url = e["url"].split("://", 1)[-1]
        path = "/" + url.split("/", 1)[1] if "/" in url else "/"
        client.open(path, method=e["method"], headers=headers, data=body)
    recorder.start_recording()


replay()
run_simple("127.0.0.1", port, app, threaded=True, request_handler=MotoRequestHandler)
