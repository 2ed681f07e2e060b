"""`uvicorn --workers N` for the baseline, without uvicorn's Nagle bug.

uvicorn's multi-worker supervisor binds its listening socket with `proto` 0; accepted connections
inherit it and asyncio then never sets TCP_NODELAY on them, so every keep-alive response waits for
the client's delayed ACK: about 44 ms per request on Linux (uvicorn issue #3149, open at the time
of writing). This launcher binds the socket the way single-process uvicorn does (IPPROTO_TCP), so
the baseline measures FastAPI rather than that bug.

    python uvicorn_workers.py APP --host H --port P --workers N

Each worker is a forked `uvicorn.Server` on the shared socket; the benchmark stops the whole
process group.
"""

import argparse
import os
import socket
import sys

import uvicorn


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("app")
    parser.add_argument("--app-dir", default=".")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()

    sys.path.insert(0, args.app_dir)
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((args.host, args.port))
    listener.listen(2048)
    children = []
    for _ in range(args.workers):
        pid = os.fork()
        if pid == 0:
            config = uvicorn.Config(args.app, access_log=False, log_level="warning")
            uvicorn.Server(config).run(sockets=[listener])
            os._exit(0)
        children.append(pid)
    listener.close()
    for _ in children:
        os.wait()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
