"""A TCP proxy that delays every byte by a fixed one-way latency: Postgres "N ms away".

`python bench/proxy.py --listen 127.0.0.1:PORT --target /socket/dir/.s.PGSQL.5432 --delay-ms 1`
accepts TCP connections and forwards each to the target (a Unix socket path, or host:port),
holding every chunk for `delay` in each direction, so one query round trip costs 2 × delay
more. Chunks keep their order and are delayed, not serialised: pipelined bytes overlap, as
on a real link (bandwidth is not limited). It prints "ready" once listening and runs until
SIGTERM.
"""

import argparse
import asyncio
import collections
import signal
import sys

import uvloop


class DelayedPipe(asyncio.Protocol):
    """One direction of a connection: what it receives is written to `peer` after `delay`."""

    def __init__(self, delay: float) -> None:
        self.delay = delay
        self.peer: asyncio.Transport | None = None
        self.transport: asyncio.Transport | None = None
        self.queue: collections.deque = collections.deque()
        self.timer: asyncio.TimerHandle | None = None
        self.closing = False
        self.loop = asyncio.get_running_loop()

    def connection_made(self, transport: asyncio.Transport) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        if not self.delay and self.peer is not None and not self.queue:
            self.peer.write(data)
            return
        self.queue.append((self.loop.time() + self.delay, data))
        self.schedule()

    def schedule(self) -> None:
        """Flush the queue when its first chunk is due (once the other side is connected)."""
        if self.timer is None and self.queue and self.peer is not None:
            self.timer = self.loop.call_at(self.queue[0][0], self._flush)

    def _flush(self) -> None:
        """Write every chunk whose time has come, in arrival order; wait for the next one."""
        self.timer = None
        now = self.loop.time()
        while self.queue and self.queue[0][0] <= now:
            self.peer.write(self.queue.popleft()[1])
        self.schedule()
        if not self.queue and self.closing:
            self.peer.close()

    def connection_lost(self, exc: Exception | None) -> None:
        # Close the other side only after the bytes still in flight were delivered.
        if self.queue and self.peer is not None:
            self.closing = True
        elif self.peer is not None:
            self.peer.close()


async def serve(listen: str, target: str, delay: float) -> None:
    """Accept connections on `listen` and pipe each, delayed, to `target` until SIGTERM."""
    loop = asyncio.get_running_loop()

    async def connect_upstream(client: DelayedPipe) -> DelayedPipe:
        factory = lambda: DelayedPipe(delay)  # noqa: E731
        if target.startswith("/"):
            _, upstream = await loop.create_unix_connection(factory, target)
        else:
            host, port = target.rsplit(":", 1)
            _, upstream = await loop.create_connection(factory, host, int(port))
        upstream.peer, client.peer = client.transport, upstream.transport
        return upstream

    class Client(DelayedPipe):
        def connection_made(self, transport: asyncio.Transport) -> None:
            super().connection_made(transport)
            transport.pause_reading()  # until the upstream connection exists
            task = loop.create_task(connect_upstream(self))
            task.add_done_callback(self._connected)

        def _connected(self, task: asyncio.Task) -> None:
            if task.exception() is not None:
                self.transport.close()
            elif self.transport.is_closing():  # the client left while we connected
                self.peer.close()
            else:
                self.transport.resume_reading()
                self.schedule()

    host, port = listen.rsplit(":", 1)
    server = await loop.create_server(lambda: Client(delay), host, int(port), backlog=1024)
    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_signal_handler(signal.SIGINT, stop.set)
    print("ready", flush=True)
    await stop.wait()
    server.close()


def main() -> None:
    """Parse the command line and run the proxy."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--listen", required=True, help="host:port to accept connections on")
    parser.add_argument("--target", required=True, help="Unix socket path or host:port")
    parser.add_argument("--delay-ms", type=float, required=True, help="one-way delay")
    args = parser.parse_args()
    uvloop.run(serve(args.listen, args.target, args.delay_ms / 1000))
    sys.exit(0)


if __name__ == "__main__":
    main()
