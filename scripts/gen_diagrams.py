#!/usr/bin/env python3
"""Generate the shipped process definitions in bpmn/ with a computed layout.

    python scripts/gen_diagrams.py          # rewrite bpmn/*.bpmn, *.dmn, *.schema.json
    python scripts/gen_diagrams.py --check  # exit 1 if a committed file differs from the output

Standard library only. Every diagram gets full diagram interchange (participant, lanes,
shapes, edges with waypoints, labels) so that the browser modeller shows it laid out.
The generated files are committed; admins may edit them in the modeller afterwards.
The data keys, extension property names and category codes follow docs/CONVENTIONS.md.
"""

from __future__ import annotations

import argparse
import json
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "bpmn"

NS = {
    "bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL",
    "bpmndi": "http://www.omg.org/spec/BPMN/20100524/DI",
    "dc": "http://www.omg.org/spec/DD/20100524/DC",
    "di": "http://www.omg.org/spec/DD/20100524/DI",
    "spiffworkflow": "http://spiffworkflow.org/bpmn/schema/1.0/core",
    "xsi": "http://www.w3.org/2001/XMLSchema-instance",
}
for _prefix, _uri in NS.items():
    ET.register_namespace(_prefix, _uri)

LEVELS = ["grid", "community", "workstation", "subcentre", "district"]
LEVEL_ZH = {
    "grid": "网格",
    "community": "社区",
    "workstation": "联动工作站",
    "subcentre": "街道联动分中心",
    "district": "区联动中心",
}
HANDLE_ZH = {
    "grid": "网格处置",
    "community": "社区处置",
    "workstation": "工作站处置",
    "subcentre": "分中心处置",
    "district": "区中心处置",
}
LEVEL_SHORT = {"grid": "网格", "community": "社区", "workstation": "工作站", "subcentre": "分中心",
               "district": "区中心"}
NEXT_LEVEL = {"grid": "community", "community": "workstation", "workstation": "subcentre",
              "subcentre": "district", "district": "district"}


def q(tag: str) -> str:
    prefix, local = tag.split(":")
    return f"{{{NS[prefix]}}}{local}"


def sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    el = ET.SubElement(parent, q(tag), {k: str(v) for k, v in attrs.items()})
    if text is not None:
        el.text = text
    return el


def text_width(text: str) -> float:
    """Rough width in px of a label in bpmn-js's 11px font."""
    return sum(12.0 if ord(c) > 0x2E80 else 6.6 for c in text) + 6


def py_dict(mapping: dict[str, str]) -> str:
    return "{" + ", ".join(f'"{k}": "{v}"' for k, v in mapping.items()) + "}"


# --------------------------------------------------------------------------------------------
# A tiny model of a laid-out BPMN process
# --------------------------------------------------------------------------------------------

class Node:
    """A flow node with its bounds (top-left x, y, width, height) and its semantic parts."""

    def __init__(self, tag, node_id, name, cx, cy, w, h, *, doc=None, props=None, ext=None,
                 attrs=None, body=None, label=None):
        self.tag, self.id, self.name = tag, node_id, name
        self.x, self.y, self.w, self.h = cx - w / 2, cy - h / 2, w, h
        self.doc, self.props, self.ext = doc, props or {}, ext or []
        self.attrs = attrs or {}
        self.body = body or (lambda el: None)
        self.label = label  # (x, y, w, h) for external labels
        self.incoming: list[str] = []
        self.outgoing: list[str] = []
        self.container: Container | None = None
        self.expanded = False

    @property
    def cx(self):
        return self.x + self.w / 2

    @property
    def cy(self):
        return self.y + self.h / 2

    def left(self, dy=0):
        return (self.x, self.cy + dy)

    def right(self, dy=0):
        return (self.x + self.w, self.cy + dy)

    def top(self, dx=0):
        return (self.cx + dx, self.y)

    def bottom(self, dx=0):
        return (self.cx + dx, self.y + self.h)


class Flow:
    def __init__(self, flow_id, source, target, points, name=None, condition=None, label=None, doc=None):
        self.id, self.source, self.target = flow_id, source, target
        self.points = [tuple(p) for p in points]
        self.name, self.condition, self.label, self.doc = name, condition, label, doc
        for a, b in zip(self.points, self.points[1:], strict=False):
            if a[0] != b[0] and a[1] != b[1]:
                raise ValueError(f"{flow_id}: segment {a} -> {b} is not orthogonal")


