"""Engine steps in a warm, pre-forked worker process with operating-system limits.

Everything a deployed diagram evaluates (scripts, conditions, timer expressions, DMN cells) runs
during an engine step. The sandbox (engine/sandbox.py) refuses what it can see, but a single C-level
operation escapes its loop checks: hashing a deeply nested tuple overflows the C stack (SIGSEGV),
``a == b`` on two huge shared lists runs for minutes, ``str()`` of a shared structure grows memory
without bound. So the WHOLE step runs in a child process:

* the parent (a web worker or the sweeper) keeps the database transaction, the projection and
  the audit; it sends the step (the version's spec once per worker, the instance state unless the
  worker still holds it by its state token, the action) and gets back the new state, the step's
  events and the ready human tasks. Nothing is stored before the reply is complete;
* the child runs with ``RLIMIT_AS`` (its size at fork plus ``memory_mb``), ``RLIMIT_CPU`` (its CPU
  time so far plus the budget, reset before every step), ``RLIMIT_FSIZE`` 0 (no file grows),
  ``RLIMIT_NOFILE`` 16 and ``RLIMIT_NPROC`` 0 (no new process); every inherited descriptor but its
  socket is closed, so it holds no database connection and no listening socket;
* the parent waits at most ``timeout`` seconds of wall clock for the reply, then kills the child.
  A child that dies (signal), runs out of time or of memory becomes a ``StepFailed`` naming the
  element it was evaluating (the child writes it into a small shared page before each evaluation);
  a fresh child is forked for the next step.

One pool per process; by default one child, as a gunicorn worker serves one request at a time
(more threads: a child per thread). The protocol is JSON (orjson; the standard module for what orjson
refuses, such as integers past 64 bits) plus one binary blob (the state): the parent never unpickles
what a child sends.
"""

from __future__ import annotations

import errno
import gc
import json
import mmap
import os
import resource
import select
import signal
import socket
import struct
import sys
import threading
import time
import traceback
import weakref
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

import orjson

from .errors import EngineError

HEADER = struct.Struct("!II")
NOTE_SIZE = 256
MEMORY_EXIT = 71  # a child that could not even report running out of memory exits with this
MAX_REPLY_JSON = 256 * 1024 * 1024


class StepFailed(EngineError):
    """The worker running a step crashed, ran out of time or of memory: nothing of the step is kept."""

    def __init__(self, kind: str, element: str | None, message: str):
        where = f" at element {element!r}" if element else ""
        super().__init__(f"the engine step failed{where}: {message}")
        self.kind = kind  # crash, timeout, memory
        self.element = element
        self.detail = message


class StepRefused(EngineError):
    """What the child raised for a step it could not run (task no longer open, nothing waiting...)."""


@dataclass(frozen=True)
class Limits:
    timeout: float = 10.0  # wall-clock seconds for one whole step
    memory_mb: int = 512  # address space a child may grow by over its size at fork
    size: int = 1  # children in the pool

    @classmethod
    def from_env(cls) -> Limits:
        """``GRIDLINK_STEP_TIMEOUT`` (seconds), ``GRIDLINK_STEP_MEMORY_MB``, ``GRIDLINK_STEP_WORKERS``."""
        return cls(timeout=_positive(float, "GRIDLINK_STEP_TIMEOUT", cls.timeout),
                   memory_mb=_positive(int, "GRIDLINK_STEP_MEMORY_MB", cls.memory_mb),
                   size=_positive(int, "GRIDLINK_STEP_WORKERS", cls.size))


def _positive(kind, name: str, default):
    text = os.environ.get(name)
    if not text:
        return default
    try:
        value = kind(text)
    except ValueError:
        raise ValueError(f"{name}={text!r} is not a number: give a positive {kind.__name__}") from None
    if value <= 0:
        raise ValueError(f"{name}={text!r} must be positive")
    return value


