"""A TCP proxy for fault tests: put it in front of PostgreSQL (or anything else), then `pause()`
it to stall every connection (open, no bytes either way, new connections accepted but silent)
and `resume()` to let the held bytes through. `drop()` closes every connection at once.

It runs its own event loop on a thread, so a test (sync or async) or a subprocess can use it.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading


class StallingProxy:
    """127.0.0.1:`port` forwarded to `target_host`:`target_port`."""

    def __init__(self, target_host: str, target_port: int):
        self.target = (target_host, target_port)
        self.host = "127.0.0.1"
        self.port = 0
        self._loop = asyncio.new_event_loop()
        self._flowing: asyncio.Event | None = None
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)

    # --- control (from any thread)

    def start(self) -> StallingProxy:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(timeout=10)
        return self

    def pause(self) -> None:
        """Stall: no byte goes through until `resume()`."""
        self._call(lambda: self._events().clear())

    def resume(self) -> None:
        self._call(lambda: self._events().set())

    def drop(self) -> None:
        """Close every open connection (both sides see the peer go away)."""

        def close_all() -> None:
            for writer in list(self._writers):
                writer.transport.abort()

        self._call(close_all)

    def stop(self) -> None:
        async def shutdown() -> None:
            assert self._server is not None
            self._server.close()
            for writer in list(self._writers):
                writer.transport.abort()

        asyncio.run_coroutine_threadsafe(shutdown(), self._loop).result(timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)

    def url_for(self, database_url: str) -> str:
        """`database_url` with its host and port replaced by the proxy's."""
        import sqlalchemy as sa

        url = sa.engine.make_url(database_url).set(host=self.host, port=self.port)
        return url.render_as_string(hide_password=False)

    # --- inside the proxy's loop

    def _call(self, function) -> None:
        done = threading.Event()

        def run() -> None:
            function()
            done.set()

        self._loop.call_soon_threadsafe(run)
        done.wait(timeout=10)

    def _events(self) -> asyncio.Event:
        assert self._flowing is not None
        return self._flowing

    async def _start(self) -> None:
        self._flowing = asyncio.Event()
        self._flowing.set()
        self._server = await asyncio.start_server(self._accept, self.host, 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _accept(self, client_reader, client_writer) -> None:
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(*self.target)
        except OSError:
            client_writer.transport.abort()
            return
        self._writers.update((client_writer, upstream_writer))
        try:
            await asyncio.gather(
                self._pump(client_reader, upstream_writer),
                self._pump(upstream_reader, client_writer),
            )
        finally:
            for writer in (client_writer, upstream_writer):
                self._writers.discard(writer)
                writer.transport.abort()

    async def _pump(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        flowing = self._events()
        with contextlib.suppress(OSError, asyncio.IncompleteReadError):
            while True:
                await flowing.wait()
                data = await reader.read(65536)
                if not data:
                    break
                await flowing.wait()  # bytes read just before a pause are held too
                writer.write(data)
                await writer.drain()
        writer.transport.abort()
