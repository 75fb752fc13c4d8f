#!/usr/bin/python3
"""Replays recorded OpenAI-style chat-completions answers on 127.0.0.1.

Tests of fedc's LLM backend start this server, read the port from its
first line of output ("PORT <n>"), and send real HTTP requests to it. The
request's "model" names the recording: tests/data/llm/<model>.json, which
holds
  {"responses": [<step>, ...], "require_key": "...", "require_in_repair": "...",
   "by_request": {"<request text>": "<assistant content>"}}
A <step> is {"content": "..."} (wrapped in a chat.completion), optionally
with "delay_s" (sleep first: a slow model), "repeat": N (content repeated N
times: an oversize answer), or {"status": 500, "body": "..."} (an HTTP
error), or {"raw": "..."} (a body that is not a chat completion).

Which step answers is the number of repair messages in the request (user
messages starting with "Your previous answer was rejected"), so attempt k
gets step k (the last step repeats) without any state in the server. With
"require_in_repair", a repair request must quote that text from the
validator's message, or the server answers 400: the test then fails unless
the client really sent the validator's error back. With "by_request", the
answer is chosen by the last user message (for evaluations over a file).

The server checks the protocol: POST to a path ending in /chat/completions,
a JSON body with "model", a "messages" list starting with a system message
that holds the JSON Schema, and response_format {"type": "json_object"}.
It exits by itself after --lifetime seconds.
"""
import argparse
import json
import os
import re
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

REPAIR_PREFIX = "Your previous answer was rejected"
MAX_BODY = 4 << 20


def completion(model, content):
    return {
        "id": "chatcmpl-replay",
        "object": "chat.completion",
        "created": 0,
        "model": model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content},
                     "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
    }


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    data_dir = "."

    def log_message(self, fmt, *args):  # quiet: tests read stdout for the port only
        pass

    def reply(self, status, body, content_type="application/json"):
        raw = body if isinstance(body, bytes) else body.encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (a timeout test)

    def error(self, status, message):
        self.reply(status, json.dumps({"error": {"message": message, "type": "replay"}}))

    def do_GET(self):
        self.error(405, "use POST")

    def do_POST(self):
        if not self.path.rstrip("/").endswith("/chat/completions"):
            return self.error(404, "no such endpoint: %s" % self.path)
        length = int(self.headers.get("Content-Length") or 0)
        if length <= 0 or length > MAX_BODY:
            return self.error(400, "missing or oversized body")
        try:
            req = json.loads(self.rfile.read(length))
        except ValueError:
            return self.error(400, "body is not JSON")
        model = req.get("model")
        if not isinstance(model, str) or not re.fullmatch(r"[a-z0-9_-]{1,64}", model):
            return self.error(400, "bad model name")
        msgs = req.get("messages")
        if not isinstance(msgs, list) or not msgs or msgs[0].get("role") != "system" \
                or "JSON Schema" not in str(msgs[0].get("content")):
            return self.error(400, "messages must start with a system message holding the JSON Schema")
        if (req.get("response_format") or {}).get("type") != "json_object":
            return self.error(400, "response_format must be json_object")
        path = os.path.join(self.data_dir, model + ".json")
        if not os.path.isfile(path):
            return self.error(404, "model '%s' not found" % model)
        with open(path) as f:
            rec = json.load(f)
        key = rec.get("require_key")
        if key and self.headers.get("Authorization") != "Bearer " + key:
            return self.error(401, "invalid API key")
        users = [m for m in msgs if m.get("role") == "user"]
        repairs = [m for m in users if str(m.get("content", "")).startswith(REPAIR_PREFIX)]
        need = rec.get("require_in_repair")
        if need and repairs and need not in repairs[-1]["content"]:
            return self.error(400, "the repair message does not quote the validator (%s)" % need)
        if "by_request" in rec:
            content = rec["by_request"].get(users[-1]["content"])
            if content is None:
                return self.error(404, "no recording for this request")
            return self.reply(200, json.dumps(completion(model, content)))
        steps = rec["responses"]
        step = steps[min(len(repairs), len(steps) - 1)]
        if step.get("delay_s"):
            time.sleep(float(step["delay_s"]))
        if "status" in step:
            return self.reply(int(step["status"]), step.get("body", ""))
        if "raw" in step:
            return self.reply(200, step["raw"])
        content = step["content"] * int(step.get("repeat", 1))
        return self.reply(200, json.dumps(completion(model, content)))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data-dir", required=True)
    ap.add_argument("--port", type=int, default=0, help="0 = any free port")
    ap.add_argument("--lifetime", type=float, default=60.0, help="seconds before exiting")
    args = ap.parse_args()
    Handler.data_dir = args.data_dir
    srv = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    srv.daemon_threads = True
    # bounded lifetime: a test that dies cannot leave the server behind
    threading.Timer(args.lifetime, lambda: os._exit(0)).start()
    print("PORT %d" % srv.server_address[1], flush=True)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
