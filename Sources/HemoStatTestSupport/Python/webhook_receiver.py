import http.server, json, sys, threading, time

ready, log, fail_first, fail_status, retry_after, delay = sys.argv[1:7]
fail_first, fail_status, retry_after, delay = int(fail_first), int(fail_status), int(retry_after), float(delay)
lock = threading.Lock()
count = [0]

class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *args): pass
    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode("utf-8", "replace")
        with lock:
            count[0] += 1
            n = count[0]
            with open(log, "a") as f:
                f.write(json.dumps({"path": self.path, "headers": dict(self.headers), "body": body}) + "\n")
        if delay: time.sleep(delay)
        if n <= fail_first:
            payload = b"rate_limited" if fail_status == 429 else b"error"
            self.send_response(fail_status)
            if fail_status == 429: self.send_header("Retry-After", str(retry_after))
        else:
            payload = b"ok"
            self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
with open(ready + ".tmp", "w") as f: f.write(str(server.server_address[1]))
import os; os.rename(ready + ".tmp", ready)
server.serve_forever()
