"""Printable PDFs of rectification notices and supervision orders (fpdf2, a CJK font embedded).

fpdf2 is pure Python, embeds a subset of a TrueType font (with fontTools), reads TrueType
collections (``.ttc``) and wraps CJK text by character; reportlab cannot embed the CFF-outline
Noto CJK fonts and its built-in CID fonts are not embedded, so a printed page would depend on the
reader's fonts. The font is Debian's ``fonts-wqy-zenhei`` or ``fonts-noto-cjk``
(``scripts/ensure_system_packages.sh`` installs the former), found at run time;
``GRIDLINK_PDF_FONT`` names another TrueType file.
"""

from __future__ import annotations

import logging
import os
from datetime import datetime
from functools import lru_cache
from pathlib import Path

from fpdf import FPDF

from workflows.clock import LOCAL_TZ
from workflows.errors import DomainError

FONT_CANDIDATES = (
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
)
FONT = "cjk"
logging.getLogger("fontTools.subset").setLevel(logging.ERROR)  # "BDF NOT subset": bitmaps are not needed

TITLES = {"notice": "整改通知单", "supervision": "督办单"}
REQUIREMENT_LABELS = {"notice": "整改要求", "supervision": "督办事项"}
DEADLINE_LABELS = {"notice": "整改期限", "supervision": "办理时限"}
CLOSINGS = {
    "notice": "请于上述期限内完成整改，并将整改情况书面回复签发单位。逾期未整改的，将依法依规处理。",
    "supervision": "请按期办结上述事项，并将办理结果书面回复督办单位。逾期未办结的，将记入考核并予以通报。",
}
STATE_NAMES = {"issued": "已签发", "served": "已送达", "answered": "已回复", "complied": "已整改"}


class FontMissing(DomainError):
    """No CJK font is installed: the message names the Debian package to install."""

    code = "font_missing"


@lru_cache(maxsize=1)
def cjk_font() -> Path:
    """The CJK font file to embed; a clear error naming the package when there is none."""
    override = os.environ.get("GRIDLINK_PDF_FONT", "").strip()
    candidates = [override] if override else list(FONT_CANDIDATES)
    for candidate in candidates:
        if candidate and Path(candidate).is_file():
            return Path(candidate)
    where = f"GRIDLINK_PDF_FONT={override!r} is not a file" if override else \
        f"none of {', '.join(FONT_CANDIDATES)} exists"
    raise FontMissing(f"cannot print documents: no Chinese font ({where}); install the Debian package "
                      "fonts-wqy-zenhei (apt-get install fonts-wqy-zenhei, or run scripts/ensure_system_packages.sh "
                      "browser as root)")


def local_time(value: str | datetime) -> str:
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment.astimezone(LOCAL_TZ).strftime("%Y年%m月%d日 %H:%M")


def render_document(item: dict) -> bytes:
    """A4 page(s) for one document as ``documents.document_item`` describes it (plus ``case_title``)."""
    pdf = FPDF(format="A4")
    pdf.set_title(f"{TITLES[item['kind']]} {item['number']}")
    pdf.set_author(item["issuer"]["name"])
    pdf.add_font(FONT, "", str(cjk_font()))
    pdf.set_margins(22, 22, 22)
    pdf.set_auto_page_break(True, margin=22)
    pdf.add_page()
    _heading(pdf, item)
    _body(pdf, item)
    _signature(pdf, item)
    _receipt(pdf, item)
    return bytes(pdf.output())


def _heading(pdf: FPDF, item: dict) -> None:
    pdf.set_font(FONT, size=13)
    pdf.cell(0, 8, item["issuer"]["name"], align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(FONT, size=22)
    pdf.cell(0, 14, TITLES[item["kind"]], align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(FONT, size=11)
    pdf.cell(0, 8, item["number"], align="R", new_x="LMARGIN", new_y="NEXT")
    pdf.set_draw_color(180, 30, 30)
    pdf.set_line_width(0.8)
    pdf.line(pdf.l_margin, pdf.get_y() + 1, pdf.w - pdf.r_margin, pdf.get_y() + 1)
    pdf.ln(6)


def _field(pdf: FPDF, label: str, text: str) -> None:
    pdf.set_font(FONT, size=12)
    pdf.multi_cell(0, 8, f"{label}：{text}", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(1)


def _body(pdf: FPDF, item: dict) -> None:
    addressee = item["addressee"]["name"]
    if item["addressee"].get("contact"):
        addressee += f"（{item['addressee']['contact']}）"
    pdf.set_font(FONT, size=13)
    pdf.multi_cell(0, 9, f"{addressee}：", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)
    case = f"{item['case_number']}《{item['case_title']}》"
    if item.get("case_address"):
        case += f"，地点：{item['case_address']}"
    _field(pdf, "关联工单", case)
    _field(pdf, REQUIREMENT_LABELS[item["kind"]], item["requirement"])
    _field(pdf, DEADLINE_LABELS[item["kind"]], f"{local_time(item['deadline'])} 前")
    pdf.ln(2)
    pdf.set_font(FONT, size=12)
    pdf.multi_cell(0, 8, "    " + CLOSINGS[item["kind"]], new_x="LMARGIN", new_y="NEXT")
    pdf.ln(8)


def _signature(pdf: FPDF, item: dict) -> None:
    pdf.set_font(FONT, size=12)
    pdf.cell(0, 8, f"签发单位：{item['issuer']['name']}", align="R", new_x="LMARGIN", new_y="NEXT")
    if item.get("issued_by"):
        pdf.cell(0, 8, f"签发人：{item['issued_by']}", align="R", new_x="LMARGIN", new_y="NEXT")
    pdf.cell(0, 8, f"签发日期：{local_time(item['issued_at'])}", align="R", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(FONT, size=10)
    pdf.set_text_color(90, 90, 90)
    overdue = "（已逾期）" if item.get("overdue") else ""
    pdf.cell(0, 7, f"当前状态：{STATE_NAMES[item['state']]}{overdue}", align="R", new_x="LMARGIN", new_y="NEXT")
    pdf.set_text_color(0, 0, 0)
    pdf.ln(8)


def _receipt(pdf: FPDF, item: dict) -> None:
    """The tear-off receipt (送达回执) the addressee signs when it is served."""
    y = pdf.get_y()
    pdf.set_draw_color(120, 120, 120)
    pdf.set_line_width(0.2)
    pdf.set_dash_pattern(dash=2, gap=1.5)
    pdf.line(pdf.l_margin, y, pdf.w - pdf.r_margin, y)
    pdf.set_dash_pattern()
    pdf.ln(5)
    pdf.set_font(FONT, size=14)
    pdf.cell(0, 9, "送达回执", align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(FONT, size=12)
    pdf.multi_cell(0, 8, f"文书：{TITLES[item['kind']]} {item['number']}    受送达人：{item['addressee']['name']}",
                   new_x="LMARGIN", new_y="NEXT")
    pdf.cell(0, 10, "签收人：________________        签收日期：______年____月____日", new_x="LMARGIN", new_y="NEXT")
