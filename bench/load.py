"""A small HTTP load driver: worker processes with keep-alive connections, each sending one kind of
request as fast as the server answers, for a fixed time. Used where a benchmark needs requests per
second through gunicorn (a test client in one process measures server time, not throughput).
"""

from __future__ import annotations

import http.client
import multiprocessing
import statistics
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

# Builds one request: (method, path, body, headers). `n` numbers the requests of one process.
RequestMaker = Callable[[int], tuple[str, str, bytes | None, dict[str, str]]]


@dataclass(frozen=True)
class LoadResult:
    requests: int
    errors: int
    seconds: float
    latencies_ms: list[float]

    @property
    def rps(self) -> float:
        return self.requests / self.seconds

    def percentile(self, p: float) -> float:
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(len(ordered) * p))] if ordered else 0.0

    @property
    def median(self) -> float:
        return statistics.median(self.latencies_ms) if self.latencies_ms else 0.0


def _worker(
    port: int, make: RequestMaker, seconds: float, index: int, out: multiprocessing.Queue
) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    latencies: list[float] = []
    errors = 0
    n = 0
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        method, path, body, headers = make(index * 1_000_000 + n)
        n += 1
        start = time.perf_counter()
        try:
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            response.read()
            ok = response.status < 400
        except (OSError, http.client.HTTPException):
            connection.close()
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            ok = False
        latencies.append((time.perf_counter() - start) * 1000)
        errors += not ok
    out.put((len(latencies), errors, latencies))


def drive(port: int, make: RequestMaker, *, clients: int, seconds: float) -> LoadResult:
    """Run `clients` processes against 127.0.0.1:`port` for `seconds`; sum what they saw."""
    out: multiprocessing.Queue = multiprocessing.Queue()
    processes = [
        multiprocessing.Process(target=_worker, args=(port, make, seconds, i, out))
        for i in range(clients)
    ]
    start = time.perf_counter()
    for process in processes:
        process.start()
    results = [out.get() for _ in processes]
    for process in processes:
        process.join()
    elapsed = time.perf_counter() - start
    return LoadResult(
        requests=sum(r[0] for r in results),
        errors=sum(r[1] for r in results),
        seconds=elapsed,
        latencies_ms=[latency for r in results for latency in r[2]],
    )


# As a browser writes it (Chromium's boundary style).
BOUNDARY = "----WebKitFormBoundaryGoLiveBench01"


def multipart(fields: dict[str, str], empty_files: tuple[str, ...]) -> bytes:
    """`fields` as multipart/form-data, and a file input left empty for each of `empty_files`
    (a browser still sends those, with an empty file name)."""
    lines: list[str] = []
    for name, value in fields.items():
        lines += [f"--{BOUNDARY}", f'Content-Disposition: form-data; name="{name}"', "", value]
    for name in empty_files:
        lines += [
            f"--{BOUNDARY}",
            f'Content-Disposition: form-data; name="{name}"; filename=""',
            "Content-Type: application/octet-stream",
            "",
            "",
        ]
    lines += [f"--{BOUNDARY}--", ""]
    return "\r\n".join(lines).encode()


def form_post(
    path: str,
    fields: dict[str, str],
    cookies: dict[str, str],
    *,
    empty_files: tuple[str, ...] = (),
) -> RequestMaker:
    """The POST a browser sends for a form with a file input (multipart/form-data; the intake
    form has one, for the photo): `fields` with a fresh `client_key` each time (a new tablet form)
    and the `empty_files` inputs left empty, CSRF included."""
    cookie = "; ".join(f"{k}={v}" for k, v in cookies.items())

    def make(n: int) -> tuple[str, str, bytes | None, dict[str, str]]:
        body = multipart(fields | {"client_key": uuid.uuid4().hex}, empty_files)
        return (
            "POST",
            path,
            body,
            {
                "Content-Type": f"multipart/form-data; boundary={BOUNDARY}",
                "Cookie": cookie,
                "X-CSRFToken": cookies.get("csrftoken", ""),
                "Referer": f"http://127.0.0.1{path}",
            },
        )

    return make
