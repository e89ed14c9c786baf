"""A small, bounded HTTP/1.1 load generator for 127.0.0.1 (keep-alive, pre-built requests).

Two shapes, both over persistent connections with requests built (and signed) before the clock
starts, so the client spends its CPU on sockets, not on HMACs or header dictionaries:

* :func:`closed_loop`: ``concurrency`` connections (spread over ``processes`` client processes,
  because one Python process tops out near one core) send a fixed list of requests as fast as
  the server answers: throughput and latency at saturation.
* :func:`open_loop`: requests scheduled at a fixed rate for a fixed count; latency is measured
  from the *scheduled* send time, so a server that falls behind shows up as latency instead of
  silently slowing the client down (no coordinated omission).

Nothing is retried: a request whose connection fails counts as an error (status 0), so the
caller can compare the server's stored rows with the 200 answers it got.

With a :class:`Balancer` the connections are spread evenly over the server's worker processes
(see its docstring for why that matters with gunicorn and keep-alive).
"""

from __future__ import annotations

import itertools
import multiprocessing
import os
import re
import socket
import threading
import time
from array import array
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

_CONTENT_LENGTH = re.compile(rb"\r\ncontent-length:[ \t]*(\d+)", re.IGNORECASE)
_CLOSE = re.compile(rb"\r\nconnection:[ \t]*close", re.IGNORECASE)