# ----- framing: JSON header + one binary blob ---------------------------------------------------
def _send(sock: socket.socket, message: dict, blob: bytes = b"") -> None:
    try:
        body = orjson.dumps(message, option=orjson.OPT_NON_STR_KEYS)
    except orjson.JSONEncodeError:  # what orjson refuses (an integer past 64 bits): the standard
        body = b"J" + json.dumps(message, separators=(",", ":")).encode()  # encoder, and its decoder
    head = HEADER.pack(len(body), len(blob))
    if len(blob) < 65536:  # one small write: one wake-up of the reader
        sock.sendall(b"".join((head, body, blob)))
        return
    sock.sendall(head + body)
    sock.sendall(blob)  # a large state is not copied into a joined buffer


def _read_exact(sock: socket.socket, size: int, deadline: float | None) -> bytes | None:
    chunks, left = [], size
    while left:
        if deadline is not None:
            wait = deadline - time.monotonic()
            if wait <= 0 or not select.select([sock], [], [], wait)[0]:
                raise TimeoutError
        chunk = sock.recv(min(left, 1 << 20))
        if not chunk:
            return None
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def _recv(sock: socket.socket, deadline: float | None = None) -> tuple[dict, bytes] | None:
    head = _read_exact(sock, HEADER.size, deadline)
    if head is None:
        return None
    size, blob_size = HEADER.unpack(head)
    if size > MAX_REPLY_JSON:
        return None
    body = _read_exact(sock, size, deadline)
    blob = _read_exact(sock, blob_size, deadline) if blob_size else b""
    if body is None or blob is None:
        return None
    return (json.loads(body[1:]) if body[:1] == b"J" else orjson.loads(body)), blob


_CHILD_CPU_NS = [0]


def children_cpu_ns() -> int:
    """CPU time (ns) the step children of this process spent on the steps they answered: what a
    measurement of a step's cost adds to ``time.process_time_ns()`` (which counts this process only)."""
    return _CHILD_CPU_NS[0]


