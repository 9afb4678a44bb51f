import argparse, json, os, signal, socket, socketserver, ssl, sys, threading, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit, parse_qs

disconnects = 0
lock = threading.Lock()

class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def address_string(self):
        return "client"

    def send_body(self, status, body, content_type="application/json"):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def handle_any(self):
        global disconnects
        url = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        if url.path == "/echo":
            doc = {"method": self.command, "path": url.path, "query": query,
                   "headers": {k.lower(): v for k, v in self.headers.items()},
                   "body": body.decode("utf-8", "replace")}
            self.send_body(200, json.dumps(doc).encode())
        elif url.path == "/sleep":
            time.sleep(float(query.get("s", "1")))
            self.send_body(200, b'{"slept": true}')
        elif url.path == "/status":
            self.send_body(int(query.get("code", "200")), b'{"error": "as requested"}')
        elif url.path == "/big":
            self.send_body(200, b"x" * int(query.get("n", "1000")), "text/plain")
        elif url.path == "/stats":
            with lock:
                self.send_body(200, json.dumps({"disconnects": disconnects}).encode())
        elif url.path == "/chunks":
            interval = float(query.get("interval", "0.1"))
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            n = 0
            try:
                while True:
                    data = ("chunk %d\n" % n).encode()
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
                    self.wfile.flush()
                    n += 1
                    time.sleep(interval)
            except (BrokenPipeError, ConnectionResetError, ssl.SSLError, OSError):
                with lock:
                    disconnects += 1
                self.close_connection = True
        else:
            self.send_body(404, b'{"error": "no such route"}')

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = handle_any

    def do_HEAD(self):
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

class TCPServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256

class UnixServer(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True
    request_queue_size = 256

# The parent may have spawned us with signals blocked; make SIGTERM end the server.
signal.pthread_sigmask(signal.SIG_UNBLOCK, [signal.SIGTERM, signal.SIGINT])
signal.signal(signal.SIGTERM, lambda *_: os._exit(0))

parser = argparse.ArgumentParser()
parser.add_argument("--ready")
parser.add_argument("--unix")
parser.add_argument("--cert")
parser.add_argument("--key")
args = parser.parse_args()

if args.unix:
    server = UnixServer(args.unix, Handler)
    port = 0
else:
    server = TCPServer(("127.0.0.1", 0), Handler)
    port = server.server_address[1]
if args.cert:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(args.cert, args.key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
with open(args.ready + ".tmp", "w") as f:
    f.write(str(port))
os.rename(args.ready + ".tmp", args.ready)
server.serve_forever()
