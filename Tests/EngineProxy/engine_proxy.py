"""A proxy in front of a Docker engine's unix socket that can hold one request.

  python3 engine_proxy.py --listen SOCK --upstream SOCK --match REGEX
                          --mode hold-request|hold-response --held FILE

Every request is forwarded to the engine as it is (with `Connection: close`, so each
connection carries one request), except the first whose request line matches REGEX
(e.g. `POST /v1.41/containers/[^/]+/restart`):

  hold-request   it is never forwarded: the engine never sees it;
  hold-response  it is forwarded and the engine's answer is read, but never passed back.

When that request is held, FILE is written (with the request line), so a test knows the
moment to kill the client. The held connection stays open until the client goes away.
The proxy runs until it is terminated.
"""

import argparse
import asyncio
import os
import re
import sys


class Proxy:
    def __init__(self, upstream, pattern, mode, held_file):
        self.upstream = upstream
        self.pattern = re.compile(pattern)
        self.mode = mode
        self.held_file = held_file
        self.armed = True

    async def handle(self, reader, writer):
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
            writer.close()
            return
        lines = head.decode("latin-1").split("\r\n")
        request_line = lines[0]
        headers = [line for line in lines[1:] if line and not line.lower().startswith("connection:")]
        length = 0
        for line in headers:
            name, _, value = line.partition(":")
            if name.strip().lower() == "content-length":
                length = int(value.strip())
        body = await reader.readexactly(length) if length else b""
        request = ("\r\n".join([request_line] + headers + ["Connection: close", "", ""])).encode("latin-1") + body

        held = self.armed and self.pattern.search(request_line) is not None
        if held:
            self.armed = False
            if self.mode == "hold-request":
                self.mark_held(request_line)
                await self.wait_for_client(reader)
                writer.close()
                return

        up_reader, up_writer = await asyncio.open_unix_connection(self.upstream)
        up_writer.write(request)
        await up_writer.drain()
        if held:
            # hold-response: let the engine carry it out, keep its answer.
            await up_reader.read()
            up_writer.close()
            self.mark_held(request_line)
            await self.wait_for_client(reader)
            writer.close()
            return
        try:
            while True:
                chunk = await up_reader.read(65536)
                if not chunk:
                    break
                writer.write(chunk)
                await writer.drain()
        except ConnectionError:
            pass
        finally:
            up_writer.close()
            writer.close()

    def mark_held(self, request_line):
        tmp = self.held_file + ".tmp"
        with open(tmp, "w") as f:
            f.write(request_line + "\n")
        os.rename(tmp, self.held_file)

    @staticmethod
    async def wait_for_client(reader):
        try:
            while await reader.read(65536):
                pass
        except ConnectionError:
            pass


async def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--listen", required=True)
    parser.add_argument("--upstream", required=True)
    parser.add_argument("--match", required=True)
    parser.add_argument("--mode", choices=["hold-request", "hold-response"], required=True)
    parser.add_argument("--held", required=True)
    args = parser.parse_args()
    proxy = Proxy(args.upstream, args.match, args.mode, args.held)
    if os.path.exists(args.listen):
        os.unlink(args.listen)
    server = await asyncio.start_unix_server(proxy.handle, path=args.listen)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        sys.exit(0)
