"""`gridlink bench`, HTTP part: the production server under load, measured from outside.

What it does, as a user would:

1. ``gridlink init`` on a fresh SQLite database in a temporary instance folder, then an
   integration user (admin) with an API token;
2. ``gridlink run`` (gunicorn, single-threaded workers, 2 per CPU; timer scheduler) on a
   free loopback port, and wait for ``/healthz``;
3. load processes (one per client, ``multiprocessing`` spawn), each with one connection of a
   minimal HTTP/1.1 client (``LoadConnection``: requests encoded before the run; the server's
   single-threaded workers close the connection after each response and the client reconnects),
   drive: case intake (``POST /api/v1/cases``), the Open311 POST
   (``POST /open311/v2/requests.json``), and task completions (``POST /api/v1/tasks/<id>/complete``
   of the registration tasks the intake created), each with 1 and 8 concurrent clients, bounded by
   a request count and a time limit. Reports go round-robin over the 156 grids and the
   categories, as real reports do (duplicate detection looks at the same grid and category).

Reported per run: requests, errors, seconds, requests per second, p50/p95/p99/max latency (ms),
and a CPU reference taken before and after it (``cpu_reference_ms``).
A baseline (``GET /healthz`` and an authenticated API read, 8 clients) shows what the HTTP stack
itself sustains, apart from the write transactions.
Everything stays on 127.0.0.1.
"""

from __future__ import annotations

import http.client
import json
import multiprocessing
import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from web.server import default_workers, worker_options

TARGETS = {"case_intake_per_s_8_clients": 200, "case_intake_p95_ms_8_clients": 50,
           "task_completion_per_s_8_clients": 200}
FULL = {"intake": (300, 2400), "open311": (100, 800), "complete": (300, 2000), "baseline": 2000, "seconds": 40}
QUICK = {"intake": (60, 400), "open311": (30, 160), "complete": (60, 400), "baseline": 400, "seconds": 15}
WARMUP = 40  # spread over the workers by the kernel's accept: every worker loads specs and caches


# --- the server -----------------------------------------------------------------------------

def _gridlink() -> list[str]:
    script = Path(sys.executable).with_name("gridlink")
    return [str(script)] if script.exists() else [sys.executable, "-c", "from web.cli import main; main()"]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _run(args: list[str], env: dict) -> str:
    done = subprocess.run(_gridlink() + args, env=env, capture_output=True, text=True, timeout=300)
    if done.returncode != 0:
        raise RuntimeError(f"gridlink {' '.join(args)} failed: {done.stderr.strip()[-2000:]}")
    return done.stdout