def build_request(port: int, path: str, headers: Sequence[tuple[str, str]], body: bytes) -> bytes:
    """The raw bytes of one ``POST`` (HTTP/1.1, keep-alive)."""
    lines = [f"POST {path} HTTP/1.1", f"Host: 127.0.0.1:{port}", f"Content-Length: {len(body)}"]
    lines += [f"{name}: {value}" for name, value in headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


class Connection:
    """One keep-alive connection to 127.0.0.1:port; ``roundtrip`` sends a request and reads one answer."""

    def __init__(self, port: int, timeout: float) -> None:
        self.port = port
        self.timeout = timeout
        self.sock: socket.socket | None = None
        self.buf = b""

    def connect(self) -> None:
        sock = socket.create_connection(("127.0.0.1", self.port), timeout=self.timeout)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock, self.buf = sock, b""

    def close(self) -> None:
        if self.sock is not None:
            try:
                self.sock.close()
            finally:
                self.sock = None

    def roundtrip(self, raw: bytes) -> int:
        """The HTTP status, or 0 when the connection failed (it is then closed, never retried)."""
        try:
            if self.sock is None:
                self.connect()
            assert self.sock is not None
            self.sock.sendall(raw)
            return self._read_response()
        except (OSError, ValueError):
            self.close()
            return 0

    def _read_response(self) -> int:
        assert self.sock is not None
        buf = self.buf
        while True:
            end = buf.find(b"\r\n\r\n")
            if end >= 0:
                break
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("connection closed before the answer")
            buf += chunk
        head, rest = buf[:end], buf[end + 4 :]
        status = int(head[9:12])
        found = _CONTENT_LENGTH.search(head)
        length = int(found.group(1)) if found else 0
        while len(rest) < length:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("connection closed inside the body")
            rest += chunk
        self.buf = rest[length:]
        if _CLOSE.search(head):
            self.close()
        return status


def _proc_net_tcp_inode(server_port: int, client_port: int) -> int | None:
    """The inode of the server side of 127.0.0.1:client_port -> 127.0.0.1:server_port (Linux)."""
    local = f"0100007F:{server_port:04X}"
    remote = f"0100007F:{client_port:04X}"
    try:
        with open("/proc/net/tcp") as fh:
            for line in fh:
                fields = line.split()
                if len(fields) > 9 and fields[1] == local and fields[2] == remote:
                    inode = int(fields[9])
                    return inode or None
    except OSError:
        return None
    return None


class Balancer:
    """Spreads keep-alive connections evenly over a server's worker processes.

    gunicorn's workers accept connections from one shared socket, and whichever worker wakes first
    takes it: a burst of keep-alive connections often lands 30 to 2 on two workers, and one GIL-bound
    worker then serves nearly everything. To measure the application rather than that lottery, each
    connection is opened, used once (``probe``, a cheap 404), looked up in ``/proc`` to see which
    worker accepted it, and reopened (bounded) while that worker already holds its share.
    """

    def __init__(self, port: int, worker_pids: Sequence[int], probe: bytes, attempts: int = 40) -> None:
        self.port = port
        self.pids = list(worker_pids)
        self.probe = probe
        self.attempts = attempts

    def owner(self, conn: Connection) -> int | None:
        if conn.sock is None:
            return None
        inode = _proc_net_tcp_inode(self.port, conn.sock.getsockname()[1])
        if inode is None:
            return None
        target = f"socket:[{inode}]"
        for pid in self.pids:
            try:
                for fd in os.listdir(f"/proc/{pid}/fd"):
                    try:
                        if os.readlink(f"/proc/{pid}/fd/{fd}") == target:
                            return pid
                    except OSError:
                        continue
            except OSError:
                continue
        return None

    def open(self, count: int, timeout: float) -> tuple[list[Connection], Counter[int | None]]:
        """``count`` connections, at most ceil(count / workers) per worker when /proc allows it."""
        share = -(-count // max(1, len(self.pids)))
        held: Counter[int | None] = Counter()
        conns = []
        for _ in range(count):
            for attempt in range(self.attempts):
                conn = Connection(self.port, timeout)
                conn.connect()
                conn.roundtrip(self.probe)  # answered means accepted by a worker
                pid = self.owner(conn) if conn.sock is not None else None
                if pid is None or held[pid] < share or attempt == self.attempts - 1:
                    if conn.sock is None:
                        conn.connect()
                    held[pid] += 1
                    conns.append(conn)
                    break
                conn.close()
        return conns, held


def spread(held: Counter[int | None]) -> str:
    """``[8, 8]``: connections held by each worker (``?`` for ones /proc could not place)."""
    known = sorted((n for pid, n in held.items() if pid is not None), reverse=True)
    unknown = held.get(None, 0)
    return str(known) + (f" +{unknown}?" if unknown else "")


@dataclass
class Result:
    """What one load run measured. Latencies are in seconds."""

    sent: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    latencies: array = field(default_factory=lambda: array("d"))
    started: float = float("inf")
    finished: float = 0.0
    client_cpu_seconds: float = 0.0
    #: Open loop only: how far behind schedule the latest send started.
    max_send_lag: float = 0.0
    #: Connections per server worker, e.g. "[8, 8]" (empty when nobody looked).
    spread: str = ""

    @property
    def ok(self) -> int:
        return self.statuses.get(200, 0)

    @property
    def errors(self) -> int:
        return self.sent - self.ok

    @property
    def elapsed(self) -> float:
        return max(0.0, self.finished - self.started)

    @property
    def throughput(self) -> float:
        """Answers with status 200 per second of wall time."""
        return self.ok / self.elapsed if self.elapsed else float("nan")

    def merge(self, other: Result) -> None:
        self.sent += other.sent
        self.statuses.update(other.statuses)
        self.latencies.extend(other.latencies)
        self.started = min(self.started, other.started)
        self.finished = max(self.finished, other.finished)
        self.client_cpu_seconds += other.client_cpu_seconds
        self.max_send_lag = max(self.max_send_lag, other.max_send_lag)
        self.spread = self.spread or other.spread


def _cpu() -> float:
    t = os.times()
    return t.user + t.system


def _send_all(
    conn: Connection,
    res: Result,
    requests: Sequence[bytes],
    counter: itertools.count[int],
    schedule: Callable[[int], float] | None = None,
) -> None:
    """Send the next request (``counter`` is shared by every connection) until none is left, then close.

    Closed loop (no ``schedule``): send at once, latency from the send. Open loop: wait for request i's
    ``schedule(i)`` and measure latency from it, so a server that falls behind shows as latency.
    """
    lat, statuses = res.latencies, res.statuses
    while (i := next(counter)) < len(requests):  # next() on itertools.count is atomic under the GIL
        if schedule is None:
            t0 = time.monotonic()
        else:
            t0 = schedule(i)
            pause = t0 - time.monotonic()
            if pause > 0:
                time.sleep(pause)
            else:
                res.max_send_lag = max(res.max_send_lag, -pause)
        status = conn.roundtrip(requests[i])
        lat.append(time.monotonic() - t0)
        statuses[status] += 1
        res.sent += 1
    res.finished = time.monotonic()
    conn.close()


def _on_threads(
    conns: list[Connection],
    send: Callable[[Connection, Result], None],
    *,
    started: float,
    cpu0: float,
    spread: str = "",
) -> Result:
    """``send`` on one thread per connection; their results merged into one, timed from ``started``."""
    per_thread = [Result() for _ in conns]
    workers = [threading.Thread(target=send, args=(c, r)) for c, r in zip(conns, per_thread, strict=True)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    total = Result(started=started, spread=spread)
    for r in per_thread:
        r.started = started
        total.merge(r)
    total.client_cpu_seconds = _cpu() - cpu0
    return total


def _closed_worker(requests: Sequence[bytes], conns: list[Connection], barrier: object, out: object) -> None:
    """One client process: its connections share ``requests`` until none is left."""
    cpu0 = _cpu()
    counter = itertools.count()
    for conn in conns:
        if conn.sock is None:
            conn.connect()
    barrier.wait()  # type: ignore[attr-defined]
    started = time.monotonic()
    total = _on_threads(conns, lambda c, r: _send_all(c, r, requests, counter), started=started, cpu0=cpu0)
    out.send(total)  # type: ignore[attr-defined]
    out.close()  # type: ignore[attr-defined]


def _connections(port: int, count: int, timeout: float, balancer: Balancer | None) -> tuple[list[Connection], str]:
    if balancer is not None:
        conns, held = balancer.open(count, timeout)
        return conns, spread(held)
    conns = [Connection(port, timeout) for _ in range(count)]
    for conn in conns:
        conn.connect()
    return conns, ""


def closed_loop(
    port: int,
    requests: Sequence[bytes],
    *,
    concurrency: int,
    processes: int = 2,
    timeout: float = 30.0,
    balancer: Balancer | None = None,
) -> Result:
    """Send every request in ``requests`` over ``concurrency`` connections, as fast as answered.

    The connections are opened here (spread over the server's workers by ``balancer``) and
    inherited by the ``processes`` forked client processes.
    """
    processes = max(1, min(processes, concurrency))
    conns, where = _connections(port, concurrency, timeout, balancer)
    ctx = multiprocessing.get_context("fork")
    barrier = ctx.Barrier(processes)
    pipes, procs = [], []
    try:
        for p in range(processes):
            receiver, sender = ctx.Pipe(duplex=False)
            args = (requests[p::processes], conns[p::processes], barrier, sender)
            proc = ctx.Process(target=_closed_worker, args=args)
            proc.start()
            sender.close()
            pipes.append(receiver)
            procs.append(proc)
    finally:
        for conn in conns:  # the children hold their own copies
            conn.close()
    total = Result(spread=where)
    for receiver in pipes:
        total.merge(receiver.recv())
    for proc in procs:
        proc.join(timeout=10)
    return total


def open_loop(
    port: int,
    requests: Sequence[bytes],
    *,
    rate: float,
    threads: int = 32,
    timeout: float = 30.0,
    balancer: Balancer | None = None,
) -> Result:
    """Send request i at ``start + i / rate`` (fixed rate, fixed count); latency from the scheduled time."""
    cpu0 = _cpu()
    counter = itertools.count()
    conns, where = _connections(port, threads, timeout, balancer)
    start = time.monotonic() + 0.2

    def send(conn: Connection, res: Result) -> None:
        _send_all(conn, res, requests, counter, schedule=lambda i: start + i / rate)

    return _on_threads(conns, send, started=start, cpu0=cpu0, spread=where)
