"""FastAPI tuned by hand: uvicorn workers on uvloop and httptools, each on a listening socket of its
own (SO_REUSEPORT), with TCP_NODELAY on every connection.

`uvicorn --workers N` shares one listening socket among its workers: asyncio accepts a burst of new
connections on whichever worker wakes first, so a few keep-alive clients can all land on one
worker. And its supervisor binds that socket with `proto` 0, so asyncio never sets TCP_NODELAY on
accepted connections and every keep-alive response waits for the client's delayed ACK, about 44 ms
(uvicorn issue #3149). This launcher binds one socket per worker the way single-process uvicorn
does (IPPROTO_TCP), with SO_REUSEPORT so the kernel spreads connections across the workers.

    python uvicorn_workers.py APP --host H --port P --workers N

Each worker is a forked `uvicorn.Server`; the benchmark stops the whole process group.
"""

import argparse
import os
import socket
import sys

import uvicorn


def listener(host: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.listen(2048)
    return sock


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("app")
    parser.add_argument("--app-dir", default=".")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()

    sys.path.insert(0, args.app_dir)
    children = []
    for _ in range(args.workers):
        pid = os.fork()
        if pid == 0:
            config = uvicorn.Config(
                args.app, access_log=False, log_level="warning", loop="uvloop", http="httptools"
            )
            uvicorn.Server(config).run(sockets=[listener(args.host, args.port)])
            os._exit(0)
        children.append(pid)
    for _ in children:
        os.wait()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
