"""The standard figures (CJ/T 292 and the 数字城管 practice), each defined once.

``STANDARD`` is the registry: every figure has its key (the name in ``GET /api/v1/metrics``), its
Chinese name, its formula in words and a docstring with a worked example, and a function from the
raw sums that ``metrics.collect`` gathers to the value. The dashboard, the API, the exports and the
monthly report all read the figures through ``standard_figures`` and label them from ``STANDARD``.

The base is the registered case (立案): a report the centre verified and registered. Patrol
reports nobody registered, rejected and merged reports and on-the-spot self-closed orders
(自办结工单) are *reported* (上报数) but never registered, so they are never due for closure;
therefore 立案数 >= 应结案数 >= 结案数 always holds for a cohort.

Raw sums read here (all counted over the cohort of cases reported in the period):
``received``, ``registered_all`` (registration happened), ``registered_on_time``, ``reg_closed``,
``reg_closed_late``, ``reg_past_due``, ``reg_reworked``, ``self_closed_on_spot``, ``dispatched``,
``returned``, ``handled``, ``handled_on_time``, ``dispatch_past_due``, ``extended``,
``suspended``, ``suspended_past_due``, ``callbacks``, ``satisfied``, ``duty_due``, ``duty_on_time``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

REGISTRATION_LIMIT = timedelta(hours=2)
"""按时立案: a report registered within this long of being reported (the usual 数字城管 limit)."""

EXTENSION_KIND, SUSPENDED_KIND, CALLBACK_KIND = "extension_granted", "suspended", "callback"
"""The timeline kinds (PRODUCT.md) that extensions, suspensions and call-backs are recorded as."""


def ratio(numerator: float, denominator: float) -> float | None:
    """numerator / denominator rounded to 4 places; None when nothing is in the denominator."""
    return round(numerator / denominator, 4) if denominator else None


@dataclass(frozen=True)
class Figure:
    key: str
    name: str
    formula: str
    doc: str
    compute: Callable[[Mapping[str, float]], Any]
    rate: bool = False


def _n(sums: Mapping[str, float], key: str) -> int:
    return int(sums.get(key, 0) or 0)


def reported(s):
    """上报数: every case reported in the period, whatever became of it.
    Example: 10 reports (2 self-closed on the spot, 1 rejected, 7 registered) -> 10."""
    return _n(s, "received")


def registered(s):
    """立案数: reports the centre registered, less those suspended (挂账) and still open.
    Example: 7 registered, 1 of them suspended -> 6."""
    return _n(s, "registered_all") - _n(s, "suspended")


def registered_on_time(s):
    """按时立案数: registered within REGISTRATION_LIMIT (2 h) of the report.
    Example: 7 registered, 5 within 2 h -> 5."""
    return _n(s, "registered_on_time")


def dispatched(s):
    """派遣数: dispatches to departments of the period's cases. Example: 4 dispatches -> 4."""
    return _n(s, "dispatched")


def dispatched_accurately(s):
    """准确派遣数: dispatches the department did not return as not its work.
    Example: 4 dispatches, 1 returned -> 3."""
    return _n(s, "dispatched") - _n(s, "returned")


def handled_on_time(s):
    """按期处置数: dispatches accepted and reported back within their limits.
    Example: 3 results reported, 1 of them late -> 2."""
    return _n(s, "handled_on_time")


def due_for_handling(s):
    """应处置数: dispatches reported back plus those still unhandled past a limit.
    Example: 3 reported + 1 unhandled past due -> 4."""
    return _n(s, "handled") + _n(s, "dispatch_past_due")


def due_for_closure(s):
    """应结案数: registered cases that closed, or are open with their time limit passed, less the
    suspended ones among them. Example: 4 closed + 2 open past due, 1 of those suspended -> 5."""
    return _n(s, "reg_closed") + _n(s, "reg_past_due") - _n(s, "suspended_past_due")


def closed(s):
    """结案数: registered cases closed (self-closed orders are counted in self_closed, not here).
    Example: 4 registered cases closed, 2 self-closed orders -> 4."""
    return _n(s, "reg_closed")


def closed_on_time(s):
    """按期结案数: closed registered cases with no level charged an overdue (upheld appeals removed).
    Example: 4 closed, 1 ran late at the community -> 3."""
    return _n(s, "reg_closed") - _n(s, "reg_closed_late")


def reworked(s):
    """返工数: due-for-closure cases the verifier sent back at least once. Example: 1 -> 1."""
    return _n(s, "reg_reworked")


def extended(s):
    """延期数: cases with a granted extension (timeline kind ``extension_granted``). These entries
    come with the governance issue; the figure counts them from the day they are written.
    Example: 1 case granted a new due date -> 1."""
    return _n(s, "extended")


def suspended(s):
    """挂账数: registered cases still open with a ``suspended`` timeline entry (挂账/缓办, granted by the
    level above; written once the governance issue lands, counted from then). Example: 1 -> 1."""
    return _n(s, "suspended")