class Container:
    """A process or an embedded subprocess: nodes and flows, in document order."""

    def __init__(self):
        self.nodes: list[Node] = []
        self.flows: list[Flow] = []

    def add(self, node: Node) -> Node:
        node.container = self
        self.nodes.append(node)
        return node

    # --- node factories (cx, cy are the centre) ---------------------------------------------

    def start(self, node_id, name, cx, cy, label="below", doc=None):
        return self.add(Node("bpmn:startEvent", node_id, name, cx, cy, 36, 36, doc=doc,
                             label=event_label(name, cx, cy, label)))

    def end(self, node_id, name, cx, cy, label="below", outcome=None, doc=None):
        props = {"outcome": outcome} if outcome else None
        return self.add(Node("bpmn:endEvent", node_id, name, cx, cy, 36, 36, doc=doc, props=props,
                             label=event_label(name, cx, cy, label)))

    def gateway(self, node_id, name, cx, cy, label="above", doc=None):
        node = Node("bpmn:exclusiveGateway", node_id, name, cx, cy, 50, 50, doc=doc,
                    label=event_label(name, cx, cy, label, radius=25))
        node.default = None
        return self.add(node)

    def user_task(self, node_id, name, cx, cy, *, props, doc=None, pre=None, post=None, loop=None,
                  w=120, h=80):
        ext = []
        if pre:
            ext.append(("spiffworkflow:preScript", pre))
        if post:
            ext.append(("spiffworkflow:postScript", post))
        return self.add(Node("bpmn:userTask", node_id, name, cx, cy, w, h, doc=doc, props=props, ext=ext,
                             body=loop))

    def script_task(self, node_id, name, cx, cy, script, doc=None, w=120, h=80):
        def body(el):
            sub(el, "bpmn:script", script)
        return self.add(Node("bpmn:scriptTask", node_id, name, cx, cy, w, h, doc=doc,
                             attrs={"scriptFormat": "python"}, body=body))

    def rule_task(self, node_id, name, cx, cy, decision, doc=None):
        return self.add(Node("bpmn:businessRuleTask", node_id, name, cx, cy, 120, 80, doc=doc,
                             ext=[("spiffworkflow:calledDecisionId", decision)]))

    def call_activity(self, node_id, name, cx, cy, called, doc=None, loop=None):
        return self.add(Node("bpmn:callActivity", node_id, name, cx, cy, 120, 80, doc=doc,
                             attrs={"calledElement": called}, body=loop))

    def subprocess(self, node_id, name, x, y, w, h, doc=None, loop=None):
        inner = Container()
        node = Node("bpmn:subProcess", node_id, name, x + w / 2, y + h / 2, w, h, doc=doc)
        node.inner = inner
        node.expanded = True

        def body(el):
            if loop:
                loop(el)
            write_container(el, inner)
        node.body = body
        return self.add(node), inner

    def boundary(self, node_id, name, host, dx, *, timer, cancel, props, side="bottom", label="left",
                 doc=None):
        """A timer boundary event centred on the host's border, dx from the host's centre."""
        kind, expression = timer
        if side == "bottom":
            cx, cy = host.cx + dx, host.y + host.h
        else:
            cx, cy = host.cx + dx, host.y

        def body(el):
            ted = sub(el, "bpmn:timerEventDefinition", id=f"{node_id}_def")
            expr = sub(ted, f"bpmn:{kind}", expression)
            expr.set(q("xsi:type"), "bpmn:tFormalExpression")
        attrs = {"attachedToRef": host.id}
        if not cancel:
            attrs["cancelActivity"] = "false"
        width = text_width(name)
        if label == "left":
            lbl = (cx - 20 - width, cy + 4, width, 14)
        elif label == "right":
            lbl = (cx + 20, cy + 4, width, 14)
        else:
            lbl = (cx - width / 2, cy + 20, width, 14)
        node = Node("bpmn:boundaryEvent", node_id, name, cx, cy, 36, 36, doc=doc, props=props, attrs=attrs,
                    body=body, label=lbl)
        return self.add(node)

    # --- flows ------------------------------------------------------------------------------

    def flow(self, flow_id, source, target, points, name=None, condition=None, label=None, default=False,
             doc=None):
        if label is not None and name:
            lx, ly = label
            label = (lx, ly, text_width(name), 14)
        flow = Flow(flow_id, source, target, points, name, condition, label, doc)
        source.outgoing.append(flow_id)
        target.incoming.append(flow_id)
        if default:
            source.default = flow_id
        self.flows.append(flow)
        return flow


def event_label(name, cx, cy, where, radius=18):
    if not name:
        return None
    width = text_width(name)
    if where == "below":
        return (cx - width / 2, cy + radius + 5, width, 14)
    if where == "above":
        return (cx - width / 2, cy - radius - 19, width, 14)
    if where == "right":
        return (cx + radius + 4, cy - 7, width, 14)
    if where == "left":
        return (cx - radius - 4 - width, cy - 7, width, 14)
    if where == "above-left":
        return (cx - radius - width + 6, cy - radius - 16, width, 14)
    if where == "below-left":
        return (cx - radius - width + 6, cy + radius + 2, width, 14)
    if where == "above-right":
        return (cx + radius - 6, cy - radius - 16, width, 14)
    raise ValueError(where)


def write_node(parent: ET.Element, node: Node) -> ET.Element:
    attrs = {"id": node.id}
    if node.name:
        attrs["name"] = node.name
    attrs.update(node.attrs)
    if getattr(node, "default", None):
        attrs["default"] = node.default
    el = sub(parent, node.tag, **attrs)
    if node.doc:
        sub(el, "bpmn:documentation", node.doc)
    if node.props or node.ext:
        ext = sub(el, "bpmn:extensionElements")
        for tag, text in node.ext:
            sub(ext, tag, text)
        if node.props:
            props = sub(ext, "spiffworkflow:properties")
            for key, value in node.props.items():
                sub(props, "spiffworkflow:property", name=key, value=value)
    for flow_id in node.incoming:
        sub(el, "bpmn:incoming", flow_id)
    for flow_id in node.outgoing:
        sub(el, "bpmn:outgoing", flow_id)
    node.body(el)
    return el


def write_container(parent: ET.Element, container: Container) -> None:
    for node in container.nodes:
        write_node(parent, node)
    for flow in container.flows:
        attrs = {"id": flow.id}
        if flow.name:
            attrs["name"] = flow.name
        attrs.update(sourceRef=flow.source.id, targetRef=flow.target.id)
        el = sub(parent, "bpmn:sequenceFlow", **attrs)
        if flow.doc:
            sub(el, "bpmn:documentation", flow.doc)
        if flow.condition:
            cond = sub(el, "bpmn:conditionExpression", flow.condition)
            cond.set(q("xsi:type"), "bpmn:tFormalExpression")


def mi_loop(collection, item, output_list=None, output_item=None, scripts_on_instances=False):
    """Parallel multi-instance characteristics over a list in task data."""
    def body(el):
        mi = sub(el, "bpmn:multiInstanceLoopCharacteristics")
        if scripts_on_instances:
            mi.set(q("spiffworkflow:scriptsOnInstances"), "true")
        sub(mi, "bpmn:loopDataInputRef", collection)
        if output_list:
            sub(mi, "bpmn:loopDataOutputRef", output_list)
        sub(mi, "bpmn:inputDataItem", id=item, name=item)
        if output_item:
            sub(mi, "bpmn:outputDataItem", id=output_item, name=output_item)
    return body


def bounds(parent, x, y, w, h):
    sub(parent, "dc:Bounds", x=fmt(x), y=fmt(y), width=fmt(w), height=fmt(h))


def fmt(v: float) -> str:
    return str(int(v)) if float(v).is_integer() else f"{v:.1f}"


