"""A local HTTPS server speaking the Anthropic Messages and OpenAI Chat Completions wire
formats, for HemoStat's LLM contract tests.

  python3 fake_llm.py --ready FILE [--cert CERT --key KEY]

Writes the port to FILE once listening. Answers POST /v1/messages and POST
/v1/chat/completions from a script set with POST /_script (a JSON list; each item
{"status", "headers", "body", "delay"} with "body" a string or JSON value); when the script
is empty it answers 500. GET /_requests lists every request received
({"path", "headers", "body"}); POST /_reset clears both.
"""
import argparse, json, os, signal, ssl, threading, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

lock = threading.Lock()
script = []
requests = []


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def reply(self, status, body, headers=None):
        data = body if isinstance(body, bytes) else body.encode()
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        if not any(k.lower() == "content-type" for k in (headers or {})):
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        try:
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError, OSError):
            self.close_connection = True

    def read_body(self):
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def do_GET(self):
        if self.path == "/_requests":
            with lock:
                self.reply(200, json.dumps(requests))
        else:
            self.reply(404, '{"error": "no such route"}')

    def do_POST(self):
        global script, requests
        body = self.read_body()
        if self.path == "/_script":
            with lock:
                script = json.loads(body)
            self.reply(200, "{}")
            return
        if self.path == "/_reset":
            with lock:
                script, requests = [], []
            self.reply(200, "{}")
            return
        if self.path not in ("/v1/messages", "/v1/chat/completions"):
            self.reply(404, '{"error": "no such route"}')
            return
        with lock:
            requests.append({
                "path": self.path,
                "headers": {k.lower(): v for k, v in self.headers.items()},
                "body": body.decode("utf-8", "replace"),
            })
            step = script.pop(0) if script else {"status": 500, "body": {"error": "script empty"}}
        time.sleep(float(step.get("delay", 0)))
        payload = step.get("body", "")
        if not isinstance(payload, str):
            payload = json.dumps(payload)
        self.reply(int(step.get("status", 200)), payload, step.get("headers"))


class Server(ThreadingHTTPServer):
    daemon_threads = True


# The parent may have left SIGTERM ignored or blocked; stopping must work whatever it inherited.
signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM})

parser = argparse.ArgumentParser()
parser.add_argument("--ready", required=True)
parser.add_argument("--cert")
parser.add_argument("--key")
args = parser.parse_args()
server = Server(("127.0.0.1", 0), Handler)
if args.cert:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(args.cert, args.key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
with open(args.ready + ".tmp", "w") as f:
    f.write(str(server.server_address[1]))
os.rename(args.ready + ".tmp", args.ready)
server.serve_forever()
