"""A local HTTPS file server for fedc's data catalog tests: serves a mirror
folder on 127.0.0.1 with its own certificate (made with the openssl tool),
answers Range requests, logs every request, and misbehaves on demand:

  cut:N        send N bytes of the file, then drop the connection (once)
  hang:N       send N bytes, then stall until the server stops (once)
  hold:N       send N bytes, wait for release(), then the rest (once)
  corrupt      flip a byte of the content (a different file)
  oversize:K   send K bytes more than the file has, with no Content-Length
  lie:K        announce (Content-Length) and send K bytes more than the file
  slow:S       pause S seconds between 64 KB chunks

Nothing here touches the network beyond the loopback interface."""
import os
import socket
import ssl
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

CHUNK = 64 * 1024


def make_cert(folder):
    """A self-signed certificate for 127.0.0.1; returns (cert, key) paths."""
    cert, key = os.path.join(folder, "server.crt"), os.path.join(folder, "server.key")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                    "-nodes", "-keyout", key, "-out", cert, "-days", "2", "-subj", "/CN=fedc test data server",
                    "-addext", "subjectAltName=IP:127.0.0.1"], check=True, capture_output=True, timeout=60)
    return cert, key


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):  # quiet
        pass

    def do_GET(self):
        srv = self.server
        path = self.path.split("?")[0]
        rng = self.headers.get("Range")
        with srv.lock:
            srv.requests.append((path, rng))
            rule = srv.rules.get(path)
            if rule and rule[0] in ("cut", "hang", "hold"):
                del srv.rules[path]  # once
        full = os.path.normpath(os.path.join(srv.root, path.lstrip("/")))
        if not full.startswith(srv.root) or not os.path.isfile(full):
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        data = open(full, "rb").read()
        if rule and rule[0] == "corrupt":
            data = bytes([data[0] ^ 0xFF]) + data[1:]
        start = 0
        if rng and rng.startswith("bytes=") and rng.endswith("-"):
            start = int(rng[6:-1])
            if start >= len(data):
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{len(data)}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        else:
            self.send_response(200)
        body = data[start:]
        if rule and rule[0] == "oversize":
            body += b"\0" * rule[1]
            self.send_header("Connection", "close")
            self.close_connection = True
        elif rule and rule[0] == "lie":
            body += b"\0" * rule[1]
            self.send_header("Content-Length", str(len(body)))
        else:
            self.send_header("Content-Length", str(len(body)))
        self.send_header("Content-Type", "application/octet-stream")
        self.end_headers()
        try:
            if rule and rule[0] in ("cut", "hang"):
                self.wfile.write(body[:rule[1]])
                self.wfile.flush()
                if rule[0] == "hang":
                    srv.stop_event.wait()
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)
                return
            if rule and rule[0] == "hold":
                self.wfile.write(body[:rule[1]])
                self.wfile.flush()
                srv.release_event.wait()
                body = body[rule[1]:]
            for i in range(0, len(body), CHUNK):
                self.wfile.write(body[i:i + CHUNK])
                if rule and rule[0] == "slow":
                    self.wfile.flush()
                    time.sleep(rule[1])
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError, OSError):
            self.close_connection = True


class DataServer:
    """with DataServer(root, tmp) as s: s.url, s.ca, s.requests, s.rules"""

    def __init__(self, root, tmp):
        self.root = os.path.realpath(root)
        self.cert, self.key = make_cert(tmp)
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.httpd.daemon_threads = True
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(self.cert, self.key)
        self.httpd.socket = ctx.wrap_socket(self.httpd.socket, server_side=True)
        self.httpd.root = self.root
        self.httpd.lock = threading.Lock()
        self.httpd.requests = []
        self.httpd.rules = {}
        self.httpd.stop_event = threading.Event()
        self.httpd.release_event = threading.Event()
        self.url = f"https://127.0.0.1:{self.httpd.server_address[1]}"
        self.ca = self.cert
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def requests(self):
        with self.httpd.lock:
            return list(self.httpd.requests)

    def clear(self):
        with self.httpd.lock:
            self.httpd.requests.clear()
            self.httpd.rules.clear()

    def rule(self, path, *rule):
        with self.httpd.lock:
            if rule[0] == "hold":
                self.httpd.release_event.clear()
            self.httpd.rules[path] = rule

    def release(self):
        """Lets a held response finish."""
        self.httpd.release_event.set()

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.stop_event.set()
        self.httpd.release_event.set()
        self.httpd.shutdown()
        self.httpd.server_close()
        return False
