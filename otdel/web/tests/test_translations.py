"""Every user-facing string has its Russian translation: a catalog entry left empty or fuzzy fails."""

import re
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2]  # otdel/: the project catalog and each app's own
CATALOGS = sorted(PACKAGE.glob("**/locale/ru/LC_MESSAGES/django.po"))
ENTRY = re.compile(
    r'^msgid ((?:".*"\n?)+)(?:msgid_plural .*\n(?:".*"\n?)*)?((?:msgstr(?:\[\d\])? (?:".*"\n?)+)+)', re.M
)


def _text(quoted: str) -> str:
    return "".join(re.findall(r'"(.*)"', quoted))


def untranslated(path: Path) -> list[str]:
    missing = []
    for block in path.read_text(encoding="utf-8").split("\n\n"):
        live = "\n".join(line for line in block.strip().splitlines() if not line.startswith("#~"))
        match = ENTRY.search(live + "\n")
        if match is None or not _text(match.group(1)):
            continue  # the header, or an obsolete entry
        fuzzy = any(line.startswith("#,") and "fuzzy" in line for line in live.splitlines())
        forms = re.findall(r'msgstr(?:\[\d\])? ((?:".*"\n?)+)', match.group(2))
        if fuzzy or not forms or any(not _text(form) for form in forms):
            missing.append(_text(match.group(1)))
    return missing


def test_catalogs_are_found():
    assert len(CATALOGS) >= 5 and PACKAGE / "locale/ru/LC_MESSAGES/django.po" in CATALOGS


@pytest.mark.parametrize("catalog", CATALOGS, ids=lambda path: str(path.relative_to(PACKAGE)))
def test_every_string_is_translated_into_russian(catalog):
    assert untranslated(catalog) == []


def test_an_empty_or_fuzzy_entry_is_caught(tmp_path):
    po = tmp_path / "django.po"
    po.write_text(
        'msgid ""\nmsgstr ""\n"Language: ru\\n"\n\n'
        'msgid "Done"\nmsgstr "Готово"\n\n'
        'msgid "Empty"\nmsgstr ""\n\n'
        '#, fuzzy\nmsgid "Guess"\nmsgstr "Догадка"\n\n'
        'msgid "One"\nmsgid_plural "Many"\nmsgstr[0] "Один"\nmsgstr[1] ""\n\n'
        '#~ msgid "Old"\n#~ msgstr ""\n',
        encoding="utf-8",
    )
    assert untranslated(po) == ["Empty", "Guess", "One"]


# --- every string the code and templates use is in a Russian catalog -------------------------------

POT_ENTRY = re.compile(r'^(?:msgctxt ((?:".*"\n)+))?msgid ((?:".*"\n)+)', re.M)


def _keys(text: str) -> set[tuple[str, str]]:
    """(context, msgid) of every live entry of a .po/.pot text (the header left out)."""
    live = "\n".join(line for line in text.splitlines() if not line.startswith("#~")) + "\n"
    return {
        (_text(context or ""), _text(msgid)) for context, msgid in POT_ENTRY.findall(live) if _text(msgid)
    }


def _translated_keys(path: Path) -> set[tuple[str, str]]:
    text = path.read_text(encoding="utf-8")
    missing = set(untranslated(path))
    return {key for key in _keys(text) if key[1] not in missing}


def used_msgids(tmp_path: Path) -> set[tuple[str, str]]:
    """Every translatable string in otdel's Python and templates, as Django's makemessages (xgettext)
    extracts them: run on a copy of the sources, so the real catalogs are never touched."""
    import os
    import shutil
    import subprocess
    import sys

    copy = tmp_path / "otdel"
    for path in PACKAGE.rglob("*"):
        parts = set(path.relative_to(PACKAGE).parts)
        if path.suffix in (".py", ".html", ".txt") and not parts & {
            "static",
            "migrations",
            "tests",
            "locale",
        }:
            target = copy / path.relative_to(PACKAGE)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target)
    (copy / "locale").mkdir()
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}  # no LOCALE_PATHS
    subprocess.run(
        [sys.executable, "-m", "django", "makemessages", "--keep-pot", "-l", "ru", "-v", "0"],
        cwd=copy,
        env=env,
        check=True,
        capture_output=True,
    )
    return _keys((copy / "locale" / "django.pot").read_text(encoding="utf-8"))


def test_every_msgid_the_code_uses_is_in_a_russian_catalog(tmp_path):
    """Django merges every app's catalog and otdel/locale, so a string may live in any of them; a
    string in the code that none of them translates shows in English on the Russian screen."""
    translated: set[tuple[str, str]] = set()
    for catalog in CATALOGS:
        translated |= _translated_keys(catalog)
    missing = sorted(used_msgids(tmp_path) - translated)
    assert missing == [], (
        f"{len(missing)} strings have no Russian translation (run `make messages`): {missing}"
    )


def test_a_msgid_missing_from_the_catalogs_is_caught(tmp_path):
    source = tmp_path / "pkg" / "view.py"
    source.parent.mkdir()
    source.write_text('from django.utils.translation import gettext as _\n_("Brand new string")\n')
    po = tmp_path / "django.po"
    po.write_text('msgid ""\nmsgstr ""\n\nmsgid "Old string"\nmsgstr "Старая строка"\n', encoding="utf-8")
    pot = '#, python-format\nmsgid "Brand new string"\nmsgstr ""\n\nmsgctxt "menu"\nmsgid "Old string"\nmsgstr ""\n'
    assert _keys(pot) - _translated_keys(po) == {("", "Brand new string"), ("menu", "Old string")}