def self_closed(s):
    """自办结数: the grid team's on-the-spot orders only (reported already fixed and closed), not
    hotline orders sent down or work a grid dispatched. Example: 2 on-the-spot orders -> 2."""
    return _n(s, "self_closed_on_spot")


def callbacks(s):
    """回访数: cases with a call-back (timeline kind ``callback``, written by the governance issue's
    call-back step; counted from then). Example: 5 hotline cases called back -> 5."""
    return _n(s, "callbacks")


def satisfied(s):
    """回访满意数: call-backs whose caller said satisfied (``callback`` entry with data
    ``satisfied: true``). Example: 5 call-backs, 4 satisfied -> 4."""
    return _n(s, "satisfied")


def _rate(numerator: Callable, denominator: Callable) -> Callable[[Mapping[str, float]], float | None]:
    return lambda s: ratio(numerator(s), denominator(s))


STANDARD: tuple[Figure, ...] = (
    Figure("reported", "上报数", "all reports of the period", reported.__doc__, reported),
    Figure("registered", "立案数", "registered - suspended", registered.__doc__, registered),
    Figure("registered_on_time", "按时立案数", "registered within 2 h", registered_on_time.__doc__,
           registered_on_time),
    Figure("dispatched", "派遣数", "dispatches", dispatched.__doc__, dispatched),
    Figure("dispatched_accurately", "准确派遣数", "dispatched - returned", dispatched_accurately.__doc__,
           dispatched_accurately),
    Figure("handled_on_time", "按期处置数", "results reported within limits", handled_on_time.__doc__,
           handled_on_time),
    Figure("due_for_closure", "应结案数", "closed + open past due - suspended (registered)",
           due_for_closure.__doc__, due_for_closure),
    Figure("closed", "结案数", "registered and closed", closed.__doc__, closed),
    Figure("closed_on_time", "按期结案数", "closed - closed late", closed_on_time.__doc__, closed_on_time),
    Figure("reworked", "返工数", "due cases sent back", reworked.__doc__, reworked),
    Figure("extended", "延期数", "cases with extension_granted", extended.__doc__, extended),
    Figure("suspended", "挂账数", "open registered cases with suspended", suspended.__doc__, suspended),
    Figure("self_closed", "自办结数", "on-the-spot orders", self_closed.__doc__, self_closed),
    Figure("callbacks", "回访数", "cases called back", callbacks.__doc__, callbacks),
    Figure("satisfied", "回访满意数", "call-backs satisfied", satisfied.__doc__, satisfied),
    Figure("registration_on_time_rate", "按时立案率", "registered_on_time / (registered + suspended)",
           "Example: 5 of 7 registered in time -> 0.7143.",
           _rate(registered_on_time, lambda s: _n(s, "registered_all")), rate=True),
    Figure("dispatch_accuracy_rate", "准确派遣率", "dispatched_accurately / dispatched",
           "Example: 3 of 4 not returned -> 0.75.", _rate(dispatched_accurately, dispatched), rate=True),
    Figure("handling_on_time_rate", "按期处置率", "handled_on_time / due_for_handling",
           "Example: 2 on time of 3 reported + 1 past due -> 0.5.", _rate(handled_on_time, due_for_handling),
           rate=True),
    Figure("closure_rate", "结案率", "closed / due_for_closure",
           "Example (Lianyungang 12345, April 2017): 23,974 / 24,932 -> 0.9616.", _rate(closed, due_for_closure),
           rate=True),
    Figure("on_time_closure_rate", "按期结案率", "closed_on_time / due_for_closure",
           "Example (Lianyungang 12345, April 2017): 22,345 / 24,932 -> 0.8962.",
           _rate(closed_on_time, due_for_closure), rate=True),
    Figure("rework_rate", "返工率", "reworked / due_for_closure", "Example: 1 of 5 due -> 0.2.",
           _rate(reworked, due_for_closure), rate=True),
    Figure("self_closed_rate", "自办结率", "self_closed / reported", "Example: 2 of 10 reports -> 0.2.",
           _rate(self_closed, reported), rate=True),
    Figure("satisfaction_rate", "回访满意率", "satisfied / callbacks", "Example: 4 of 5 -> 0.8.",
           _rate(satisfied, callbacks), rate=True),
    Figure("duty_on_time_rate", "报到按时率", "duty_on_time / duty_due (吹哨报到)",
           "Example: 3 departments summoned, 2 reported in time, 1 late -> 0.6667.",
           _rate(lambda s: _n(s, "duty_on_time"), lambda s: _n(s, "duty_due")), rate=True),
)

BY_KEY = {figure.key: figure for figure in STANDARD}
COUNT_KEYS = tuple(f.key for f in STANDARD if not f.rate)
RATE_KEYS = tuple(f.key for f in STANDARD if f.rate)


def standard_figures(sums: Mapping[str, float]) -> dict[str, Any]:
    """Every standard figure, by key, from one group's raw sums."""
    return {figure.key: figure.compute(sums) for figure in STANDARD}


def label(key: str) -> str:
    """The Chinese name of a standard figure (the exports' column heads, the dashboard's labels)."""
    return BY_KEY[key].name
