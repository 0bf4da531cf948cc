"""What a message says, worded at send time from the case as it then is.

The installation speaks Chinese, so the texts are a plain catalogue of Chinese templates (the
worker runs outside any request, where Flask-Babel has no locale); times are Beijing time with
the zone named. A kind without its own template falls back to the in-app wording.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from workflows.clock import LOCAL_TZ

BRAND = "网格联动"

USER_KINDS = ("new_task", "reminder", "overdue", "rework", "returned_dispatch", "closed")
"""The kinds of notification a user may receive on e-mail or SMS (``records.notify`` kinds)."""

REPORTER_KINDS = ("case_reported", "case_closed", "case_rejected")
"""What a reporter hears: the case number (and query code) on receipt, then the outcome."""

EVENT_KINDS = USER_KINDS + REPORTER_KINDS
"""The event kinds a webhook can filter on."""

KIND_NAMES = {"new_task": "新任务", "reminder": "催办", "overdue": "逾期", "rework": "返工",
              "returned_dispatch": "派遣退回", "closed": "已结案", "case_reported": "已受理",
              "case_closed": "已办结", "case_rejected": "不予受理"}

_TEMPLATES = {
    "new_task": "新任务：{task}，案件 {number}「{title}」，请及时处理。",
    "reminder": "催办：{task}（案件 {number}「{title}」）将于 {due}到期，请尽快处理。",
    "overdue": "逾期：案件 {number}「{title}」已超过处置时限。",
    "closed": "已结案：案件 {number}「{title}」。",
    "case_reported": "您反映的问题「{title}」已收到，案件编号 {number}{query}。我们处理后会再通知您。",
    "case_closed": "您反映的问题「{title}」（案件 {number}）已办结：{outcome}。感谢您的监督。",
    "case_rejected": "您反映的问题「{title}」（案件 {number}）未予受理：{outcome}。如有疑问请致电 12345。",
}


@dataclass(frozen=True)
class CaseFacts:
    """What a text may say about a case, read when the message is sent."""

    number: str
    title: str
    status: str
    outcome: str | None


@dataclass(frozen=True)
class Text:
    subject: str
    body: str


def local_time(moment: datetime | str | None) -> str:
    """``2026-11-03 09:29（北京时间）`` for a tz-aware time (or its ISO text)."""
    if moment is None:
        return "—"
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    zone = "北京时间" if str(LOCAL_TZ) == "Asia/Shanghai" else str(LOCAL_TZ)
    return f"{moment.astimezone(LOCAL_TZ):%Y-%m-%d %H:%M}（{zone}）"


def word(kind: str, case: CaseFacts | None, data: dict, fallback: str) -> Text:
    """The subject and text of a message of ``kind``."""
    template = _TEMPLATES.get(kind)
    values = _values(case, data)
    try:
        body = template.format(**values) if template and case is not None else fallback
    except KeyError:  # a row written without the data the template needs
        body = fallback
    subject = f"【{BRAND}】{KIND_NAMES.get(kind, kind)}" + (f" {case.number}" if case else "")
    return Text(subject=subject, body=f"【{BRAND}】{body}")


def _values(case: CaseFacts | None, data: dict) -> dict:
    values = {k: v for k, v in data.items() if isinstance(v, str)}
    if "due_at" in data:
        values["due"] = local_time(data["due_at"])
    if case is not None:
        values.update(number=case.number, title=case.title,
                      query=f"，查询码 {data['query_code']}，可在“进度查询”页凭编号和查询码查看进度"
                      if data.get("query_code") else "，可在“进度查询”页凭编号查看进度",
                      outcome=case.outcome or ("已办结" if case.status == "closed" else "不符合受理条件"))
    return values
