"""Every string of the web pages is translated: both catalogues are complete for the messages in
the sources, and the main pages rendered in Chinese show no English message ids and rendered in
English show no Chinese translations."""

from __future__ import annotations

import html as htmllib
import re
from functools import cache
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from tests.web.conftest import do, task_of, with_meeting

WEB = Path(__file__).resolve().parents[2] / "web"
OTHER_AREAS = re.compile(r"^(admin|api|open311|dashboard|bench)|^templates/(admin|modeller|dashboard)/")
"""Sources of the admin, API and dashboard areas, whose owners keep their own strings translated."""


@cache
def source_messages() -> frozenset[str]:
    found = set()
    method_map = [("**.py", "python"), ("templates/**.html", "jinja2")]
    for filename, _line, message, _comments, _context in extract_from_dir(
            str(WEB), method_map, keywords={"_": None, "gettext": None, "ngettext": (1, 2), "_l": None,
                                            "lazy_gettext": None}):
        if OTHER_AREAS.search(filename):
            continue
        found.add(message if isinstance(message, str) else message[0])
    return frozenset(found)


def catalogue(lang: str):
    with (WEB / "translations" / lang / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        return read_po(handle, locale=lang)


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_every_message_of_the_web_pages_is_translated_in_both_catalogues(lang):
    messages = source_messages()
    assert len(messages) > 200
    entries = {m.id if isinstance(m.id, str) else m.id[0]: m for m in catalogue(lang) if m.id}
    missing = sorted(m for m in messages if m not in entries)
    untranslated = sorted(m for m in messages if m in entries and not _text(entries[m].string))
    fuzzy = sorted(m for m in messages if m in entries and entries[m].fuzzy)
    assert not missing, f"not in the {lang} catalogue (run pybabel extract/update): {missing}"
    assert not untranslated, f"untranslated in {lang}: {untranslated}"
    assert not fuzzy, f"fuzzy in {lang}: {fuzzy}"


def _text(string) -> str:
    return string if isinstance(string, str) else (string[0] if string else "")


def test_the_compiled_catalogues_are_rebuilt_when_a_po_file_is_newer(tmp_path):
    from web.i18n import compile_catalogs

    folder = tmp_path / "zh" / "LC_MESSAGES"
    folder.mkdir(parents=True)
    (folder / "messages.po").write_text('msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=UTF-8\\n"\n\n'
                                        'msgid "Inbox"\nmsgstr "待办"\n', encoding="utf-8")
    assert compile_catalogs(tmp_path) == [folder / "messages.mo"]
    assert compile_catalogs(tmp_path) == []


def visible_text(page: str) -> str:
    page = re.sub(r"(?is)<(script|style|template)\b.*?</\1>", " ", page)
    page = re.sub(r"(?s)<[^>]+>", " ", page)
    return htmllib.unescape(page)


@pytest.fixture(scope="module")
def pages(web_app, system):
    """The main pages, for a coordinator, a department, a grid worker and a resident."""
    number, meeting_id = with_meeting(system, departments=("fire",))
    do(system, "dept-fire", number, "report_to_duty", {"delegate": "张科长"})
    resolution = task_of(system, number, "resolution")
    return {"coord-hq-c04": ["/inbox", "/cases", f"/cases/{number}", f"/meetings/{meeting_id}",
                             f"/inbox/tasks/{resolution.id}", "/notifications", "/cases/GL19990101-0001", "/cases/new"],
            "dept-fire": ["/inbox"],
            "gw-hq-c04-g03": ["/patrol"],
            None: ["/report", "/track", f"/track?number={number}", "/login"]}


def render(client_for, pages, lang: str) -> dict[str, str]:
    rendered = {}
    for who, paths in pages.items():
        client = client_for(who)
        client.get(f"/lang/{lang}")
        try:
            for path in paths:
                response = client.get(path)
                assert response.status_code in (200, 404), path
                rendered[f"{who} {path}"] = visible_text(response.data.decode())
        finally:
            client.get("/lang/zh")
    return rendered


def test_the_main_pages_in_chinese_show_no_english_message_ids(client_for, pages):
    entries = {m.id: _text(m.string) for m in catalogue("zh") if isinstance(m.id, str) and m.id}
    english = [msgid for msgid in source_messages() if msgid in entries and entries[msgid] != msgid
               and "%(" not in msgid and (len(msgid) >= 8 or " " in msgid)]
    for page, text in render(client_for, pages, "zh").items():
        leaks = [msgid for msgid in english if msgid in text]
        assert not leaks, f"{page} shows untranslated English: {leaks}"


def test_the_main_pages_in_english_show_no_chinese_translations(client_for, pages, system):
    from sqlalchemy import select

    from workflows.org.models import OrgUnit

    with system.sessions() as session:
        unit_names = list(session.scalars(select(OrgUnit.name)))
    entries = {m.id: _text(m.string) for m in catalogue("zh") if isinstance(m.id, str) and m.id}
    chinese = [text for msgid, text in entries.items() if msgid in source_messages() and text != msgid
               and "%(" not in text and len(text) >= 4 and not any(text in name for name in unit_names)]
    rendered = render(client_for, pages, "en")
    assert "Inbox" in rendered["coord-hq-c04 /inbox"]
    for page, text in rendered.items():
        leaks = [t for t in chinese if t in text]
        assert not leaks, f"{page} shows Chinese in English: {leaks}"
