"""Chinese everywhere the user is Chinese: every page of the app (its url_map walked with sample
arguments, as each role), every error a page words, every timeline note and the rate-limit page,
rendered in zh, show no Latin-only sentence outside codes, names, numbers and units.

The heuristic: a text node (or a title/placeholder/aria-label) holding three or more Latin words
in a row is an untranslated sentence; codes (``case_handling``, ``PT24H``), names written in Latin
letters and text inside ``<code>``, ``<pre>``, ``<textarea>``, ``<script>`` and ``<style>`` are not.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest

from tests.web.conftest import Client, at_community, report, task_of, with_meeting

ROLES = ["anonymous", "admin", "leader", "coord-hq-c04", "gw-hq-c04-g03", "dept-fire"]
SKIPPED_ELEMENTS = {"code", "pre", "textarea", "script", "style", "kbd", "samp"}
VOID_ELEMENTS = {"br", "img", "input", "meta", "link", "hr", "source", "wbr"}
LATIN_RUN = re.compile(r"(?<![\w./:@-])[A-Za-z][a-z]+(?:[ ,;:'’]+[A-Za-z][a-z]+(?![\w./@-])){2,}")
"""Three Latin words in a row, none of them part of a code (``a_b``, ``a.b``, ``a-b``, ``a/b``)."""
NAMES = {"Leaflet", "OpenStreetMap", "SpiffWorkflow", "gridlink", "Open311"}
"""Proper names a Chinese page may show in Latin letters."""


class _Texts(HTMLParser):
    """The visible text of a page, without code-like elements and elements marked ``lang="en"``."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.skipped: list[str] = []  # the open elements being skipped, innermost last
        self.found: list[str] = []

    def handle_starttag(self, tag, attrs):
        if self.skipped or tag in SKIPPED_ELEMENTS or ("lang", "en") in attrs:
            if tag not in VOID_ELEMENTS:
                self.skipped.append(tag)
            return
        for name, value in attrs:
            if name in ("title", "placeholder", "aria-label", "alt") and value:
                self.found.append(value)

    def handle_endtag(self, tag):
        if self.skipped and self.skipped[-1] == tag:
            self.skipped.pop()

    def handle_data(self, data):
        if not self.skipped and data.strip():
            self.found.append(data)


def latin_sentences(text: str, html: bool = True) -> list[str]:
    """The runs of three or more Latin words in the visible text of a page (or a plain message)."""
    if html:
        parser = _Texts()
        parser.feed(text)
        pieces = parser.found
    else:
        pieces = [text]
    runs = []
    for piece in pieces:
        for found in LATIN_RUN.finditer(piece):
            words = re.findall(r"[A-Za-z]+", found.group())
            if len([w for w in words if w not in NAMES]) >= 3:
                runs.append(found.group())
    return runs


def test_the_heuristic_catches_english_sentences_and_lets_codes_and_names_pass():
    assert latin_sentences("<p>process case_handling moved from version 1 to 3</p>") == ["moved from version"]
    assert latin_sentences("<p>task 12 is claimed by gw: ask them to release it</p>")
    assert latin_sentences('<input placeholder="please correct the fields">')
    assert not latin_sentences("<p>流程 case_handling 由第 1 版迁移到第 3 版</p>")
    assert not latin_sentences("<p>时限 PT24H · 5 MB · gridlink · SpiffWorkflow</p><code>a b c d</code>")
    assert not latin_sentences("<script>var a = 'one two three';</script><p>每分钟最多 5 次</p>")
    assert not latin_sentences('<td>下水管道堵塞<br><small lang="en">Blocked drain pipe</small></td>')


@pytest.fixture(scope="module")
def samples(web_app, system):
    """A case at each step worth seeing, a meeting, a task and its id, with every timeline kind."""
    number, meeting_id = with_meeting(system)
    fresh = report(system, title="路灯不亮", category="drain_blocked")
    task = task_of(system, fresh, "register")
    _every_timeline_note(system, number)
    return {"number": number, "meeting_id": meeting_id, "task_id": task.id, "fresh": fresh,
            "process_id": "case_handling", "version": 1, "filename": "case_handling.bpmn",
            "code": "zh", "fmt": "csv"}