class Diagram:
    """One .bpmn file: a collaboration with one participant whose process has lanes."""

    def __init__(self, process_id, process_name, participant_name, doc=None):
        self.process_id, self.process_name = process_id, process_name
        self.participant_name, self.doc = participant_name, doc
        self.process = Container()
        self.lanes: list[tuple[str, str, float, float, str | None]] = []  # id, name, y, h, doc
        self.data_names: list[tuple[str, str]] = []  # process properties: (name, documentation)

    def data(self, name, doc):
        """Declare a task-data list used by a multi-instance activity as a process property, so that
        loopDataInputRef / loopDataOutputRef resolve in bpmn-js (which otherwise drops them on save)."""
        self.data_names.append((name, doc))

    def set_pool(self, x, y, w):
        self.pool_x, self.pool_y, self.pool_w = x, y, w

    def lane(self, lane_id, name, height, doc=None):
        y = self.pool_y + sum(h for _, _, _, h, _ in self.lanes)
        self.lanes.append((lane_id, name, y, height, doc))
        return y

    def lane_of(self, node):
        for lane_id, _, y, h, _ in self.lanes:
            if y <= node.cy < y + h:
                return lane_id
        raise ValueError(f"{node.id} at y={node.cy} is outside every lane")

    def render(self) -> str:
        pool_h = sum(h for _, _, _, h, _ in self.lanes)
        defs = ET.Element(q("bpmn:definitions"), {
            "id": f"{self.process_id}_definitions",
            "targetNamespace": "http://gridlink.example/bpmn",
            "exporter": "gridlink scripts/gen_diagrams.py",
            "exporterVersion": "1",
        })
        collab = sub(defs, "bpmn:collaboration", id=f"{self.process_id}_collaboration")
        sub(collab, "bpmn:participant", id=f"{self.process_id}_participant", name=self.participant_name,
            processRef=self.process_id)
        proc = sub(defs, "bpmn:process", id=self.process_id, name=self.process_name, isExecutable="true")
        if self.doc:
            sub(proc, "bpmn:documentation", self.doc)
        for name, doc in self.data_names:
            prop = sub(proc, "bpmn:property", id=name, name=name)
            sub(prop, "bpmn:documentation", doc)
        lane_set = sub(proc, "bpmn:laneSet", id=f"{self.process_id}_lanes")
        members: dict[str, list[str]] = {lane_id: [] for lane_id, *_ in self.lanes}
        for node in self.process.nodes:
            members[self.lane_of(node)].append(node.id)
        for lane_id, name, _, _, doc in self.lanes:
            lane = sub(lane_set, "bpmn:lane", id=lane_id, name=name)
            if doc:
                sub(lane, "bpmn:documentation", doc)
            for node_id in members[lane_id]:
                sub(lane, "bpmn:flowNodeRef", node_id)
        write_container(proc, self.process)

        # diagram interchange
        dia = sub(defs, "bpmndi:BPMNDiagram", id=f"{self.process_id}_diagram")
        plane = sub(dia, "bpmndi:BPMNPlane", id=f"{self.process_id}_plane",
                    bpmnElement=f"{self.process_id}_collaboration")
        shape = sub(plane, "bpmndi:BPMNShape", id=f"{self.process_id}_participant_di",
                    bpmnElement=f"{self.process_id}_participant", isHorizontal="true")
        bounds(shape, self.pool_x, self.pool_y, self.pool_w, pool_h)
        for lane_id, _, y, h, _ in self.lanes:
            shape = sub(plane, "bpmndi:BPMNShape", id=f"{lane_id}_di", bpmnElement=lane_id,
                        isHorizontal="true")
            bounds(shape, self.pool_x + 30, y, self.pool_w - 30, h)
        write_di(plane, self.process)
        ET.indent(defs, space="  ")
        return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(defs, encoding="unicode") + "\n"


def write_di(plane, container: Container):
    for node in container.nodes:
        attrs = {"id": f"{node.id}_di", "bpmnElement": node.id}
        if node.expanded:
            attrs["isExpanded"] = "true"
        shape = sub(plane, "bpmndi:BPMNShape", **attrs)
        bounds(shape, node.x, node.y, node.w, node.h)
        if node.label:
            label = sub(shape, "bpmndi:BPMNLabel")
            bounds(label, *node.label)
        if node.expanded:
            write_di(plane, node.inner)
    for flow in container.flows:
        edge = sub(plane, "bpmndi:BPMNEdge", id=f"{flow.id}_di", bpmnElement=flow.id)
        for x, y in flow.points:
            sub(edge, "di:waypoint", x=fmt(x), y=fmt(y))
        if flow.label:
            label = sub(edge, "bpmndi:BPMNLabel")
            bounds(label, *flow.label)


def check_overlaps(diagram: Diagram) -> list[str]:
    """Shapes that overlap (boundary events on their host and nested nodes excepted)."""
    problems = []

    def flat(container, depth=0):
        for node in container.nodes:
            yield node, container
            if node.expanded:
                yield from flat(node.inner, depth + 1)

    nodes = list(flat(diagram.process))
    for i, (a, ca) in enumerate(nodes):
        for b, cb in nodes[i + 1:]:
            if a.attrs.get("attachedToRef") == b.id or b.attrs.get("attachedToRef") == a.id:
                continue
            if (a.expanded and cb is a.inner) or (b.expanded and ca is b.inner):
                continue
            if a.x < b.x + b.w and b.x < a.x + a.w and a.y < b.y + b.h and b.y < a.y + a.h:
                problems.append(f"{diagram.process_id}: {a.id} overlaps {b.id}")
    return problems


# --------------------------------------------------------------------------------------------
# case_handling
# --------------------------------------------------------------------------------------------

def handle_form(level):
    if level == "grid":
        return "handle_grid.schema.json"
    if level == "district":
        return "handle_district.schema.json"
    return "handle.schema.json"


