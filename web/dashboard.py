"""The command centre: the big screen (/dashboard), its JSON (/dashboard/data.json), the composite-score
weights (/dashboard/weights, admins) and the exports (/exports/...).

Everything is scoped to the viewer's area: a leader or coordinator with an org unit sees that
unit's subtree (and may narrow it further with ``?unit=``), an admin or a leader without a unit
sees the whole district.
"""

from __future__ import annotations

from flask import Blueprint, Response, flash, jsonify, redirect, render_template, request, url_for
from flask_login import current_user

from workflows.errors import DomainError
from workflows.evaluation import dashboard as board
from workflows.evaluation import exports, metrics

from .auth import roles_required
from .i18n import error_text
from .system import current_system

bp = Blueprint("dashboard", __name__)

VIEWERS = ("leader", "admin", "coordinator")
REFRESH_SECONDS = 15

# The big screen's words, in the two languages of the app: (中文, English).
TEXT = {
    "title": ("网格化联动指挥中心", "Grid linkage command centre"),
    "whole": ("全辖区", "Whole district"),
    "open_total": ("在办工单", "Open cases"),
    "open_past_due": ("超期未结", "Open past due"),
    "received_today": ("今日受理", "Received today"),
    "closed_today": ("今日结案", "Closed today"),
    "received": ("受理数", "Received"),
    "due_for_closure": ("应结案数", "Due for closure"),
    "closure_rate": ("结案率", "Closure rate"),
    "on_time_closure_rate": ("按期结案率", "On-time closure"),
    "self_closed_rate": ("自办结率", "Self-closed on the spot"),
    "grid_share": ("网格结案占比", "Closed in the grid"),
    "rework_rate": ("返工率", "Rework rate"),
    "avg_rating": ("平均评价（1-5分）", "Rating (1-5)"),
    "score": ("综合得分", "Score"),
    "by_level": ("在办工单层级分布", "Open cases by level"),
    "by_status": ("在办状态", "Open by status"),
    "closed_share": ("结案层级占比 · 小事不出网格", "Where cases close · small matters stay in the grid"),
    "per_day": ("近30日受理与结案", "Received and closed, last 30 days"),
    "categories": ("高发问题类别", "Top categories"),
    "overdue": ("超期工单", "Overdue cases"),
    "departments": ("部门考核榜", "Department league table"),
    "red": ("红榜", "Red list"),
    "black": ("黑榜", "Black list"),
    "red_black": ("社区红黑榜", "Community red/black list"),
    "number": ("工单编号", "Case"),
    "category": ("类别", "Category"),
    "unit": ("承办单位", "Unit"),
    "hours": ("超期时长", "Overdue by"),
    "days_unit": ("天", "d"),
    "hours_unit": ("小时", "h"),
    "department": ("部门", "Department"),
    "dispatched": ("派遣", "Dispatched"),
    "handling_rate": ("办结率", "Handled"),
    "handling_on_time_rate": ("按期处置率", "On time"),
    "grade": ("等级", "Grade"),
    "community": ("社区", "Community"),
    "updated": ("更新于", "Updated"),
    "export_cases": ("导出工单", "Export cases"),
    "export_report": ("月度考核报告", "Monthly report"),
    "weights": ("考核权重", "Score weights"),
    "none": ("暂无", "None"),
    "received_series": ("受理", "Received"),
    "closed_series": ("结案", "Closed"),
    "period": ("统计周期", "Period"),
    "scope": ("范围", "Area"),
    "apply": ("查看", "Show"),
    "overdue_count": ("超期次数", "Overdues"),
    "this_month_live": ("本月数据实时更新", "This month is live"),
    "last_month": ("上月报告", "Last month's report"),
    "published_v": ("已发布冻结 · 第{v}版", "published and frozen · version {v}"),
    "not_published": ("未发布（实时）", "not published (live)"),
    "publish": ("发布上月报告", "Publish last month"),
    "inspections": ("检查得分", "Inspection scores"),
    "reissue": ("重新发布", "Re-issue"),
    "reason": ("重新发布原因", "Reason for re-issue"),
}
PERIOD_TEXT = {"today": ("今日", "Today"), "week": ("本周", "This week"), "month": ("本月", "This month"),
               "year": ("本年", "This year")}
LEVEL_TEXT = {"grid": ("网格", "Grid"), "community": ("社区", "Community"), "workstation": ("工作站", "Workstation"),
              "subcentre": ("分中心", "Sub-centre"), "district": ("区中心", "District")}
COMPONENT_TEXT = {"closure": ("结案率", "Closure"), "on_time": ("按期率", "On time"),
                  "no_rework": ("1 - 返工率", "1 - rework"), "satisfaction": ("回访满意率", "Satisfaction"),
                  "registration": ("按时立案率", "Registered on time"), "handling": ("办结率", "Handled"),
                  "duty": ("报到按时率", "Duty on time"), "self_closed": ("自办结率", "Self-closed on the spot")}
SUBJECT_TEXT = {"unit": ("社区及以上单位", "Communities and units"), "department": ("职能部门", "Departments"),
                "grid": ("网格（网格长星级）", "Grid teams (leaders' stars)")}
INSPECTION_TEXT = {"self_check": ("自查", "Self-check"), "monthly_inspection": ("月度检查", "Monthly inspection"),
                   "third_party": ("第三方测评", "Third-party assessment"), "spot_check": ("随机抽查", "Spot check")}


