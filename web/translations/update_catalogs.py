"""Refresh the message catalogues after changing the web's strings.

    .venv/bin/python web/translations/update_catalogs.py

Extracts every message of ``web/`` (babel.cfg), merges it into ``zh`` and ``en``, fills ``en``
with the English message ids, drops obsolete entries, and lists the ``zh`` messages that still
need a translation (write them into ``zh/LC_MESSAGES/messages.po`` and run it again). It also
compiles the ``.mo`` files (``create_app`` recompiles any that are older than their ``.po``);
commit both.
"""

from __future__ import annotations

import copy
import subprocess
import sys
import tempfile
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent


def extract() -> Catalog:
    with tempfile.TemporaryDirectory() as folder:
        pot = Path(folder) / "messages.pot"
        subprocess.run([str(Path(sys.executable).with_name("pybabel")), "extract", "-F", "babel.cfg", "-k", "_l",
                        "--no-location", "--omit-header", "-o", str(pot), "web"], cwd=ROOT, check=True,
                       capture_output=True)
        with pot.open("rb") as handle:
            return read_po(handle)


def update(lang: str, template: Catalog) -> list[str]:
    path = HERE / lang / "LC_MESSAGES" / "messages.po"
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists():
        with path.open("rb") as handle:
            catalog = read_po(handle, locale=lang)
    else:
        catalog = Catalog(locale=lang, project="gridlink", charset="utf-8")
    catalog.update(template, no_fuzzy_matching=True)
    missing = []
    for message in catalog:
        if not message.id:
            continue
        message.flags.discard("fuzzy")
        plural = not isinstance(message.id, str)
        if lang == "en":
            message.string = tuple(message.id) if plural else message.id
        elif not (message.string[0] if plural else message.string):
            missing.append(message.id[0] if plural else message.id)
    catalog.obsolete.clear()
    with path.open("wb") as handle:
        write_po(handle, catalog, width=0, no_location=True, ignore_obsolete=True)
    with path.with_suffix(".mo").open("wb") as handle:
        write_mo(handle, catalog)
    return missing


def main() -> int:
    template = extract()
    update("en", copy.deepcopy(template))  # (update reuses the template's new messages: en fills them in)
    missing = update("zh", template)
    for message in missing:
        print(f"untranslated in zh: {message!r}")
    print(f"{len(template)} messages; {len(missing)} need a Chinese translation")
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