def case_handling() -> Diagram:
    d = Diagram(
        "case_handling", "工单处置闭环", "网格化联动工单处置",
        doc="The six-step closed loop of a work order: register or verify, handle at the current level "
            "(resolve, escalate, dispatch departments, convene a joint meeting, assign down), verify and "
            "close by the level above the handler. Boundary timers remind (non-interrupting) and escalate "
            "(interrupting) per the SLA in data key `sla`.")
    d.set_pool(150, 60, 2030)
    d.data("departments", "Department codes to dispatch or summon (from the handle task's form).")
    d.data("dispatch_results", "One dispatch_result per department of the last dispatch round.")
    top = d.lane("lane_registration", "登记与核查", 400,
                 doc="Registration, routing and verification: the linkage centre's coordination work.")
    lane_top = {}
    for level in LEVELS:
        lane_top[level] = d.lane(f"lane_{level}", LEVEL_ZH[level], 190,
                                 doc=f"Work orders handled at level {level}.")
    p = d.process

    bus_y, yu, fan_y, ym, yl = top + 30, top + 110, top + 178, top + 240, top + 340
    x_router, x_bus, x_handle, x_gate = 880, 930, 1040, 1260

    start = p.start("start", "收到工单", 240, ym,
                    doc="A new case: data carries case_number, category, entry, level and sla.")
    route = p.rule_task("route_category", "类别路由", 360, ym, "category_routing",
                        doc="DMN category_routing: suggested_department and limit_class for the category.")
    gw_entry = p.gateway("gw_entry", "入口？", 490, ym, label="below-left",
                         doc="entry: verify (self-closed at grid), register, or handle (default).")
    register = p.user_task(
        "register", "登记立案", 610, yu,
        props={"formJsonSchemaFilename": "register.schema.json", "task_kind": "register",
               "level_var": "level", "assignee": "org_unit"},
        doc="Verify the report and register it as a case, or reject it as invalid or a duplicate.")
    gw_register = p.gateway("gw_register", "是否受理？", 760, yu, label="below")
    end_rejected = p.end("end_rejected", "不予受理", 760, top + 35, label="left", outcome="rejected")
    self_closed = p.script_task(
        "self_closed_verify_level", "自办结待核查", 610, yl,
        "verify_level = " + py_dict(NEXT_LEVEL) + "[level]",
        doc="A grid worker closed a small matter on the spot: the level above verifies it.")
    router = p.gateway("gw_level", "处置层级", x_router, ym, label="below-left",
                       doc="Routes the work order to the handling task of data key `level`.")

    handles = {}
    for level in LEVELS:
        cy = lane_top[level] + 80
        handles[level] = p.user_task(
            f"handle_{level}", HANDLE_ZH[level], x_handle, cy,
            props={"formJsonSchemaFilename": handle_form(level), "task_kind": "handle", "level": level,
                   "assignee": "org_unit"},
            pre=f'level = "{level}"',
            doc=f"Handle the work order at level {level}: decide resolve, escalate, dispatch, convene"
                + ("" if level == "grid" else " or assign_down") + ".")

    gw_decision = p.gateway("gw_decision", "处置决定？", x_gate, ym, label="below-left",
                            doc="The handler's decision (data key `decision`).")
    x_out = [x_gate, x_gate + 150, x_gate + 300, x_gate + 450, x_gate + 600]
    escalate = p.script_task("escalate_level", "升至上一级", x_out[0], yu,
                             "level = " + py_dict(NEXT_LEVEL) + "[level]",
                             doc="Escalate: the level above handles the work order next.")
    prepare = p.script_task("prepare_dispatch", "准备派遣", x_out[1], yu, "dispatch_results = []",
                            doc="Clears the results of an earlier dispatch round (a multi-instance output "
                                "list must start empty).")
    dispatch = p.call_activity(
        "dispatch", "部门派遣", x_out[2], yu, "department_dispatch",
        loop=mi_loop("departments", "department", "dispatch_results", "dispatch_result"),
        doc="One department_dispatch per code in `departments`, in parallel; results in `dispatch_results`.")
    convene = p.call_activity("convene", "吹哨报到", x_out[3], yu, "joint_meeting",
                              doc="Blow the whistle: the joint meeting summons `departments`.")
    assign_down = p.script_task("assign_down_level", "指派下级", x_out[4], yu, "level = target_level",
                                doc="Assign down: the domain adds `target_level` when it completes the task.")
    set_verify = p.script_task("set_verify_level", "交上级核查", x_gate + 150, ym,
                               "verify_level = " + py_dict(NEXT_LEVEL) + "[level]",
                               doc="Resolved: the level above the handler verifies (the district verifies "
                                   "its own).")
    verify = p.user_task(
        "verify", "核查结案", 1830, ym,
        props={"formJsonSchemaFilename": "verify.schema.json", "task_kind": "verify",
               "level_var": "verify_level", "assignee": "org_unit"},
        doc="Verify the outcome on site and close, or send it back for rework. Someone other than the "
            "handler signs off.")
    gw_verify = p.gateway("gw_verify", "核查结论？", 1990, ym, label="below")
    end_closed = p.end("end_closed", "结案", 2100, ym, outcome="closed")

    # timers on the handling tasks
    timers = {}
    for level in LEVELS:
        host = handles[level]
        remind = p.boundary(
            f"timer_remind_{level}", "到时提醒", host, 35,
            timer=("timeDuration", f'sla["{level}"]["remind"]'), cancel=False,
            props={"timer_kind": "reminder", "level": level}, label="right",
            doc=f"Reminder at {level} level (non-interrupting).")
        end_r = p.end(f"end_reminded_{level}", "已提醒", host.cx + 110, lane_top[level] + 165, label="right")
        p.flow(f"flow_remind_{level}", remind, end_r,
               [remind.bottom(), (remind.cx, end_r.cy), end_r.left()])
        if level != "district":
            esc = p.boundary(
                f"timer_escalate_{level}", "超时上报", host, -35,
                timer=("timeDuration", f'sla["{level}"]["limit"]'), cancel=True,
                props={"timer_kind": "escalation", "level": level}, label="left",
                doc=f"The {level} limit ran out: the work order moves up by itself (interrupting).")
            timers[level] = esc
        else:
            esc = p.boundary(
                "timer_overdue_district", "逾期", host, -35,
                timer=("timeDuration", 'sla["district"]["limit"]'), cancel=False,
                props={"timer_kind": "overdue", "level": "district"}, label="left",
                doc="The district limit ran out: marked overdue, the task stays (nothing is above).")
            end_o = p.end("end_overdue_district", "已逾期", host.x - 70, lane_top[level] + 165, label="left")
            p.flow("flow_overdue_district", esc, end_o, [esc.bottom(), (esc.cx, end_o.cy), end_o.right()])

    # main line
    p.flow("flow_start", start, route, [start.right(), route.left()])
    p.flow("flow_routed", route, gw_entry, [route.right(), gw_entry.left()])
    p.flow("flow_entry_register", gw_entry, register, [gw_entry.top(), (gw_entry.cx, yu), register.left()],
           name="需登记", condition='entry == "register"', label=(gw_entry.cx + 4, yu - 18))
    p.flow("flow_entry_verify", gw_entry, self_closed,
           [gw_entry.bottom(), (gw_entry.cx, yl), self_closed.left()],
           name="自办结", condition='entry == "verify"', label=(gw_entry.cx + 4, yl - 18))
    p.flow("flow_entry_handle", gw_entry, router, [gw_entry.right(), router.left()],
           name="直接处置", label=(gw_entry.cx + 60, ym - 18), default=True)
    p.flow("flow_registered", register, gw_register, [register.right(), gw_register.left()])
    p.flow("flow_register_reject", gw_register, end_rejected, [gw_register.top(), end_rejected.bottom()],
           name="不受理", condition='decision == "reject"', label=(gw_register.cx + 6, top + 70))
    p.flow("flow_register_accept", gw_register, router,
           [gw_register.right(), (router.cx, yu), router.top()],
           name="受理", condition='decision == "accept"', label=(gw_register.cx + 32, yu - 18))
    p.flow("flow_self_closed", self_closed, verify, [self_closed.right(), (verify.cx, yl), verify.bottom()])
    for level in LEVELS:
        h = handles[level]
        p.flow(f"flow_to_{level}", router, h, [router.bottom(), (router.cx, h.cy), h.left()],
               name=LEVEL_SHORT[level],
               condition=f'level == "{level}"', label=(router.cx + 8, h.cy - 18))
        p.flow(f"flow_{level}_decided", h, gw_decision,
               [h.right(), (gw_decision.cx, h.cy), gw_decision.bottom()])
        if level != "district":
            esc, nxt = timers[level], handles[LEVELS[LEVELS.index(level) + 1]]
            p.flow(f"flow_escalate_{level}", esc, nxt, [esc.bottom(), (esc.cx, nxt.y)])

    # decisions
    p.flow("flow_decide_resolve", gw_decision, set_verify, [gw_decision.right(), set_verify.left()],
           name="办结", condition='decision == "resolve"', label=(gw_decision.cx + 32, ym - 18))
    p.flow("flow_decide_escalate", gw_decision, escalate, [gw_decision.top(), escalate.bottom()],
           name="上报", condition='decision == "escalate"', label=(x_out[0] + 6, yu + 44))
    p.flow("flow_decide_dispatch", gw_decision, prepare,
           [gw_decision.top(), (gw_decision.cx, fan_y), (x_out[1], fan_y), prepare.bottom()],
           name="派遣部门", condition='decision == "dispatch"', label=(x_out[1] + 6, yu + 44))
    p.flow("flow_decide_convene", gw_decision, convene,
           [gw_decision.top(), (gw_decision.cx, fan_y), (x_out[3], fan_y), convene.bottom()],
           name="吹哨", condition='decision == "convene"', label=(x_out[3] + 6, yu + 44))
    p.flow("flow_decide_assign_down", gw_decision, assign_down,
           [gw_decision.top(), (gw_decision.cx, fan_y), (x_out[4], fan_y), assign_down.bottom()],
           name="指派下级", condition='decision == "assign_down"', label=(x_out[4] + 6, yu + 44))
    p.flow("flow_prepared", prepare, dispatch, [prepare.right(), dispatch.left()])

    def back(flow_id, node, name=None, condition=None, label=None):
        src = node.top()
        p.flow(flow_id, node, router, [src, (src[0], bus_y), (x_bus, bus_y), (x_bus, ym), router.right()],
               name=name, condition=condition, label=label)

    back("flow_escalated", escalate)
    back("flow_dispatched", dispatch)
    back("flow_convened", convene)
    back("flow_assigned_down", assign_down)
    p.flow("flow_to_verify", set_verify, verify, [set_verify.right(), verify.left()])
    p.flow("flow_verified", verify, gw_verify, [verify.right(), gw_verify.left()])
    p.flow("flow_verify_approve", gw_verify, end_closed, [gw_verify.right(), end_closed.left()],
           name="通过", condition='decision == "approve"', label=(gw_verify.cx + 28, ym - 18))
    back("flow_verify_rework", gw_verify, name="退回重办", condition='decision == "rework"',
         label=(gw_verify.cx + 6, bus_y + 6))
    return d