def _every_timeline_note(system, number: str) -> None:
    """One entry of every kind, and one of every note the system writes as data, on a case."""
    from sqlalchemy import select

    from web.i18n import LABELS, NOTES
    from workflows.cases.models import Case
    from workflows.cases.timeline import add_entry, worded

    params = {"source": "patrol", "stage": "dispatch_accept", "level": "community", "department": "fire",
              "action": "拆除飞线", "number": "2026-0001", "departments": ["fire", "housing"],
              "process": "case_handling", "from_version": 1, "to_version": 3, "batch": "b-1", "version": 1}
    with system.sessions() as session, session.begin():
        case = session.scalar(select(Case).where(Case.number == number))
        for kind in LABELS["kind"]:
            add_entry(session, case, kind, level="community")
        for key, template in NOTES.items():
            needed = re.findall(r"%\((\w+)\)s", str(template))
            add_entry(session, case, "overdue", level="community",
                      data=worded(key, **{name: params[name] for name in needed}))


def _path(rule, samples: dict) -> str | None:
    from werkzeug.routing import BuildError

    if rule.endpoint in ("static", "auth.switch_language", "auth.logout", "cases.attachment") or \
            rule.rule.startswith(("/api", "/open311")):
        return None
    values = {name: samples[name] for name in rule.arguments if name in samples}
    if set(rule.arguments) - set(values):
        return None
    try:
        return rule.build(values, append_unknown=False)[1]
    except BuildError:
        return None


MISSING_AND_WRONG = ["/cases/GL19990101-0001", "/meetings/99999", "/admin/processes/nope", "/nothing-here",
                     "/exports/cases.pdf", "/admin/processes/case_handling/versions/9/files/x.bpmn",
                     "/cases?level=nope", "/dashboard?from=bad"]
"""Pages of things that do not exist or were asked for wrongly: their 404/422 pages speak Chinese too."""


def test_every_page_as_every_role_speaks_chinese(web_app, samples):
    paths = sorted({p for rule in web_app.url_map.iter_rules() if "GET" in rule.methods
                    for p in [_path(rule, samples)] if p})
    assert len(paths) >= 30, paths
    paths += MISSING_AND_WRONG
    leaks, seen = {}, 0
    for who in ROLES:
        client = Client(web_app, None if who == "anonymous" else who)
        for path in paths:
            response = client.get(path)
            if not response.content_type.startswith("text/html") or 300 <= response.status_code < 400:
                continue  # (a redirect's body is never shown)
            seen += 1
            assert response.status_code != 500, (who, path)
            found = latin_sentences(response.get_data(as_text=True))
            if found:
                leaks[f"{who} {path} ({response.status_code})"] = found
    assert seen >= 100
    assert not leaks, "\n".join(f"{where}: {found}" for where, found in sorted(leaks.items()))


def test_every_timeline_note_is_worded_in_chinese_on_the_case_page(client_for, samples):
    from web.i18n import NOTES

    page = client_for("admin").get(f"/cases/{samples['number']}").get_data(as_text=True)
    assert not latin_sentences(page)
    for wording in ("来源：巡查", "社区处置超时", "超时自动上报至社区", "签收逾期", "决议事项逾期：拆除飞线",
                    "已结案", "并入 2026-0001", "流程 case_handling 由第 1 版迁移到第 3 版", "部门签收：时限将到"):
        assert wording in page, wording
    assert len(NOTES) >= 15


def test_a_note_written_as_free_text_before_still_shows_as_written(client_for, system, samples):
    from sqlalchemy import select

    from workflows.cases.models import Case
    from workflows.cases.timeline import add_entry

    with system.sessions() as session, session.begin():
        case = session.scalar(select(Case).where(Case.number == samples["fresh"]))
        add_entry(session, case, "reminded", level="grid", note="grid: 时限将到，请尽快处理")
    assert "grid: 时限将到，请尽快处理" in client_for("admin").get(f"/cases/{samples['fresh']}").get_data(as_text=True)


def _sample_params(template: str) -> dict:
    return {name: {"holder": "gw-hq-c04-g03", "number": "2026-0001"}.get(name, "12")
            for name in re.findall(r"%\((\w+)\)s", template)}


