"""`gridlink bench` HTTP part: it starts `gridlink run`, drives it from load processes, reports figures."""

from __future__ import annotations

import pytest

from benchmarks.http_bench import run_http_bench

TINY = {"intake": (4, 16), "open311": (2, 8), "complete": (4, 16), "baseline": 16, "seconds": 20}


def test_the_http_bench_drives_the_real_server_and_reports_throughput_and_percentiles():
    http = run_http_bench(plan=TINY, log=lambda message: None)["http"]
    for part in ("case_intake", "open311_post", "task_completion"):
        for clients in ("1", "8"):
            run = http[part][clients]
            assert run["clients"] == int(clients) and run["errors"] == 0, run
            assert run["requests"] == TINY[{"case_intake": "intake", "open311_post": "open311",
                                            "task_completion": "complete"}[part]][clients == "8"]
            assert run["per_second"] > 0 and run["p50_ms"] <= run["p95_ms"] <= run["p99_ms"] <= run["max_ms"]
            assert run["cpu_reference_ms"]["before"] > 0 and run["cpu_reference_ms"]["after"] > 0
    assert set(http["met"]) == set(http["targets"])
    assert http["baseline_8_clients"]["healthz"]["errors"] == 0
    assert http["baseline_8_clients"]["api_read"]["errors"] == 0
    for request_kind in ("case_intake", "task_completion"):  # counted through SQLAlchemy's events
        counts = http["sql_per_request"][request_kind]
        assert counts["transactions"] >= 1 and counts["statements"] > counts["transactions"], counts


def test_the_load_client_reuses_a_kept_alive_connection_and_reopens_a_closed_one():
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from benchmarks.http_bench import LoadConnection

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            reply = b"got " + body + f" on {self.client_address[1]}".encode()
            self.send_response(201)
            if body == b"close":
                self.send_header("Connection", "close, upgrade")
                self.close_connection = True
            if body == b"chunked":
                self.send_header("Transfer-Encoding", "chunked")
            if body not in (b"unsized", b"chunked"):
                self.send_header("Content-Length", str(len(reply)))
            else:
                self.send_header("Connection", "close")
                self.close_connection = True
            self.end_headers()
            self.wfile.write(reply)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        port = server.server_address[1]
        conn = LoadConnection(port, timeout=5)

        def post(body: bytes):
            return conn.exchange(LoadConnection.encode(
                {"method": "POST", "path": "/x", "body": body, "headers": {"Content-Type": "text/plain"}}, port))

        first, second = post(b"one"), post(b"two")
        assert first[0] == second[0] == 201 and first[1].split()[-1] == second[1].split()[-1]  # same port
        closed = post(b"close")
        assert conn.sock is None and closed[1].startswith(b"got close")
        assert post(b"unsized")[1].startswith(b"got unsized") and conn.sock is None
        assert post(b"three")[1].split()[-1] != first[1].split()[-1]  # a new connection
        with pytest.raises(ValueError, match="chunked"):
            post(b"chunked")
        assert conn.sock is None
        conn.close()
    finally:
        server.shutdown()
        server.server_close()