# --------------------------------------------------------------------------------------------
# department_dispatch
# --------------------------------------------------------------------------------------------

def department_dispatch() -> Diagram:
    d = Diagram("department_dispatch", "部门派遣", "职能部门处置",
                doc="One dispatched department: accept or return (wrong department, with a reason) within "
                    "the accept limit, then handle and report the result. Overdue is recorded, the task "
                    "stays. The result goes back to the case as `dispatch_result`.")
    d.set_pool(150, 60, 880)
    top = d.lane("lane_department", "职能部门", 370, doc="The department in data key `department`.")
    p = d.process
    yu, ym = top + 70, top + 190

    start = p.start("start", "收到派遣", 240, ym)
    accept = p.user_task(
        "dept_accept", "部门签收", 380, ym,
        props={"formJsonSchemaFilename": "dept_accept.schema.json", "task_kind": "dept_accept",
               "assignee": "department"},
        doc="Accept the dispatched work order, or return it with a reason (not this department's job).")
    t_accept = p.boundary(
        "timer_overdue_dispatch_accept", "签收逾期", accept, 30,
        timer=("timeDuration", 'sla["dispatch_accept"]["limit"]'), cancel=False,
        props={"timer_kind": "overdue", "stage": "dispatch_accept"}, label="right")
    end_t_accept = p.end("end_overdue_dispatch_accept", "已逾期", t_accept.cx, top + 320, label="right")
    gw = p.gateway("gw_accept", "是否签收？", 530, ym, label="below")
    returned = p.script_task(
        "return_to_case", "退回派遣", 680, yu,
        'dispatch_result = {"department": department, "returned": True, "reason": reason}',
        doc="Returned: the reason goes back to the case.")
    end_returned = p.end("end_returned", "已退回", 830, yu, label="below")
    result = p.user_task(
        "dept_result", "部门处置反馈", 680, ym,
        props={"formJsonSchemaFilename": "dept_result.schema.json", "task_kind": "dept_result",
               "assignee": "department"},
        doc="Handle the matter and report the result, with photos.")
    t_remind = p.boundary(
        "timer_remind_dispatch_result", "到时提醒", result, -30,
        timer=("timeDuration", 'sla["dispatch_result"]["remind"]'), cancel=False,
        props={"timer_kind": "reminder", "stage": "dispatch_result"}, label="left")
    t_overdue = p.boundary(
        "timer_overdue_dispatch_result", "反馈逾期", result, 30,
        timer=("timeDuration", 'sla["dispatch_result"]["limit"]'), cancel=False,
        props={"timer_kind": "overdue", "stage": "dispatch_result"}, label="right")
    end_remind = p.end("end_reminded_dispatch_result", "已提醒", t_remind.cx, top + 320, label="left")
    end_overdue = p.end("end_overdue_dispatch_result", "已逾期", t_overdue.cx, top + 320, label="right")
    collect = p.script_task(
        "result_to_case", "汇总反馈", 830, ym,
        'dispatch_result = {"department": department, "returned": False, "result": result}',
        doc="The department's result goes back to the case.")
    end_done = p.end("end_reported", "已反馈", 960, ym, label="below")

    p.flow("flow_start", start, accept, [start.right(), accept.left()])
    p.flow("flow_accept_overdue", t_accept, end_t_accept, [t_accept.bottom(), end_t_accept.top()])
    p.flow("flow_answered", accept, gw, [accept.right(), gw.left()])
    p.flow("flow_return", gw, returned, [gw.top(), (gw.cx, yu), returned.left()],
           name="退回", condition='decision == "return"', label=(gw.cx + 6, yu - 18))
    p.flow("flow_accept", gw, result, [gw.right(), result.left()],
           name="签收", condition='decision == "accept"', label=(gw.cx + 30, ym - 18))
    p.flow("flow_returned", returned, end_returned, [returned.right(), end_returned.left()])
    p.flow("flow_result_remind", t_remind, end_remind, [t_remind.bottom(), end_remind.top()])
    p.flow("flow_result_overdue", t_overdue, end_overdue, [t_overdue.bottom(), end_overdue.top()])
    p.flow("flow_reported", result, collect, [result.right(), collect.left()])
    p.flow("flow_done", collect, end_done, [collect.right(), end_done.left()])
    return d


