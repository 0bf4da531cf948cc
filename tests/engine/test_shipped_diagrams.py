"""The shipped diagrams deploy cleanly and carry diagram interchange for every element."""

from __future__ import annotations

from pathlib import Path

import pytest
from lxml import etree

from engine import deploy, validate_files

BPMN_DIR = Path(__file__).resolve().parents[2] / "bpmn"
NS = {"bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL",
      "bpmndi": "http://www.omg.org/spec/BPMN/20100524/DI"}
SHAPED = ("startEvent", "endEvent", "userTask", "scriptTask", "businessRuleTask", "callActivity", "subProcess",
          "exclusiveGateway", "parallelGateway", "boundaryEvent", "lane", "participant")


def shipped() -> dict[str, str]:
    return {p.name: p.read_text(encoding="utf-8") for p in sorted(BPMN_DIR.iterdir())
            if p.suffix in (".bpmn", ".dmn", ".json")}


def test_shipped_definitions_validate_without_problems(sessions):
    with sessions() as session:
        assert validate_files(session, shipped()) == []


def test_shipped_definitions_deploy_the_four_processes(sessions):
    with sessions() as session, session.begin():
        versions = deploy(session, shipped(), "init")
    assert {v.process_id for v in versions} >= {"case_handling", "department_dispatch", "joint_meeting"}


@pytest.mark.parametrize("name", sorted(p.name for p in BPMN_DIR.glob("*.bpmn")))
def test_every_element_and_flow_is_laid_out(name):
    root = etree.fromstring((BPMN_DIR / name).read_bytes())
    shapes = {s.get("bpmnElement") for s in root.iterfind(".//bpmndi:BPMNShape", NS)}
    edges = {e.get("bpmnElement") for e in root.iterfind(".//bpmndi:BPMNEdge", NS)}
    nodes = {el.get("id") for tag in SHAPED for el in root.iterfind(f".//bpmn:{tag}", NS)}
    flows = {el.get("id") for el in root.iterfind(".//bpmn:sequenceFlow", NS)}
    assert nodes - shapes == set()
    assert flows - edges == set()
