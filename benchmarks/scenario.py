"""The representative workload for `gridlink bench`: a real case on the shipped case_handling diagram.

A new case enters at its grid (DMN routing, gateways, a handle task with reminder and escalation
timers); the completion dispatches it to one department (a call activity whose accept task
has its own deadline). The SLA data is what a demo category gets from the default policies.
"""

from __future__ import annotations

from pathlib import Path

from benchmarks.engine_bench import Scenario
from workflows.clock import duration_seconds, format_duration
from workflows.org.models import LEVELS
from workflows.setup import reference_data

BPMN_DIR = Path(__file__).resolve().parent.parent / "bpmn"
SHIPPED_SUFFIXES = (".bpmn", ".dmn", ".json")


def default_sla() -> dict:
    """The ``sla`` start data from the default SLA policies (docs/CONVENTIONS.md)."""
    policies = {p["stage"]: p for p in reference_data.sla_defaults() if not p.get("category")}

    def with_reminder(stage: str) -> dict:
        limit = policies[stage]["limit"]
        share = policies[stage].get("reminder_share") or 0.75
        return {"limit": limit, "remind": format_duration(duration_seconds(limit) * share)}

    data = {level: with_reminder(level) for level in LEVELS}
    data["dispatch_accept"] = {"limit": policies["dispatch_accept"]["limit"]}
    data["dispatch_result"] = with_reminder("dispatch_result")
    data["duty"] = {u: policies[f"duty_{u}"]["limit"] for u in ("routine", "tough", "emergency")}
    return data


def case_scenario(bpmn_dir: Path = BPMN_DIR) -> Scenario:
    files = {p.name: p.read_text(encoding="utf-8") for p in sorted(bpmn_dir.iterdir()) if p.suffix in SHIPPED_SUFFIXES}
    start = {"case_number": "GL20261121-0001", "category": "drain_blocked", "entry": "handle", "level": "grid",
             "sla": default_sla()}
    complete = {"decision": "dispatch", "departments": ["housing"], "instructions": "请住建部门上门疏通下水管道"}
    return Scenario("case_handling: report at grid, dispatch to one department", files, "case_handling",
                    start, complete, "handle_grid", "dept_accept")