# ----- the parent's side --------------------------------------------------------------------------
class _Child:
    """One forked worker: its pid, socket, shared note page, and what the parent knows it holds."""

    def __init__(self, serve: Callable[[socket.socket, mmap.mmap], None], limits: Limits):
        self.note = mmap.mmap(-1, NOTE_SIZE)
        parent, child = socket.socketpair()
        pid = os.fork()
        if pid == 0:  # pragma: no cover - runs in the child
            code = 0
            try:
                parent.close()
                gc.freeze()  # what it inherited stays out of the collector's passes (and shared with the parent)
                _confine(child.fileno(), limits)
                serve(child, self.note)
            except BaseException:  # noqa: BLE001 - the child must never return into the parent's code
                code = 70
                traceback.print_exc()
            finally:
                os._exit(code)
        child.close()
        self.pid = pid
        self.sock = parent
        self.versions: set[int] = set()
        self.tokens: OrderedDict[str, None] = OrderedDict()

    def element(self) -> str | None:
        raw = self.note[:NOTE_SIZE].split(b"\0", 1)[0]
        return raw.decode("utf-8", "replace") or None

    def kill(self) -> int | None:
        """Kill and reap; the wait status (None if it could not be reaped)."""
        self.sock.close()
        try:
            os.kill(self.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        try:
            return os.waitpid(self.pid, 0)[1]
        except ChildProcessError:
            return None

    def close(self) -> None:
        """Ask it to stop (end of its socket) and reap it without blocking for long."""
        self.sock.close()
        for _ in range(50):
            try:
                done, status = os.waitpid(self.pid, os.WNOHANG)
            except ChildProcessError:
                return
            if done:
                return
            time.sleep(0.01)
        self.kill()


class WorkerPool:
    """Pre-forked children that run engine steps; ``run`` blocks for a free one."""

    def __init__(self, serve: Callable[[socket.socket, mmap.mmap], None], limits: Limits | None = None,
                 cache_size: int = 2000):
        self.limits = limits or Limits()
        self._serve = serve
        self._cache_size = cache_size
        self._idle: list[_Child] = []
        self._count = 0
        self._owner = os.getpid()
        self._cond = threading.Condition()
        self._finalizer = weakref.finalize(self, _close_all, self._idle)

    def run(self, message: dict, blob: bytes, version_id: int, spec_json: Callable[[], str],
            token: str | None, state: Callable[[], bytes]) -> tuple[dict, bytes]:
        """Send one step; the child's reply. Raises StepFailed if the child did not come back."""
        child = self._take(token)
        try:
            reply = self._exchange(child, message, blob, version_id, spec_json, token, state)
        except BaseException:
            self._drop(child)
            raise
        self._give_back(child, token, reply[0].get("token"))
        return reply

    def _exchange(self, child: _Child, message, blob, version_id, spec_json, token, state):
        message = dict(message, version_id=version_id, cache_size=self._cache_size,
                      timeout=self.limits.timeout, frozen=_frozen_now())
        if version_id not in child.versions:
            message["spec_json"] = spec_json()
        if token is None or token not in child.tokens:
            if message.get("op") != "start":
                message["has_state"] = True
                blob = state()
        else:
            message["token"] = token  # the child holds this state: it runs on its own copy
        child.note[:NOTE_SIZE] = b"\0" * NOTE_SIZE
        deadline = time.monotonic() + self.limits.timeout
        try:
            _send(child.sock, message, blob)
            reply = _recv(child.sock, deadline)
        except TimeoutError:
            element = child.element()
            child.kill()
            raise StepFailed("timeout", element, f"it ran longer than its budget of {self.limits.timeout:g} s "
                                                 "and was stopped") from None
        except OSError as exc:
            reply = None
            if exc.errno not in (errno.EPIPE, errno.ECONNRESET):
                raise
        if reply is None:
            element = child.element()
            raise StepFailed(*_death(child.kill(), element))
        child.versions.add(version_id)
        _CHILD_CPU_NS[0] += int(reply[0].get("cpu_ns") or 0)
        if reply[0].get("need_state"):
            child.tokens.pop(token, None)
            return self._exchange(child, message, b"", version_id, spec_json, token, state)
        if reply[0].get("failed"):
            element = reply[0].get("element") or child.element()
            raise StepFailed(reply[0]["failed"], element, reply[0].get("message", "the worker gave up"))
        return reply

    def _take(self, token: str | None) -> _Child:
        if os.getpid() != self._owner:  # a forked copy of the pool (forked server process): start afresh
            self._idle.clear()
            self._count = 0
            self._owner = os.getpid()
        with self._cond:
            while not self._idle and self._count >= self.limits.size:
                self._cond.wait()
            if self._idle:
                found = next((c for c in self._idle if token in c.tokens), self._idle[-1])
                self._idle.remove(found)
                return found
            self._count += 1
        try:
            return _Child(self._serve, self.limits)
        except BaseException:
            with self._cond:
                self._count -= 1
                self._cond.notify()
            raise

    def _give_back(self, child: _Child, used: str | None, new: str | None) -> None:
        if used is not None:
            child.tokens.pop(used, None)
        if new and self._cache_size:
            child.tokens[new] = None
            while len(child.tokens) > self._cache_size:
                child.tokens.popitem(last=False)
        with self._cond:
            self._idle.append(child)
            self._cond.notify()

    def _drop(self, child: _Child) -> None:
        if child.sock.fileno() != -1:
            child.kill()
        with self._cond:
            self._count -= 1
            self._cond.notify()

    def close(self) -> None:
        self._finalizer()


def _close_all(idle: list[_Child]) -> None:
    while idle:
        idle.pop().close()


def _death(status: int | None, element: str | None) -> tuple[str, str | None, str]:
    """(kind, element, message) for a child that closed its socket without a reply."""
    if status is not None and os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        name = signal.Signals(sig).name if sig in signal.Signals._value2member_map_ else str(sig)
        if sig == signal.SIGXCPU:
            return "timeout", element, "it used more CPU time than its budget and was stopped (SIGXCPU)"
        return "crash", element, f"it crashed the worker process running it ({name})"
    code = os.WEXITSTATUS(status) if status is not None and os.WIFEXITED(status) else None
    if code == MEMORY_EXIT:
        return "memory", element, "it needed more memory than its limit"
    return "crash", element, f"the worker process running it ended without an answer (exit code {code})"


def _frozen_now() -> str | None:
    """The parent's clock when a test froze it (freezegun), so the child computes the same timers."""
    api = sys.modules.get("freezegun.api")
    if api is None or not getattr(api, "freeze_factories", None):
        return None
    from datetime import UTC, datetime

    return datetime.now(UTC).isoformat()


def _follow_clock(frozen: str | None) -> None:  # pragma: no cover - runs in the child
    """Tests only: freeze (or move, or release) the child's clock as the parent's is."""
    global _FREEZER
    if frozen is None:
        if _FREEZER is not None:
            _FREEZER.stop()
            _FREEZER = None
        return
    import freezegun

    api = sys.modules["freezegun.api"]
    if api.freeze_factories and _FREEZER is None:  # forked while frozen: move the inherited clock
        api.freeze_factories[-1].move_to(frozen)
        return
    if _FREEZER is None:
        _FREEZER = freezegun.freeze_time(frozen)
        _FREEZER.start()
    else:
        api.freeze_factories[-1].move_to(frozen)


_FREEZER = None


# ----- the child's side -----------------------------------------------------------------------------
def _confine(keep_fd: int, limits: Limits) -> None:  # pragma: no cover - runs in the child
    """Close inherited descriptors and set the operating-system limits of a fresh child."""
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR1, signal.SIGUSR2,
                signal.SIGCHLD, signal.SIGWINCH, signal.SIGTTIN, signal.SIGTTOU, signal.SIGALRM):
        signal.signal(sig, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a ^C in the terminal is for the server, not for us
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write gets EFBIG instead of a kill
    null = os.open(os.devnull, os.O_RDWR)
    os.dup2(null, 0)
    os.close(null)
    os.closerange(3, keep_fd)
    os.closerange(keep_fd + 1, 1 << 16)
    size = _address_space()
    resource.setrlimit(resource.RLIMIT_AS, (size + limits.memory_mb * 1024 * 1024,) * 2)
    resource.setrlimit(resource.RLIMIT_FSIZE, (0, 0))
    resource.setrlimit(resource.RLIMIT_NOFILE, (16, 16))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    try:
        resource.setrlimit(resource.RLIMIT_NPROC, (0, 0))
    except (ValueError, OSError):
        pass


def _address_space() -> int:
    with open("/proc/self/statm", "rb") as statm:
        pages = int(statm.read().split()[0])
    return pages * resource.getpagesize()


def cpu_budget(seconds: float) -> None:  # pragma: no cover - runs in the child
    """Allow this process ``seconds`` more CPU time from now (SIGXCPU after that)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    used = int(usage.ru_utime + usage.ru_stime)
    hard = resource.getrlimit(resource.RLIMIT_CPU)[1]
    soft = used + max(1, int(seconds + 0.999)) + 1
    if hard != resource.RLIM_INFINITY:
        soft = min(soft, hard)
    resource.setrlimit(resource.RLIMIT_CPU, (soft, hard))


def serve_loop(sock: socket.socket, note: mmap.mmap,
               step: Callable[[dict, bytes, mmap.mmap], tuple[dict, bytes]]) -> None:  # pragma: no cover
    """The child's loop: one request, one reply, until the parent closes the socket."""
    while True:
        request = _recv(sock)
        if request is None:
            return
        message, blob = request
        _follow_clock(message.get("frozen"))
        cpu_budget(float(message.get("timeout", 10)))
        began = time.process_time_ns()
        try:
            reply, out = step(message, blob, note)
        except MemoryError:
            reply, out = {"failed": "memory", "message": "it needed more memory than its limit"}, b""
        except Exception as exc:  # noqa: BLE001 - reported to the parent, which raises it as StepFailed
            where = traceback.extract_tb(exc.__traceback__)[-1]
            reply, out = {"failed": "crash", "message": f"{type(exc).__name__}: {exc} "
                                                        f"({os.path.basename(where.filename)}:{where.lineno})"}, b""
        reply["cpu_ns"] = time.process_time_ns() - began  # the parent counts its children's CPU time
        try:
            _send(sock, reply, out)
        except MemoryError:
            os._exit(MEMORY_EXIT)
        if reply.get("failed"):
            return  # a child that ran out of memory may be in any state: the parent forks a fresh one
