"""A fast local OAuth token endpoint for the refresh benchmark (``python -m bench.token_endpoint PORT``).

Plain asyncio HTTP/1.1 with keep-alive: every POST answers a refresh_token grant with a fresh
access token and a rotated refresh token; ``GET /count`` says how many token requests it served.
It does no client or token checking: it stands for a provider that is never the bottleneck.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import sys

_counter = {"served": 0}


async def _handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            method, path = lines[0].split(" ")[:2]
            length = 0
            for line in lines[1:]:
                if line.lower().startswith("content-length:"):
                    length = int(line.split(":", 1)[1])
            if length:
                await reader.readexactly(length)
            if method == "GET" and path == "/count":
                body = json.dumps(_counter).encode()
            else:
                _counter["served"] += 1
                body = json.dumps(
                    {
                        "access_token": secrets.token_urlsafe(24),
                        "refresh_token": secrets.token_urlsafe(24),
                        "expires_in": 3600,
                        "token_type": "Bearer",
                    }
                ).encode()
            writer.write(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
                + str(len(body)).encode()
                + b"\r\n\r\n"
                + body
            )
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError, ValueError):
        pass
    finally:
        writer.close()


async def main(port: int) -> None:
    server = await asyncio.start_server(_handle, "127.0.0.1", port, backlog=1024)
    print("ready", flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1])))
