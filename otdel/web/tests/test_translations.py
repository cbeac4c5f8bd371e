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