# --------------------------------------------------------------------------------------------
# joint_meeting
# --------------------------------------------------------------------------------------------

def joint_meeting() -> Diagram:
    d = Diagram("joint_meeting", "吹哨报到联席会议", "吹哨报到",
                doc="Whistle and report to duty: every summoned department reports to duty by its deadline, "
                    "the coordinator records the resolution, every action is carried out, the coordinator "
                    "confirms the outcome.")
    d.set_pool(150, 60, 1420)
    d.data("departments", "Department codes summoned to the meeting.")
    d.data("duty_reports", "One duty_report {department, delegate} per summoned department.")
    d.data("actions", "The resolution's actions {department, action, due_at, phase}.")
    d.data("action_results", "One action_result {department, action, result} per action.")
    top = d.lane("lane_coordinator", "召集单位", 200,
                 doc="The unit that blew the whistle (data key `level`).")
    dep = d.lane("lane_departments", "报到部门", 340, doc="The summoned departments.")
    p = d.process
    yc = top + 100

    start = p.start("start", "吹哨", 240, yc)
    deadline = p.script_task(
        "set_duty_deadline", "设定报到时限", 370, yc,
        'duty_deadline = sla["duty"][urgency]\nduty_reports = []\naction_results = []',
        doc="The report-to-duty deadline follows the meeting's urgency; clears lists of an earlier meeting.")
    report = p.user_task(
        "report_to_duty", "部门报到", 530, dep + 110,
        props={"formJsonSchemaFilename": "report_to_duty.schema.json", "task_kind": "report_to_duty",
               "assignee": "department"},
        post='duty_report = {"department": department, "delegate": delegate}',
        loop=mi_loop("departments", "department", "duty_reports", "duty_report", scripts_on_instances=True),
        doc="Every summoned department names who attends (one instance per department).")
    late = p.boundary(
        "timer_duty_late", "报到超时", report, 30,
        timer=("timeDuration", "duty_deadline"), cancel=False,
        props={"timer_kind": "duty_late"}, label="right")
    end_late = p.end("end_duty_late", "已迟到", late.cx, dep + 230, label="right")
    resolution = p.user_task(
        "record_resolution", "会议决议", 700, yc,
        props={"formJsonSchemaFilename": "resolution.schema.json", "task_kind": "resolution",
               "level_var": "level", "assignee": "org_unit"},
        doc="Record the minutes, the lead department and one action per department with its due time.")
    sp, inner = p.subprocess(
        "carry_out_actions", "落实决议事项", 790, dep + 40, 480, 270,
        loop=mi_loop("actions", "action", "action_results", "action_result"),
        doc="One instance per action of the resolution, in parallel.")
    iy = dep + 150
    i_start = inner.start("action_start", "", 830, iy)
    carry = inner.user_task(
        "carry_out_action", "落实任务", 950, iy,
        props={"formJsonSchemaFilename": "carry_out_action.schema.json", "task_kind": "carry_out_action",
               "assignee": "action_department"},
        doc="The department carries out its action and reports the result.")
    overdue = inner.boundary(
        "timer_action_overdue", "任务逾期", carry, 30,
        timer=("timeDate", 'action["due_at"]'), cancel=False,
        props={"timer_kind": "action_overdue"}, label="right")
    i_end_overdue = inner.end("end_action_overdue", "已逾期", overdue.cx, dep + 260, label="right")
    collect = inner.script_task(
        "collect_action_result", "记录落实结果", 1110, iy,
        'action_result = {"department": action["department"], "action": action["action"], "result": result}')
    i_end = inner.end("action_end", "", 1230, iy)
    confirm = p.user_task(
        "confirm_outcome", "确认成效", 1370, yc,
        props={"formJsonSchemaFilename": "confirm_outcome.schema.json", "task_kind": "confirm_outcome",
               "level_var": "level", "assignee": "org_unit"},
        doc="The coordinator confirms the outcome of the meeting's actions.")
    end = p.end("end_meeting", "会议办结", 1500, yc)

    p.flow("flow_start", start, deadline, [start.right(), deadline.left()])
    p.flow("flow_summoned", deadline, report, [deadline.right(), (report.cx, yc), report.top()])
    p.flow("flow_late", late, end_late, [late.bottom(), end_late.top()])
    p.flow("flow_reported", report, resolution,
           [report.right(), (resolution.cx, report.cy), resolution.bottom()])
    p.flow("flow_resolved", resolution, sp, [resolution.right(), (sp.x + 50, yc), (sp.x + 50, sp.y)])
    p.flow("flow_carried_out", sp, confirm, [sp.right(), (confirm.cx, sp.cy), confirm.bottom()])
    p.flow("flow_confirmed", confirm, end, [confirm.right(), end.left()])
    inner.flow("flow_action_start", i_start, carry, [i_start.right(), carry.left()])
    inner.flow("flow_action_overdue", overdue, i_end_overdue, [overdue.bottom(), i_end_overdue.top()])
    inner.flow("flow_action_done", carry, collect, [carry.right(), collect.left()])
    inner.flow("flow_action_end", collect, i_end, [collect.right(), i_end.left()])
    return d