def test_every_error_reason_and_code_reads_in_chinese(web_app):
    from web.i18n import ERROR_CODES, ERROR_REASONS, error_text
    from workflows.errors import DomainError

    with web_app.test_request_context("/?lang=zh"):
        for reason, template in ERROR_REASONS.items():
            error = DomainError("an english message", reason=reason, params=_sample_params(str(template)))
            text = error_text(error)
            assert re.search(r"[\u4e00-\u9fff]", text) and not latin_sentences(text, html=False), (reason, text)
        for code in ERROR_CODES:
            text = error_text(DomainError("x", code=code))
            assert text.startswith(tuple(str(ERROR_CODES[code])[:4] for _ in [0])), (code, text)
            assert re.search(r"[\u4e00-\u9fff]", text), code


def test_a_task_claimed_by_someone_else_is_refused_in_chinese_without_the_fields_banner(client_for, system):
    from workflows.cases.decisions import claim

    number = at_community(system, title="井盖缺失")
    task = task_of(system, number, "handle")
    claim(system, "coord-hq-c04", task.id)
    other = client_for("coord-hq-c04-2")
    response = other.post(f"/inbox/tasks/{task.id}", {"decision": "resolve", "result": "已处理"},
                          token_from=f"/inbox/tasks/{task.id}")
    page = response.get_data(as_text=True)
    assert response.status_code in (409, 422), response.status_code
    assert "此任务已由 coord-hq-c04 领取" in page, page
    assert "claimed by" not in page and "请修改下方标出的" not in page and not latin_sentences(page)


def test_the_rate_limit_page_says_how_often_in_chinese(web_app):
    from web.errors import rate_limit_text

    with web_app.test_request_context("/?lang=zh"):
        assert rate_limit_text("5 per 1 minute") == "每分钟最多 5 次"
        assert rate_limit_text("30 per 10 minutes") == "每 10 分钟最多 30 次"
        assert rate_limit_text("100 per 1 day") == "每天最多 100 次"
    with web_app.test_request_context("/?lang=en"):
        assert rate_limit_text("5 per 1 minute") == "at most 5 per minute"


def test_the_page_past_the_rate_limit_says_the_limit_in_chinese(tmp_path):
    from tests.apps import make_app

    app = make_app(tmp_path, "zh-ratelimit", diagrams=False, RATE_LIMITS=True)
    client = app.test_client()
    for _ in range(200):  # 60 a minute (a window may begin during the loop)
        response = client.get("/report")
        if response.status_code != 200:
            break
    assert response.status_code == 429
    page = response.get_data(as_text=True)
    assert "每分钟最多 60 次" in page and "per 1 minute" not in page and not latin_sentences(page)


def test_times_are_shown_in_the_installations_zone(web_app, system, samples):
    from datetime import UTC, datetime

    from web.i18n import local_time
    from workflows.clock import local_zone

    assert str(local_zone("")) == "Asia/Shanghai"
    assert str(local_zone("Asia/Urumqi")) == "Asia/Urumqi"
    with pytest.raises(SystemExit, match="GRIDLINK_TIME_ZONE='Mars/Olympus' is not a known time zone"):
        local_zone("Mars/Olympus")
    assert local_time(datetime(2026, 12, 7, 19, 29, tzinfo=UTC)) == "2026-12-08 03:29"
    audit = Client(web_app, "admin").get("/admin/audit").get_data(as_text=True)
    assert " UTC<" not in audit


def test_every_line_of_a_migration_preview_reads_in_chinese(web_app):
    from engine.specs.migration import Line
    from web.i18n import PREVIEW_LINES, preview_line

    values = {"process": "department_dispatch", "version": 3, "element": "handle_grid", "name": "网格处置",
              "aspects": ["script", "outputs"], "within": "", "detail": "line 3", "tag": "bpmn:complexGateway",
              "attr": "targetRef", "ref": "Flow_1", "decision": "routing", "form": "x.schema.json",
              "what": "conditionExpression"}
    with web_app.test_request_context("/?lang=zh"):
        for key, template in PREVIEW_LINES.items():
            needed = set(re.findall(r"%\((\w+)\)s", str(template)))
            line = Line("an english line", key, **{k: v for k, v in values.items() if k in needed | {"name"}})
            text = preview_line(line)
            assert re.search(r"[\u4e00-\u9fff]", text) and not latin_sentences(text, html=False), (key, text)
        assert preview_line(Line("x", "changed", element="a", name="", aspects=["script"], within="joint_meeting")) \
            == "joint_meeting: 修改 a：脚本"
        assert preview_line("a line written before") == "a line written before"