class Server:
    """``gridlink run`` on a fresh database; a context manager that stops it."""

    def __init__(self, workers: int | None = None, log: Callable[[str], None] = print,
                 database_url: str | None = None):
        self.folder = Path(tempfile.mkdtemp(prefix="gridlink-http-bench-"))
        self.port = _free_port()
        self.workers = workers
        self.log = log
        self.database_url = database_url or f"sqlite:///{self.folder / 'gridlink.db'}"
        self.env = {**os.environ, "GRIDLINK_INSTANCE_DIR": str(self.folder),
                    "GRIDLINK_DATABASE_URL": self.database_url,
                    "GRIDLINK_UPLOAD_DIR": str(self.folder / "uploads"), "GRIDLINK_SECRET_KEY": "bench"}
        self.process: subprocess.Popen | None = None
        self.tokens: dict[str, str] = {}

    def prepare(self) -> None:
        if self.database_url.startswith("sqlite"):
            self.log("http bench: gridlink init (fresh SQLite database)")
        else:
            self.log("http bench: emptying the database at --database-url, then gridlink init")
            _empty_postgres(self.database_url)
        _run(["init"], self.env)
        from workflows.people.accounts import create_user
        from workflows.people.tokens import create_token
        from workflows.system import build_system

        system = build_system(self.env["GRIDLINK_DATABASE_URL"], self.env["GRIDLINK_UPLOAD_DIR"])
        try:
            create_user(system, "bench-admin", "admin", password="bench-password")
            self.tokens["bench-admin"] = create_token(system, "bench-admin", "bench")
        finally:
            system.db.dispose()

    def start(self) -> None:
        args = ["run", "--host", "127.0.0.1", "--port", str(self.port)]
        if self.workers:
            args += ["--workers", str(self.workers)]
        self.log(f"http bench: gridlink {' '.join(args)}")
        self.server_log = open(self.folder / "server.log", "wb")  # noqa: SIM115 (closed in stop)
        self.process = subprocess.Popen(_gridlink() + args, env=self.env, stdout=self.server_log,
                                        stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gridlink run exited: {(self.folder / 'server.log').read_text()[-2000:]}")
            try:
                status, _ = request("GET", self.port, "/healthz")
                if status == 200:
                    return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("gridlink run did not answer /healthz within 60 s")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if getattr(self, "server_log", None):
            self.server_log.close()
        shutil.rmtree(self.folder, ignore_errors=True)

    def __enter__(self) -> Server:
        try:
            self.prepare()
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def request(method: str, port: int, path: str, body: bytes | None = None, headers: dict | None = None,
            connection: http.client.HTTPConnection | None = None) -> tuple[int, bytes]:
    conn = connection or http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        if connection is None:
            conn.close()


# --- the load -------------------------------------------------------------------------------

@dataclass
class World:
    """Where generated reports go: round-robin over the grids and the categories, as in real life."""

    grids: list[dict]
    categories: list[str]

    def grid(self, index: int) -> dict:
        return self.grids[index % len(self.grids)]

    def category(self, index: int) -> str:
        return self.categories[(index // len(self.grids)) % len(self.categories)]


def case_body(world: World, index: int) -> bytes:
    return json.dumps({"title": f"压测工单 {index}", "description": "压测：问题描述",
                       "category": world.category(index), "source": "hotline", "grid": world.grid(index)["code"],
                       "reporter": {"name": "测试", "phone": "13800000000"}}, ensure_ascii=False).encode()


def open311_body(world: World, api_key: str, index: int) -> bytes:
    grid = world.grid(index)
    return urllib.parse.urlencode({"api_key": api_key, "service_code": world.category(index), "lat": grid["lat"],
                                   "long": grid["lon"], "description": f"压测 {index}", "first_name": "三",
                                   "last_name": "张", "phone": "13800000001"}).encode()


class LoadConnection:
    """The load processes' HTTP/1.1 client: requests encoded once, before the run, and responses read
    with a minimal parser (status line, ``Content-Length``, ``Connection``). The load shares the
    bench machine's CPUs with the server: on the 2-CPU bench machine ``http.client`` spent 0.5 ms of
    CPU per case intake, this 0.27 ms (most of it the kernel's connect and close), which leaves the
    server that much more of the CPUs it is measured on.
    A connection is reused while the server keeps it open (workers of several threads) and reopened
    after the server closes it (single-threaded workers close it after every response)."""

    def __init__(self, port: int, timeout: float = 60):
        self.address = ("127.0.0.1", port)
        self.timeout = timeout
        self.sock: socket.socket | None = None

    @staticmethod
    def encode(item: dict, port: int) -> bytes:
        body = item["body"] or b""
        lines = [f"{item['method']} {item['path']} HTTP/1.1", f"Host: 127.0.0.1:{port}",
                 *(f"{name}: {value}" for name, value in item["headers"].items())]
        if body or item["method"] in ("POST", "PUT", "PATCH"):
            lines.append(f"Content-Length: {len(body)}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body

    def exchange(self, raw: bytes) -> tuple[int, bytes]:
        """Send one encoded request; the response's status and body."""
        if self.sock is None:
            self.sock = socket.create_connection(self.address, timeout=self.timeout)
            self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            self.sock.sendall(raw)
            return self._response()
        except BaseException:
            self.close()
            raise

    def _response(self) -> tuple[int, bytes]:
        data = b""
        while b"\r\n\r\n" not in data:
            data += self._recv()
        head, _, body = data.partition(b"\r\n\r\n")
        status_line, *header_lines = head.decode("latin-1").split("\r\n")
        status = int(status_line.split(" ", 2)[1])
        headers = {name.strip().lower(): value.strip()
                   for name, _, value in (line.partition(":") for line in header_lines)}
        closing = status_line.startswith("HTTP/1.0") or "close" in {
            token.strip().lower() for token in headers.get("connection", "").split(",")}
        if status < 200 or status in (204, 304):
            body = b""
        elif "chunked" in headers.get("transfer-encoding", "").lower():
            raise ValueError("the load client reads Content-Length bodies only, not chunked ones")
        elif "content-length" in headers:
            length = int(headers["content-length"])
            while len(body) < length:
                body += self._recv()
        elif closing:  # no length: the body runs to the end of the connection
            while chunk := self.sock.recv(65536):
                body += chunk
        else:
            raise ValueError("a response without Content-Length on a connection kept open")
        if closing:
            self.close()
        return status, body

    def _recv(self) -> bytes:
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionError("the server closed the connection mid-response")
        return chunk

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
            self.sock = None


def _client(job: dict) -> dict:
    """One load process: its requests, encoded beforehand, from the shared start time."""
    conn = LoadConnection(job["port"])
    raws = [LoadConnection.encode(item, job["port"]) for item in job["requests"]]
    conn.exchange(LoadConnection.encode({"method": "GET", "path": "/healthz", "body": None, "headers": {}},
                                        job["port"]))
    while time.time() < job["start_at"]:
        time.sleep(0.001)
    latencies, errors, sample = [], 0, None
    began = time.perf_counter()
    stop_at = began + job["seconds"]
    for raw in raws:
        if time.perf_counter() >= stop_at:
            break
        t0 = time.perf_counter()
        try:
            status, body = conn.exchange(raw)
        except (OSError, ValueError, IndexError) as exc:
            status, body = 0, str(exc).encode()
        latencies.append(time.perf_counter() - t0)
        if status != job["expect"]:
            errors += 1
            sample = sample or f"{status} {body[:300].decode('utf-8', 'replace')}"
    ended = time.perf_counter()
    conn.close()
    return {"latencies": latencies, "errors": errors, "sample": sample, "seconds": ended - began}


def _percentile(values: list[float], share: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(share * len(ordered) + 0.5) - 1))
    return round(ordered[index] * 1000, 2)


def _reference_work(_: int) -> float:
    """A fixed piece of plain Python work (JSON round trips of a list page); its wall time in ms."""
    page = {"items": [{"id": i, "number": f"GL20261204{i:04d}", "title": f"楼道堆物{i}", "level": "grid",
                       "tags": ["a", "b"], "weight": i * 1.5} for i in range(200)]}
    began = time.perf_counter()
    for _ in range(40):
        json.loads(json.dumps(page, ensure_ascii=False))
    return (time.perf_counter() - began) * 1000


def cpu_reference_ms(pool) -> float:
    """The reference work run at once on as many load processes as there are CPUs, while the server
    is idle: the slowest, in ms. It shows how fast the machine's CPUs ran next to a phase (a host
    that shares its cores with other guests slows them without reporting it as stolen time)."""
    return round(max(pool.map(_reference_work, range(os.cpu_count() or 1), chunksize=1)), 1)


def drive(pool, port: int, requests: list[dict], clients: int, expect: int, seconds: float) -> dict:
    """Split ``requests`` over ``clients`` load processes of ``pool``; the combined figures, with the
    CPU reference (see ``cpu_reference_ms``) taken just before and just after the load."""
    before = cpu_reference_ms(pool)
    slices = [requests[i::clients] for i in range(clients)]
    start_at = time.time() + 0.5
    jobs = [{"port": port, "requests": part, "expect": expect, "seconds": seconds, "start_at": start_at}
            for part in slices]
    results = pool.map(_client, jobs, chunksize=1)
    after = cpu_reference_ms(pool)
    latencies = [t for r in results for t in r["latencies"]]
    errors = sum(r["errors"] for r in results)
    wall = max(r["seconds"] for r in results)
    done = len(latencies) - errors
    return {"clients": clients, "requests": len(latencies), "errors": errors, "seconds": round(wall, 3),
            "per_second": round(done / wall, 1) if wall else None, "p50_ms": _percentile(latencies, 0.50),
            "p95_ms": _percentile(latencies, 0.95), "p99_ms": _percentile(latencies, 0.99),
            "max_ms": round(max(latencies) * 1000, 2) if latencies else None,
            "cpu_reference_ms": {"before": before, "after": after},
            **({"error_sample": next(r["sample"] for r in results if r["sample"])} if errors else {})}


def _empty_postgres(url: str) -> None:
    from sqlalchemy import text

    from engine import make_engine

    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    finally:
        engine.dispose()


def sql_per_request(server: Server, world: World, token: str, index: int) -> dict:
    """SQL statements and transactions of one case intake and one task completion, counted through
    SQLAlchemy's events on an app of the same code and database as the server (served in-process)."""
    from benchmarks.engine_bench import StatementCounter
    from web.app import create_app
    from web.system import system_of

    app = create_app({"DATABASE_URL": server.database_url, "UPLOAD_DIR": str(server.folder / "uploads"),
                      "SECRET_KEY": "bench", "RATE_LIMITS": False})
    system, client = system_of(app), app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    try:
        client.post("/api/v1/cases", data=case_body(world, index), headers=headers, content_type="application/json")
        with StatementCounter(system.db) as intake:
            reply = client.post("/api/v1/cases", data=case_body(world, index + 1), headers=headers,
                                content_type="application/json")
        if reply.status_code != 201:
            raise RuntimeError(f"bench: counted intake answered {reply.status_code}: {reply.get_data(as_text=True)}")
        task_id = _open_task_ids(server.port, token)[-1]
        with StatementCounter(system.db) as completion:
            reply = client.post(f"/api/v1/tasks/{task_id}/complete", data=json.dumps({"decision": "accept"}),
                                headers=headers, content_type="application/json")
        if reply.status_code != 200:
            raise RuntimeError(f"bench: counted completion answered {reply.status_code}")
        return {"case_intake": intake.figures(), "task_completion": completion.figures()}
    finally:
        system.db.dispose()


def _json_post(path: str, body: bytes, token: str) -> dict:
    return {"method": "POST", "path": path, "body": body,
            "headers": {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}}


def _world(port: int, token: str) -> World:
    headers = {"Authorization": f"Bearer {token}"}
    grids = json.loads(request("GET", port, "/api/v1/org-units?level=grid&per_page=200", headers=headers)[1])
    categories = json.loads(request("GET", port, "/api/v1/categories?per_page=200", headers=headers)[1])
    return World(grids=grids["items"], categories=[c["code"] for c in categories["items"] if c["parent"]])


def _open_task_ids(port: int, token: str) -> list[str]:
    ids, page = [], 1
    while True:
        status, body = request("GET", port, f"/api/v1/tasks?per_page=200&page={page}",
                               headers={"Authorization": f"Bearer {token}"})
        items = json.loads(body)["items"]
        ids += [t["id"] for t in items if t.get("task_kind") == "register"]
        if len(items) < 200:
            return ids
        page += 1


def run_http_bench(quick: bool = False, workers: int | None = None,
                   log: Callable[[str], None] = lambda m: print(m, file=sys.stderr), plan: dict | None = None,
                   database_url: str | None = None) -> dict:
    """The HTTP figures, under key ``http``. ``plan`` overrides the request counts (see FULL).
    ``database_url``: serve a PostgreSQL database instead of a fresh SQLite file (it is emptied)."""
    plan = plan or (QUICK if quick else FULL)
    seconds = plan["seconds"]
    context = multiprocessing.get_context("spawn")
    with Server(workers=workers, log=log, database_url=database_url) as server, context.Pool(8) as pool:
        admin = server.tokens["bench-admin"]
        port = server.port
        world = _world(port, admin)
        counter = iter(range(10**9))
        for _ in range(WARMUP):  # load specs and caches in the workers before measuring
            warm = _json_post("/api/v1/cases", case_body(world, next(counter)), admin)
            request("POST", port, warm["path"], warm["body"], warm["headers"])
        pool.map(_reference_work, range(8), chunksize=1)  # every load process started and warm
        figures: dict = {"baseline_8_clients": {}}
        reads = {"healthz": ("/healthz", {}),
                 "api_read": ("/api/v1/categories?per_page=5", {"Authorization": f"Bearer {admin}"})}
        for name, (path, headers) in reads.items():  # what the HTTP stack does without a write
            log(f"http bench: baseline GET {path}, 8 clients")
            load = [{"method": "GET", "path": path, "body": None, "headers": headers}] * plan.get("baseline", 100)
            figures["baseline_8_clients"][name] = drive(pool, port, load, 8, 200, seconds)
        for clients, count in zip((1, 8), plan["intake"], strict=True):
            log(f"http bench: case intake, {clients} client(s), {count} requests")
            load = [_json_post("/api/v1/cases", case_body(world, next(counter)), admin) for _ in range(count)]
            figures.setdefault("case_intake", {})[str(clients)] = drive(pool, port, load, clients, 201, seconds)
        for clients, count in zip((1, 8), plan["open311"], strict=True):
            log(f"http bench: Open311 POST, {clients} client(s), {count} requests")
            load = [{"method": "POST", "path": "/open311/v2/requests.json",
                     "body": open311_body(world, admin, next(counter)),
                     "headers": {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}}
                    for _ in range(count)]
            figures.setdefault("open311_post", {})[str(clients)] = drive(pool, port, load, clients, 201, seconds)
        tasks = _open_task_ids(port, admin)
        log(f"http bench: {len(tasks)} registration tasks to complete")
        body = json.dumps({"decision": "accept"}).encode()
        for clients, count in zip((1, 8), plan["complete"], strict=True):
            batch, tasks = tasks[:count], tasks[count:]
            log(f"http bench: task completion, {clients} client(s), {len(batch)} requests")
            load = [_json_post(f"/api/v1/tasks/{task_id}/complete", body, admin) for task_id in batch]
            figures.setdefault("task_completion", {})[str(clients)] = drive(pool, port, load, clients, 200, seconds)
        figures["sql_per_request"] = sql_per_request(server, world, admin, next(counter))
    eight = figures["case_intake"]["8"]
    met = {
        "case_intake_per_s_8_clients": (eight["per_second"] or 0) >= TARGETS["case_intake_per_s_8_clients"],
        "case_intake_p95_ms_8_clients": (eight["p95_ms"] or 1e9) <= TARGETS["case_intake_p95_ms_8_clients"],
        "task_completion_per_s_8_clients": (figures["task_completion"]["8"]["per_second"] or 0)
        >= TARGETS["task_completion_per_s_8_clients"],
    }
    return {"http": {
        "server": {"command": "gridlink run" + (f" --workers {workers}" if workers else ""),
                   "workers": workers or default_workers(), "threads_per_worker": 1,
                   **{f"gunicorn_{k}": v for k, v in worker_options(1).items()},
                   "database": "postgresql (emptied)" if database_url else "sqlite (WAL, fresh)",
                   "cpus": os.cpu_count(), "python": platform.python_version(),
                   "load": "one spawned process per client, minimal HTTP/1.1 client (LoadConnection), loopback"},
        **figures,
        "targets": TARGETS,
        "met": met,
    }}