# --------------------------------------------------------------------------------------------
# category_routing (DMN)
# --------------------------------------------------------------------------------------------

CATEGORIES = [
    # code, name, default department, time limit
    ("drain_blocked", "下水管道堵塞", "housing", "P5D"),
    ("road_damage", "道路破损、树木倒伏", "urban", "P3D"),
    ("dangerous_wiring", "私拉乱接、飞线充电", "fire", "P3D"),
    ("exposed_rubbish", "暴露垃圾、积存垃圾", "sanitation", "P2D"),
    ("illegal_parking", "违章停车", "police", "P1D"),
    ("stall_occupation", "占道经营", "urban", "P1D"),
    ("illegal_construction", "违法建设", "enforcement", "P15D"),
    ("fire_hazard", "消防安全隐患", "fire", "P3D"),
    ("epidemic_report", "疫情防控报告", "civil", "P1D"),
    ("elderly_assistance", "老人帮扶", "civil", "P3D"),
    ("neighbour_dispute", "邻里纠纷", "civil", "P5D"),
]


def limit_class(limit: str) -> str:
    days = int(limit[1:-1])
    return "urgent" if days <= 1 else "normal" if days <= 5 else "long"


def category_routing() -> str:
    dmn = "https://www.omg.org/spec/DMN/20191111/MODEL/"
    dmndi = "https://www.omg.org/spec/DMN/20191111/DMNDI/"
    dc = "http://www.omg.org/spec/DMN/20180521/DC/"
    ET.register_namespace("", dmn)
    ET.register_namespace("dmndi", dmndi)
    ET.register_namespace("dc", dc)
    try:
        def e(parent, tag, text=None, ns=dmn, **attrs):
            el = ET.SubElement(parent, f"{{{ns}}}{tag}", attrs)
            if text is not None:
                el.text = text
            return el

        defs = ET.Element(f"{{{dmn}}}definitions", {
            "id": "category_routing_definitions", "name": "类别路由",
            "namespace": "http://gridlink.example/dmn",
            "exporter": "gridlink scripts/gen_diagrams.py", "exporterVersion": "1"})
        decision = e(defs, "decision", id="category_routing", name="类别路由")
        e(decision, "description",
          "Category code -> default department and time-limit class (urgent: 1 day, normal: 2-5 days, "
          "long: more). FIRST hit: the last rule catches unknown categories.")
        table = e(decision, "decisionTable", id="category_routing_table", hitPolicy="FIRST")
        inp = e(table, "input", id="input_category", label="类别 category")
        expr = e(inp, "inputExpression", id="input_category_expression", typeRef="string")
        e(expr, "text", "category")
        e(table, "output", id="output_department", label="建议部门 suggested_department",
          name="suggested_department", typeRef="string")
        e(table, "output", id="output_limit_class", label="时限类别 limit_class", name="limit_class",
          typeRef="string")
        rows = [(f'"{code}"', f'"{dept}"', f'"{limit_class(limit)}"', f"{name} ({limit})")
                for code, name, dept, limit in CATEGORIES]
        rows.append(("-", '""', '"normal"', "其他类别 (any other category)"))
        for i, (cell, dept, cls, note) in enumerate(rows, start=1):
            rule = e(table, "rule", id=f"rule_{i}")
            e(rule, "description", note)
            e(e(rule, "inputEntry", id=f"rule_{i}_category"), "text", cell)
            e(e(rule, "outputEntry", id=f"rule_{i}_department"), "text", dept)
            e(e(rule, "outputEntry", id=f"rule_{i}_limit_class"), "text", cls)
        di = e(defs, "DMNDI", ns=dmndi)
        diagram = e(di, "DMNDiagram", ns=dmndi, id="category_routing_diagram")
        shape = e(diagram, "DMNShape", ns=dmndi, id="category_routing_di", dmnElementRef="category_routing")
        e(shape, "Bounds", ns=dc, height="80", width="180", x="160", y="100")
        ET.indent(defs, space="  ")
        return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(defs, encoding="unicode") + "\n"
    finally:
        ET.register_namespace("bpmn", NS["bpmn"])


# --------------------------------------------------------------------------------------------
# Form schemas (JSON Schema draft 2020-12)
# --------------------------------------------------------------------------------------------

