"""`gridlink run` for real: a diagram whose script segfaults after a timer cannot take the server down."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from sqlalchemy import select

from engine import Runtime, make_engine, make_sessionmaker
from engine.incidents import Incident
from engine.storage.models import ProcessInstance

pytestmark = pytest.mark.slow

HERE = Path(__file__).parent
GRIDLINK = str(Path(sys.executable).with_name("gridlink"))
POISON = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="http://t">
  <bpmn:process id="poison" isExecutable="true">
    <bpmn:startEvent id="start"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="wait"/>
    <bpmn:intermediateCatchEvent id="wait">
      <bpmn:timerEventDefinition><bpmn:timeDuration>"PT2S"</bpmn:timeDuration></bpmn:timerEventDefinition>
    </bpmn:intermediateCatchEvent>
    <bpmn:sequenceFlow id="f2" sourceRef="wait" targetRef="hash_it"/>
    <bpmn:scriptTask id="hash_it" name="Hash it"><bpmn:script>t = ()
for i in range(25000):
    t = ((((((((((t,),),),),),),),),),)
s = {t}
</bpmn:script></bpmn:scriptTask>
    <bpmn:sequenceFlow id="f3" sourceRef="hash_it" targetRef="end"/>
    <bpmn:endEvent id="end"/>
  </bpmn:process>
</bpmn:definitions>
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def healthy(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


def start_server(env: dict, port: int) -> subprocess.Popen:
    server = subprocess.Popen([GRIDLINK, "run", "--port", str(port), "--workers", "1"], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 30
    while not healthy(port):
        assert server.poll() is None, "the server did not start"
        assert time.monotonic() < deadline, "the server did not answer /healthz within 30 s"
        time.sleep(0.2)
    return server


def stop(server: subprocess.Popen) -> None:
    os.killpg(server.pid, signal.SIGTERM)
    try:
        server.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait()


def watch(server: subprocess.Popen, port: int, seconds: float, until=None) -> None:
    """/healthz answers throughout (every 0.25 s) and the server stays up, for ``seconds`` or until ``until()``."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert server.poll() is None, "the server died"
        assert healthy(port), "/healthz did not answer"
        if until is not None and until():
            return
        time.sleep(0.25)
    assert until is None, "the instance never became an incident"


def test_a_segfaulting_script_after_a_timer_leaves_the_server_serving_and_becomes_an_incident(tmp_path):
    env = dict(os.environ, GRIDLINK_INSTANCE_DIR=str(tmp_path), GRIDLINK_TIMER_INTERVAL="0.5",
               GRIDLINK_STEP_TIMEOUT="10")
    env.pop("GRIDLINK_DATABASE_URL", None)
    (tmp_path / "poison.bpmn").write_text(POISON, encoding="utf-8")
    subprocess.run([GRIDLINK, "init"], env=env, check=True, capture_output=True)
    subprocess.run([GRIDLINK, "deploy", str(tmp_path / "poison.bpmn")], env=env, check=True, capture_output=True)
    sessions = make_sessionmaker(make_engine(f"sqlite:///{tmp_path / 'gridlink.db'}"))
    runtime = Runtime()
    with sessions() as session, session.begin():
        instance = runtime.start(session, "poison").instance_id  # waits on its 2 s timer

    def incident() -> Incident | None:
        with sessions() as session:
            return session.scalars(select(Incident).where(Incident.instance_id == instance)).first()

    port = free_port()
    server = start_server(env, port)
    try:
        watch(server, port, 30, until=incident)
        found = incident()
        assert (found.kind, found.element_id) == ("crash", "hash_it") and "SIGSEGV" in found.message, found.message
        watch(server, port, 3)  # and it keeps serving
        assert (tmp_path / "gunicorn.ctl").exists()  # the control socket lives in the instance folder
    finally:
        stop(server)
    server = start_server(env, port)  # a restart does not run the step again
    try:
        watch(server, port, 5)
    finally:
        stop(server)
    with sessions() as session:
        assert session.get(ProcessInstance, instance).status == "error"
        assert len(session.scalars(select(Incident)).all()) == 1