def _lang() -> int:
    from flask_babel import get_locale

    return 0 if str(get_locale() or "zh").startswith("zh") else 1


def texts() -> dict[str, str]:
    index = _lang()
    words = {key: pair[index] for key, pair in TEXT.items()}
    words.update({f"period_{key}": pair[index] for key, pair in PERIOD_TEXT.items()})
    words.update({f"level_{key}": pair[index] for key, pair in LEVEL_TEXT.items()})
    words["lang"] = ("zh", "en")[index]
    return words


def _percent(value: str):
    """A weight typed in percent as a share (the text itself when it is not a number, for the error)."""
    try:
        return float(value) / 100
    except (TypeError, ValueError):
        return value


def _viewer_unit() -> str | None:
    return None if current_user.role == "admin" else current_user.org_unit


def _load(args) -> dict:
    return board.load_dashboard(current_system(), viewer_unit=_viewer_unit(), unit=args.get("unit") or None,
                                period=args.get("period") or "month")


def _refresh_seconds() -> int:
    """Seconds between refreshes: ``?refresh=`` (2..300), else 15 s (2 min for the whole year, a heavier query)."""
    default = 120 if request.args.get("period") == "year" else REFRESH_SECONDS
    try:
        return max(2, min(300, int(request.args.get("refresh", default))))
    except ValueError:
        return default


@bp.get("/dashboard")
@roles_required(*VIEWERS)
def index():
    data = _load(request.args)
    return render_template("dashboard/index.html", data=data, t=texts(), refresh=_refresh_seconds(),
                           unit=request.args.get("unit") or "", period=data["period"]["key"])


@bp.get("/dashboard/data.json")
@roles_required(*VIEWERS)
def data_json():
    return jsonify(_load(request.args))


@bp.route("/dashboard/weights", methods=["GET", "POST"])
@roles_required("admin")
def weights():
    system = current_system()
    error = None
    if request.method == "POST":
        subject = request.form.get("subject", "")
        values = {c: _percent(request.form.get(f"{subject}.{c}", ""))
                  for c in metrics.DEFAULT_WEIGHTS.get(subject, {})}
        try:
            metrics.set_weights(system, subject, values)
        except DomainError as exc:
            error = error_text(exc)
        else:
            flash(("考核权重已保存", "Weights saved")[_lang()], "success")
            return redirect(url_for("dashboard.weights"))
    current = metrics.all_weights(system)
    labels = {key: pair[_lang()] for key, pair in COMPONENT_TEXT.items()}
    subjects = {key: pair[_lang()] for key, pair in SUBJECT_TEXT.items()}
    return render_template("dashboard/weights.html", weights=current, labels=labels, subjects=subjects,
                           error=error, t=texts()), \
        (422 if error else 200)


def _download(content: bytes, filename: str, fmt: str) -> Response:
    response = Response(content, mimetype=exports.EXPORT_FORMATS[fmt].split(";")[0])
    if fmt == "csv":
        response.headers["Content-Type"] = exports.EXPORT_FORMATS["csv"]
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/evaluation/inspections", methods=["GET", "POST"])
@roles_required(*VIEWERS)
def inspections():
    """The centre enters the communities' inspection scores of a month (自查, 月度检查, 第三方测评, 随机抽查)."""
    system = current_system()
    month = request.values.get("month") or board.last_month()
    error = None
    if request.method == "POST":
        try:
            board.save_inspections(system, current_user.username, month, request.form)
        except DomainError as exc:
            error = error_text(exc)
        else:
            flash(("检查得分已保存", "Inspection scores saved")[_lang()], "success")
            return redirect(url_for("dashboard.inspections", month=month))
    rows = board.inspection_rows(system, _viewer_unit(), month)
    kinds = {key: pair[_lang()] for key, pair in INSPECTION_TEXT.items()}
    return render_template("dashboard/inspections.html", rows=rows, kinds=kinds, month=month, error=error,
                           t=texts()), (422 if error else 200)


@bp.post("/dashboard/publish")
@roles_required(*VIEWERS)
def publish():
    """Publish (freeze) last month's report for the viewer's area; a re-issue needs a reason."""
    try:
        stamp = board.publish_report(current_system(), current_user.username, _viewer_unit(),
                                     request.form.get("unit") or None, request.form.get("month"),
                                     request.form.get("reason"))
    except DomainError as exc:
        flash(error_text(exc), "error")
    else:
        flash(("月度考核报告已发布（第{v}版），数字已冻结", "Report published (version {v}); its figures are frozen")
              [_lang()].format(v=stamp["version"]), "success")
    return redirect(url_for("dashboard.index", unit=request.form.get("unit") or None))


@bp.get("/exports/cases.<fmt>")
@roles_required(*VIEWERS)
def export_cases(fmt: str):
    filters = {key: value for key, value in request.args.items() if key in exports.CASE_FILTERS}
    content, filename = exports.export_cases(current_system(), fmt, filters, _viewer_unit())
    return _download(content, filename, fmt)


@bp.get("/exports/monthly-report.<fmt>")
@roles_required(*VIEWERS)
def export_monthly_report(fmt: str):
    content, filename = exports.export_monthly_report(current_system(), fmt, request.args.get("month"),
                                                      _viewer_unit(), request.args.get("unit") or None)
    return _download(content, filename, fmt)