DRAFT = "https://json-schema.org/draft/2020-12/schema"
TEXT = {"type": "string", "minLength": 1}
# A date-time with a time zone. The pattern holds even where no format checker is installed: due_at
# becomes a timeDate timer, which needs a tz-aware ISO string.
DATE_TIME = {"type": "string", "format": "date-time",
             "pattern": r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$"}


def s(title, base=None, **more):
    out = {"title": title}
    out.update(base or {"type": "string"})
    out.update(more)
    return out


def when(decision, required):
    return {"if": {"properties": {"decision": {"const": decision}}, "required": ["decision"]},
            "then": {"required": required}}


def form(name, title, properties, required, all_of=None, description=None):
    schema = {"$schema": DRAFT, "$id": name, "title": title}
    if description:
        schema["description"] = description
    schema.update({"type": "object", "properties": properties, "required": required})
    if all_of:
        schema["allOf"] = all_of
    return schema


PHOTOS = s("照片", {"type": "array", "items": {"type": "string", "minLength": 1}},
           description="Uploaded photo references")
DEPARTMENTS = s("部门", {"type": "array", "items": {"type": "string", "minLength": 1}, "minItems": 1,
                         "uniqueItems": True}, description="Department codes")
HANDLE_FIELDS = {
    "result": s("处置结果", TEXT),
    "photos": PHOTOS,
    "reason": s("上报理由", TEXT),
    "departments": DEPARTMENTS,
    "instructions": s("派遣要求", TEXT),
    "scheduled_at": s("会议时间", DATE_TIME),
    "place": s("会议地点", TEXT),
    "topic": s("会议议题", TEXT),
    "urgency": s("紧急程度", {"type": "string", "enum": ["routine", "tough", "emergency"]},
                 description="routine 一般 / tough 疑难 / emergency 紧急"),
    "org_unit": s("指派单位", TEXT, description="Code of an org unit below the handler's"),
}
HANDLE_RULES = {
    "resolve": ["result"],
    "escalate": ["reason"],
    "dispatch": ["departments", "instructions"],
    "convene": ["departments", "scheduled_at", "place", "topic", "urgency"],
    "assign_down": ["org_unit"],
}
DECISION_ZH = {"resolve": "办结", "escalate": "上报", "dispatch": "派遣部门", "convene": "吹哨召集",
               "assign_down": "指派下级"}


def handle_schema(name, title, decisions):
    fields = {"decision": s("处置决定", {"type": "string", "enum": decisions},
                            description=" / ".join(f"{d} {DECISION_ZH[d]}" for d in decisions))}
    used = {f for d in decisions for f in HANDLE_RULES[d]} | ({"photos"} if "resolve" in decisions else set())
    fields.update({k: v for k, v in HANDLE_FIELDS.items() if k in used})
    return form(name, title, fields, ["decision"], [when(d, HANDLE_RULES[d]) for d in decisions])


def schemas() -> dict[str, dict]:
    out = {}
    out["register.schema.json"] = form(
        "register.schema.json", "登记立案",
        {"decision": s("登记结论", {"type": "string", "enum": ["accept", "reject"]},
                       description="accept 受理 / reject 不予受理"),
         "reason": s("不予受理理由", TEXT),
         "duplicate_of": s("重复工单号", TEXT, description="Number of the case this one duplicates")},
        ["decision"], [when("reject", ["reason"])])
    out["handle_grid.schema.json"] = handle_schema(
        "handle_grid.schema.json", "网格处置", ["resolve", "escalate", "dispatch", "convene"])
    out["handle.schema.json"] = handle_schema(
        "handle.schema.json", "工单处置", ["resolve", "escalate", "dispatch", "convene", "assign_down"])
    out["handle_district.schema.json"] = handle_schema(
        "handle_district.schema.json", "区中心处置", ["resolve", "dispatch", "convene", "assign_down"])
    out["verify.schema.json"] = form(
        "verify.schema.json", "核查结案",
        {"decision": s("核查结论", {"type": "string", "enum": ["approve", "rework"]},
                       description="approve 通过结案 / rework 退回重办"),
         "comment": s("核查意见")},
        ["decision"], [{"if": {"properties": {"decision": {"const": "rework"}}, "required": ["decision"]},
                        "then": {"required": ["comment"], "properties": {"comment": TEXT}}}])
    out["dept_accept.schema.json"] = form(
        "dept_accept.schema.json", "部门签收",
        {"decision": s("签收结论", {"type": "string", "enum": ["accept", "return"]},
                       description="accept 签收 / return 退回"),
         "reason": s("退回理由", TEXT)},
        ["decision"], [when("return", ["reason"])])
    out["dept_result.schema.json"] = form(
        "dept_result.schema.json", "部门处置反馈",
        {"result": s("处置结果", TEXT), "photos": PHOTOS}, ["result"])
    out["report_to_duty.schema.json"] = form(
        "report_to_duty.schema.json", "部门报到",
        {"delegate": s("报到人员", TEXT, description="Name of who attends the meeting")}, ["delegate"])
    out["resolution.schema.json"] = form(
        "resolution.schema.json", "会议决议",
        {"minutes": s("会议纪要", TEXT),
         "lead_department": s("牵头部门", TEXT),
         "actions": s("分工任务", {
             "type": "array", "minItems": 1,
             "items": {"type": "object", "title": "任务",
                       "properties": {
                           "department": s("责任部门", TEXT),
                           "action": s("任务内容", TEXT),
                           "due_at": s("完成时限", DATE_TIME),
                           "phase": s("阶段", {"type": "string",
                                               "enum": ["survey", "preliminary", "concentrated"]},
                                      description="survey 摸清底数 / preliminary 先期整改 / "
                                                  "concentrated 集中整治")},
                       "required": ["department", "action", "due_at"]}})},
        ["minutes", "lead_department", "actions"])
    out["carry_out_action.schema.json"] = form(
        "carry_out_action.schema.json", "落实任务",
        {"result": s("落实情况", TEXT), "photos": PHOTOS}, ["result"])
    out["confirm_outcome.schema.json"] = form(
        "confirm_outcome.schema.json", "确认成效", {"comment": s("成效意见")}, [])
    return out


# --------------------------------------------------------------------------------------------

def outputs() -> dict[str, str]:
    files = {}
    problems = []
    for diagram in (case_handling(), department_dispatch(), joint_meeting()):
        problems += check_overlaps(diagram)
        files[f"{diagram.process_id}.bpmn"] = diagram.render()
    if problems:
        raise SystemExit("layout problems:\n" + "\n".join(problems))
    files["category_routing.dmn"] = category_routing()
    for name, schema in schemas().items():
        files[name] = json.dumps(schema, ensure_ascii=False, indent=2) + "\n"
    return files


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if a file in bpmn/ is not up to date")
    args = parser.parse_args(argv)
    stale = []
    for name, text in outputs().items():
        path = OUT / name
        if args.check:
            if not path.exists() or path.read_text(encoding="utf-8") != text:
                stale.append(name)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
    if stale:
        print("out of date (run scripts/gen_diagrams.py):", ", ".join(stale), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
