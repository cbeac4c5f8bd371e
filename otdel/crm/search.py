"""One search for the whole CRM: the top bar, ``?q=`` of every list and of the API.

How a query is read (the same on SQLite and PostgreSQL, see docs/search.md):

* words, in any order and case, ё = е, each one the start of a word of the record
  ("смир ольг" finds "Ольга Смирнова"); a one-letter word is an initial ("Смирнова О.");
* a word of 5+ letters that starts no word in the index is read with one typo (a letter wrong,
  missing, extra or two swapped): the index's own vocabulary says what it could have been;
* a full phone in any format or an e-mail resolves through the identity index (as the PBX route
  does; an e-mail nobody holds is read as its words); 4 to 10 last digits of a phone, with any
  separators, through the reversed-digits index.

The words of each record live in one ``SearchEntry`` row (normalized text), indexed by pg_trgm on
PostgreSQL and by an FTS5 trigram table on SQLite; this module keeps those rows in step with the
records (signals below, ``reindex`` for bulk loads) and every read goes through ``scope()``.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from django.db import connection, transaction
from django.db.models import Case, F, Func, IntegerField, Q, QuerySet, Value, When
from django.db.models.expressions import RawSQL
from django.db.models.functions import Length
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from django.urls import reverse
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from otdel.core.bulk import bulk_insert
from otdel.core.identity import IdentityKind, guess_identity
from otdel.core.scoping import scope
from otdel.crm.models import Company, Contact, Deal, Identity, SearchEntry, SearchWord

TYPO_MIN_LENGTH = 5  # words this long may carry one typo
PHONE_MIN_DIGITS = 4  # "4 to 10 last digits" of a phone
PHONE_SUFFIX_MAX = 10
PHONE_MATCH_LIMIT = 500  # partial phones resolve to at most this many contacts
CORRECTIONS_MAX = 8
COUNT_CAP = 10_000  # counts stop here: "more than 10 000"
COUNT_PROBE = 1000  # a search's page query ranks this many: fewer matches are counted by it
FIND_COUNT_CAP = 1000  # the top bar's counts stop here
FTS_TABLE = "crm_searchentry_fts"
PHONE_KINDS = (IdentityKind.PHONE, IdentityKind.WHATSAPP)

_NON_WORD = re.compile(r"[\W_]+")
_WORD = re.compile(r"[^\W_]+")


# --- normalization -----------------------------------------------------------------------------


def fold(text: str) -> str:
    """Lower case, ё = е, the composed form of letters (so "е" + combining diaeresis is "ё" first)."""
    return unicodedata.normalize("NFC", text or "").lower().replace("ё", "е")


def words(text: str) -> list[str]:
    return _NON_WORD.sub(" ", fold(text)).split()


def normalize(*parts: str | None) -> str:
    """The indexed form: the words between single spaces, with a space at both ends."""
    found = [word for part in parts if part for word in words(part)]
    return f" {' '.join(found)} " if found else ""


def reversed_digits(e164: str) -> str:
    """ "+79674842334;ext=12" -> "43324847697": the last digits become a prefix."""
    return re.sub(r"\D", "", e164.partition(";")[0])[::-1]


# --- keeping the index in step ------------------------------------------------------------------


def _vocabulary(texts: Iterable[str]) -> None:
    new = {w for text in texts for w in text.split() if len(w) >= TYPO_MIN_LENGTH and w.isalpha()}
    if new:
        SearchWord.objects.bulk_create([SearchWord(word=w[:64]) for w in sorted(new)], ignore_conflicts=True)


def _replace(kind: str, key: str, rows: dict[int, str]) -> None:
    """Write the entries of ``kind`` for the records ``rows`` (record id -> text)."""
    SearchEntry.objects.filter(**{f"{key}__in": list(rows)}).delete()
    SearchEntry.objects.bulk_create(
        [SearchEntry(kind=kind, text=text, **{f"{key}_id": pk}) for pk, text in rows.items()], batch_size=1000
    )
    _vocabulary(rows.values())


def contact_texts(ids: Iterable[int]) -> dict[int, str]:
    """Name, position, company and every e-mail, chat or page address of each contact."""
    ids = list(ids)
    others: dict[int, list[str]] = {}
    for contact_id, value in (
        Identity.objects.filter(contact_id__in=ids)
        .exclude(kind__in=PHONE_KINDS)
        .values_list("contact_id", "value")
    ):
        others.setdefault(contact_id, []).append(value)
    return {
        pk: normalize(name, position, company, *others.get(pk, []))
        for pk, name, position, company in Contact.objects.filter(pk__in=ids).values_list(
            "pk", "full_name", "position", "company__name"
        )
    }


def index_contacts(ids: Iterable[int]) -> None:
    _replace(SearchEntry.Kind.CONTACT, "contact", contact_texts(ids))


def index_new_contacts(contacts: list[Contact], identities: list[Identity]) -> None:
    """The entries of contacts just created with ``identities`` (a batch write): the same text as
    ``index_contacts`` and a row per phone as ``index_phones``, without reading anything back."""
    company_ids = {c.company_id for c in contacts if c.company_id}
    companies = (
        dict(Company.objects.filter(pk__in=company_ids).values_list("pk", "name")) if company_ids else {}
    )
    others: dict[int, list[str]] = {}
    for identity in identities:
        if identity.kind not in PHONE_KINDS:
            others.setdefault(identity.contact_id, []).append(identity.value)
    texts = {
        c.pk: normalize(c.full_name, c.position, companies.get(c.company_id or 0), *others.get(c.pk, []))
        for c in contacts
    }
    entries = [
        SearchEntry(kind=SearchEntry.Kind.CONTACT, text=text, contact_id=pk) for pk, text in texts.items()
    ]
    entries += [
        SearchEntry(kind=SearchEntry.Kind.PHONE, identity_id=i.pk, digits=reversed_digits(i.value)[:32])
        for i in identities
        if i.kind in PHONE_KINDS
    ]
    bulk_insert(SearchEntry, entries, ids=False)
    _vocabulary(texts.values())


def index_companies(ids: Iterable[int]) -> None:
    rows = {
        pk: normalize(name, inn)
        for pk, name, inn in Company.objects.filter(pk__in=list(ids)).values_list("pk", "name", "inn")
    }
    _replace(SearchEntry.Kind.COMPANY, "company", rows)


def index_deals(ids: Iterable[int]) -> None:
    """The title, then the client's name and company (so "Петров" finds Petrov's deals too)."""
    rows = {
        pk: normalize(title, contact, company)
        for pk, title, contact, company in Deal.objects.filter(pk__in=list(ids)).values_list(
            "pk", "title", "contact__full_name", "company__name"
        )
    }
    _replace(SearchEntry.Kind.DEAL, "deal", rows)


def index_phones(ids: Iterable[int]) -> None:
    """Identities given by id; phones (and WhatsApp numbers) get a reversed-digits row."""
    ids = list(ids)
    SearchEntry.objects.filter(identity_id__in=ids).delete()
    SearchEntry.objects.bulk_create(
        [
            SearchEntry(kind=SearchEntry.Kind.PHONE, identity_id=pk, digits=reversed_digits(value)[:32])
            for pk, value in Identity.objects.filter(pk__in=ids, kind__in=PHONE_KINDS).values_list(
                "pk", "value"
            )
        ],
        batch_size=1000,
    )


def reindex(*, batch: int = 5000, log: Any = None) -> dict[str, int]:
    """Rebuild the whole index (after a bulk load that bypassed the models' save, or a restore)."""
    jobs: list[tuple[str, QuerySet[Any], Any]] = [
        ("companies", Company.objects.all(), index_companies),
        ("contacts", Contact.objects.all(), index_contacts),
        ("deals", Deal.objects.all(), index_deals),
        ("phones", Identity.objects.filter(kind__in=PHONE_KINDS), index_phones),
    ]
    done: dict[str, int] = {}
    for name, manager, index in jobs:
        ids = list(manager.order_by("pk").values_list("pk", flat=True))
        for start in range(0, len(ids), batch):
            index(ids[start : start + batch])
        done[name] = len(ids)
        if log:
            log(f"{name}: {len(ids)}")
    # Rows of records deleted behind the models' back (a raw DELETE) would be orphans.
    SearchEntry.objects.filter(
        contact__isnull=True, company__isnull=True, deal__isnull=True, identity__isnull=True
    ).delete()
    return done


@receiver(post_save, sender=Contact, dispatch_uid="search_contact_saved")
def _contact_saved(sender: Any, instance: Contact, raw: bool = False, **kwargs: Any) -> None:
    if raw:
        return
    # A merge moves identities to the survivor with an UPDATE; re-read the survivor then too.
    ids = [instance.pk] + ([instance.merged_into_id] if instance.merged_into_id else [])
    before = SearchEntry.objects.filter(contact_id=instance.pk).values_list("text", flat=True).first()
    index_contacts(ids)
    if before is None or not before.startswith(normalize(instance.full_name)):
        index_deals(Deal.objects.filter(contact_id__in=ids).values_list("pk", flat=True))


@receiver(post_save, sender=Company, dispatch_uid="search_company_saved")
def _company_saved(sender: Any, instance: Company, raw: bool = False, **kwargs: Any) -> None:
    if raw:
        return
    before = SearchEntry.objects.filter(company_id=instance.pk).values_list("text", flat=True).first()
    index_companies([instance.pk])
    if before is not None and words(before) != words(normalize(instance.name, instance.inn)):
        # The company's name is a word of its contacts' and deals' entries as well.
        for index, related in ((index_contacts, instance.contacts), (index_deals, instance.deals)):
            ids = list(related.values_list("pk", flat=True))
            for start in range(0, len(ids), 5000):
                index(ids[start : start + 5000])


@receiver(post_save, sender=Deal, dispatch_uid="search_deal_saved")
def _deal_saved(sender: Any, instance: Deal, raw: bool = False, **kwargs: Any) -> None:
    if not raw:
        index_deals([instance.pk])


@receiver(post_save, sender=Identity, dispatch_uid="search_identity_saved")
def _identity_saved(sender: Any, instance: Identity, raw: bool = False, **kwargs: Any) -> None:
    if raw:
        return
    if instance.kind in PHONE_KINDS:
        index_phones([instance.pk])
    else:
        index_contacts([instance.contact_id])


@receiver(post_delete, sender=Identity, dispatch_uid="search_identity_deleted")
def _identity_deleted(sender: Any, instance: Identity, **kwargs: Any) -> None:
    if instance.kind in PHONE_KINDS:
        return
    # After commit: when the contact itself is being deleted (its identities go first), re-indexing
    # now would write an entry for a row about to disappear; after commit only survivors are indexed.
    contact_id = instance.contact_id
    transaction.on_commit(lambda: index_contacts([contact_id]))


# --- reading a query ----------------------------------------------------------------------------


@dataclass
class Term:
    """One word of the query: what was typed (normalized) and, for a typo, what it may have meant."""

    text: str
    corrections: list[str] = field(default_factory=list)

    @property
    def forms(self) -> list[str]:
        return [self.text, *self.corrections]


@dataclass
class Query:
    raw: str
    terms: list[Term]
    identity: tuple[str, str] | None = None  # an e-mail or a full phone, normalized
    digits: str = ""  # the last digits of a phone, as typed

    _contact_ids: list[int] | None = None
    # contact id -> (kind, value) of the identity the phone or e-mail of the query matched
    matched: dict[int, tuple[str, str]] = field(default_factory=dict)

    def contact_ids(self) -> list[int]:
        """The contacts the phone or e-mail of the query points to (looked up once per query)."""
        if self._contact_ids is None:
            self._contact_ids = phone_contact_ids(self) if (self.identity or self.digits) else []
        return self._contact_ids

    @property
    def empty(self) -> bool:
        return not self.searches_text and not self.identity and not self.digits

    @property
    def by_identity(self) -> bool:
        """A phone (whole or its last digits) or a known e-mail: the identity index answers it all."""
        return not self.searches_text and bool(self.digits or self.identity)

    @property
    def searches_text(self) -> bool:
        # A query of initials alone ("О.") is too vague to search (and no index helps it).
        return any(len(term.text) >= 2 for term in self.terms)

    @property
    def forms(self) -> list[str]:
        return [form for term in self.terms for form in term.forms]


def _postgres() -> bool:
    return connection.vendor == "postgresql"


def _one_edit(a: str, b: str) -> bool:
    """True if ``a`` and ``b`` differ by at most one letter changed, missing, extra, or two swapped."""
    if a == b:
        return True
    la, lb = len(a), len(b)
    if abs(la - lb) > 1:
        return False
    i = 0
    while i < min(la, lb) and a[i] == b[i]:
        i += 1
    if la == lb:
        return a[i + 1 :] == b[i + 1 :] or (
            i + 1 < la and a[i] == b[i + 1] and a[i + 1] == b[i] and a[i + 2 :] == b[i + 2 :]
        )
    return a[i:] == b[i + 1 :] if la < lb else a[i + 1 :] == b[i:]


def _known_prefix(prefix: str) -> bool:
    """Does a word of the vocabulary start with ``prefix`` (letters only)? One indexed probe, issued
    on a cursor: it runs for every 5+ letter word typed, as you type."""
    if _postgres():
        sql, params = "SELECT 1 FROM crm_searchword WHERE word LIKE %s LIMIT 1", [prefix + "%"]
    else:  # a range on the unique index (SQLite's LIKE is a Python function here, see core.sqlite)
        sql, params = (
            "SELECT 1 FROM crm_searchword WHERE word >= %s AND word < %s LIMIT 1",
            [
                prefix,
                prefix + chr(0x10FFFF),
            ],
        )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone() is not None


def _typo_patterns(t: str) -> list[str]:
    """GLOB patterns (``?`` one letter, ``*`` the rest) that every word within one edit of ``t``
    (as a prefix) matches: an edit at position 3 or later keeps ``t[:3]``; at position 2 keeps
    ``t[:2]`` with ``t[3:5]`` one letter on either side; at 0 or 1 keeps ``t[3:5]`` near position 3."""
    tail = t[3:5]
    return [
        t[:3] + "*",
        t[:2] + "?" + tail + "*",
        t[:2] + tail + "*",
        t[:2] + "?" + t[2:4] + "*",
        t[:2] + t[3] + t[2] + "*",
        "??" + tail + "*",
        "???" + tail + "*",
        "????" + tail + "*",
    ]


def corrections(term: str) -> list[str]:
    """Word starts in the index one edit away from ``term`` (shortest difference first)."""
    patterns = _typo_patterns(term)
    if _postgres():
        likes = [p.replace("?", "_").replace("*", "%") for p in patterns]
        sql = (
            f"SELECT word FROM crm_searchword WHERE {' OR '.join(['word LIKE %s'] * len(likes))} LIMIT 20000"
        )
        params: list[str] = likes
    else:
        sql = f"SELECT word FROM crm_searchword WHERE {' OR '.join(['word GLOB %s'] * len(patterns))} LIMIT 20000"
        params = patterns
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        candidates = [row[0] for row in cursor.fetchall()]
    found: set[str] = set()
    n = len(term)
    for word in candidates:
        for size in (n, n - 1, n + 1):
            prefix = word[:size]
            if len(prefix) == size and prefix != term and _one_edit(term, prefix):
                found.add(prefix)
    return sorted(found, key=lambda p: (abs(len(p) - n), p))[:CORRECTIONS_MAX]


# The queries read during one request (``queries_remembered``): a request that searches and then
# logs the search (privacy.access) reads the text and looks its phone or e-mail up once.
_remembered: ContextVar[dict[str, Query] | None] = ContextVar("otdel_search_queries", default=None)


@contextmanager
def queries_remembered() -> Iterator[None]:
    """Within the block ``parse`` of the same text answers the same ``Query`` (with its lookups).

    For a request that only reads (a GET): what a query's phone or e-mail names cannot change
    under it."""
    token = _remembered.set({})
    try:
        yield
    finally:
        _remembered.reset(token)


def parse(raw: str) -> Query:
    raw = (raw or "").strip()[:200]
    memo = _remembered.get()
    if memo is None:
        return _parse(raw)
    if raw not in memo:
        memo[raw] = _parse(raw)
    return memo[raw]


def _parse(raw: str) -> Query:
    terms = [Term(w) for w in dict.fromkeys(words(raw))][:8]
    identity = guess_identity(raw)
    digits = re.sub(r"\D", "", raw)
    phone_like = bool(re.fullmatch(r"[\d\s()+\-.]+", raw))
    if not (phone_like and len(digits) >= PHONE_MIN_DIGITS):
        digits = ""
    if identity is not None and identity[0] == IdentityKind.PHONE:
        terms = []  # a whole number: the identity index answers, the words would only add noise
    elif digits and len(terms) > 1:
        terms = []  # "484-23-34": the digits of a phone, not three words
    query = Query(
        raw=raw, terms=terms, identity=identity, digits=digits[-PHONE_SUFFIX_MAX:] if digits else ""
    )
    if identity is not None and identity[0] == IdentityKind.EMAIL and query.contact_ids():
        # A whole e-mail someone holds: the identity index has answered, as for a whole phone (the
        # words of an address would only find other addresses). One nobody holds is read as words.
        query.terms = []
    for term in query.terms:
        if len(term.text) >= TYPO_MIN_LENGTH and term.text.isalpha() and not _known_prefix(term.text):
            term.corrections = corrections(term.text)
    return query


# --- matching ------------------------------------------------------------------------------------


def phone_contact_ids(query: Query) -> list[int]:
    """Contacts holding the identity (a full phone, an e-mail) or a phone ending with the digits."""
    rows: list[tuple[int, str, str]] = []
    if query.identity is not None:
        kind, value = query.identity
        kinds = PHONE_KINDS if kind == IdentityKind.PHONE else (kind,)
        rows += Identity.objects.filter(kind__in=kinds, value=value).values_list(
            "contact_id", "kind", "value"
        )
    if query.digits and not rows:
        key = query.digits[::-1]
        phones = SearchEntry.objects.filter(kind=SearchEntry.Kind.PHONE)
        if _postgres():
            phones = phones.filter(digits__startswith=key)
        else:
            phones = phones.filter(digits__gte=key, digits__lt=key + ":")  # ":" follows "9"
        rows += phones.values_list("identity__contact_id", "identity__kind", "identity__value")[
            :PHONE_MATCH_LIMIT
        ]
    for contact_id, kind, value in rows:
        query.matched.setdefault(contact_id, (kind, value))
    return list(query.matched)


def _fts_match(query: Query) -> str:
    """The FTS5 query: every term (2+ letters) as a phrase starting a word, typo forms OR-ed."""
    groups = []
    for term in query.terms:
        if len(term.text) < 2:
            continue
        phrases = " OR ".join(f'" {form}"' for form in term.forms)
        groups.append(f"({phrases})")
    return " AND ".join(groups)


ENTRY_KEYS = {"contacts": "contact_id", "companies": "company_id", "deals": "deal_id", "leads": "contact_id"}


def text_match(query: Query, kind: str, path: str, entry_kind: str) -> Q:
    """The rows whose entry (reached by ``path``, e.g. "search_entry") has every term."""
    if _postgres():
        text = f"{path}__text"
        condition = Q(**{f"{path}__kind": entry_kind})
        for term in query.terms:  # LIKE '% смир%': pg_trgm's GIN index answers it
            alternatives = Q()
            for form in term.forms:
                alternatives |= Q(**{f"{text}__contains": f" {form}"})
            condition &= alternatives
        return condition
    # SQLite: the ids the FTS5 index finds, as a list the outer query starts from (a join on the
    # entry would let SQLite walk the whole table and probe the list for every row).
    key = ENTRY_KEYS[kind]
    initials = [term.text for term in query.terms if len(term.text) < 2]
    sql = (
        f"SELECT e.{key} FROM {FTS_TABLE} f JOIN crm_searchentry e ON e.id = f.rowid "
        f"WHERE {FTS_TABLE} MATCH %s AND e.kind = %s"
        + "".join(" AND instr(e.text, %s) > 0" for _ in initials)  # initials: too short for trigrams
    )
    ids = RawSQL(sql, [_fts_match(query), entry_kind, *[f" {i}" for i in initials]])
    return Q(contact_id__in=ids) if kind == "leads" else Q(pk__in=ids)


class _Score(Func):
    """How well a search entry's text matches the query, as one SQL expression.

    Per term: 3 when it is a whole word of the text, 2 when a word starts with it, 1 when a typo's
    reading is a whole word, else 0; plus 1 when the text starts with the first term. Built as one
    node (a tree of Case/When/StrIndex per term cost Django more to build and compile than the
    database to evaluate)."""

    output_field = IntegerField()

    def __init__(self, text: Any, terms: tuple[tuple[str, tuple[str, ...]], ...]) -> None:
        """``terms``: (word, its typo readings) per term of the query (hashable, as an expression's
        arguments must be)."""
        super().__init__(text)
        self.terms = terms

    def as_sql(self, compiler: Any, connection: Any, **extra: Any) -> tuple[str, list[Any]]:  # type: ignore[override]
        text, text_params = compiler.compile(self.source_expressions[0])
        found = f"STRPOS({text}, %s) > 0" if connection.vendor == "postgresql" else f"INSTR({text}, %s) > 0"
        parts: list[str] = []
        params: list[Any] = []
        for word, corrections in self.terms:
            whens = [(f" {word} ", 3), (f" {word}", 2)]
            whens += [(f" {form} ", 1) for form in corrections]
            parts.append(
                "CASE " + " ".join(f"WHEN {found} THEN {score}" for _n, score in whens) + " ELSE 0 END"
            )
            for needle, _score in whens:
                params += [*text_params, needle]
        if self.terms:
            first = f" {self.terms[0][0]}"
            parts.append(f"CASE WHEN SUBSTR({text}, 1, %s) = %s THEN 1 ELSE 0 END")
            params += [*text_params, len(first), first]
        return ("(" + " + ".join(parts) + ")" if parts else "0"), params


def _ranked(qs: QuerySet[Any], query: Query, path: str, hit: Q | None) -> QuerySet[Any]:
    text = F(f"{path}__text")
    score: Any = _Score(text, tuple((t.text, tuple(t.corrections)) for t in query.terms))
    if hit is not None:  # the phone or e-mail itself: nothing matches better
        score = score + Case(When(hit, then=Value(100)), default=Value(0), output_field=IntegerField())
    return qs.annotate(search_score=score, search_len=Length(text)).order_by(
        "-search_score", "search_len", "-pk"
    )


KINDS = ("contacts", "companies", "deals", "leads")


def _contact_condition(kind: str, contact_ids: list[int]) -> tuple[Q, Q]:
    """Rows tied to the contacts a phone or e-mail found: (on the record, on its search entry)."""
    if kind == "contacts":
        return Q(pk__in=contact_ids), Q(contact_id__in=contact_ids)
    if kind == "companies":
        companies = Contact.objects.filter(pk__in=contact_ids, company__isnull=False).values("company_id")
        return Q(pk__in=companies), Q(company_id__in=companies)
    if kind == "deals":
        return Q(contact_id__in=contact_ids), Q(deal__contact_id__in=contact_ids)
    return Q(contact_id__in=contact_ids), Q(contact_id__in=contact_ids)  # leads: their contact's entry


def filter_queryset(qs: QuerySet[Any], kind: str, raw: str | Query) -> QuerySet[Any]:
    """``qs`` (already scoped) narrowed to what the query finds, best first.

    ``kind`` is one of KINDS; rows get ``search_score`` and ``search_len`` (the keyset of a page).
    """
    if kind not in KINDS:
        raise ValueError(kind)
    query = raw if isinstance(raw, Query) else parse(raw)
    if query.empty:
        return qs.none()
    contact_ids = query.contact_ids()
    on_record, on_entry = _contact_condition(kind, contact_ids)
    path = "contact__search_entry" if kind == "leads" else "search_entry"
    entry_kind = {
        "contacts": SearchEntry.Kind.CONTACT,
        "companies": SearchEntry.Kind.COMPANY,
        "deals": SearchEntry.Kind.DEAL,
        "leads": SearchEntry.Kind.CONTACT,
    }[kind]
    if not query.searches_text:
        # A phone or an e-mail alone: the identity index has answered; one indexed lookup per kind.
        return (
            qs.filter(on_record)
            .annotate(search_score=Value(100), search_len=Value(0))
            .order_by("-search_score", "search_len", "-pk")
        )
    condition = text_match(query, kind, path, entry_kind)
    hit: Q | None = None
    if contact_ids and _postgres():
        # On the entry's own id, so both sides of the OR are one table's indexes (no join scan).
        entry_ids = list(
            SearchEntry.objects.filter(kind=entry_kind)
            .filter(on_entry)
            .values_list("pk", flat=True)[:PHONE_MATCH_LIMIT]
        )
        hit = Q(**{f"{path}__id__in": entry_ids})
    elif contact_ids:
        hit = on_record  # SQLite: both sides are id lists of the record's own table
    if hit is not None:
        condition |= hit
    return _ranked(qs.filter(condition), query, path, hit)


def count_capped(qs: QuerySet[Any], cap: int = COUNT_CAP) -> tuple[int, bool]:
    """How many rows, counting no further than ``cap`` (True when there are more)."""
    found = qs.order_by().values("pk")[: cap + 1].count()  # no annotation is computed to count
    return min(found, cap), found > cap


# --- the top bar ------------------------------------------------------------------------------


def highlight(display: str, query: Query) -> SafeString:
    """``display`` escaped, with the start of every word the query matched in ``<mark>``."""
    forms = sorted({f for f in query.forms if f}, key=len, reverse=True)
    out: list[str] = []
    position = 0
    for match in _WORD.finditer(display or ""):
        folded = fold(match.group())
        size = next((len(f) for f in forms if folded.startswith(f)), 0)
        if not size:
            continue
        out.append(escape(display[position : match.start()]))
        out.append(f"<mark>{escape(display[match.start() : match.start() + size])}</mark>")
        position = match.start() + size
    out.append(escape((display or "")[position:]))
    return mark_safe("".join(out))


def highlight_phone(display: str, digits: str) -> SafeString:
    """A formatted phone with the typed last digits marked: "+7 967 <mark>484-23-34</mark>"."""
    positions = [i for i, ch in enumerate(display) if ch.isdigit()]
    if not digits or len(positions) < len(digits):
        return mark_safe(escape(display))
    start, end = positions[-len(digits)], positions[-1] + 1
    return mark_safe(
        f"{escape(display[:start])}<mark>{escape(display[start:end])}</mark>{escape(display[end:])}"
    )


@dataclass
class Hit:
    kind: str
    pk: int
    url: str
    title: SafeString
    detail: SafeString | str = ""


@dataclass
class Found:
    query: Query
    groups: dict[str, list[Hit]]
    counts: dict[str, tuple[int, bool]]
    objects: dict[str, list[Any]]

    @property
    def total(self) -> int:
        return sum(len(hits) for hits in self.groups.values())

    @property
    def sections(self) -> list[dict[str, Any]]:
        """The non-empty groups in order, with their title, count and the list showing them all."""
        titles = {
            "contacts": (_("Contacts"), "contact_list"),
            "companies": (_("Companies"), "company_list"),
            "deals": (_("Deals"), "deal_list"),
            "leads": (_("Leads"), "lead_list"),
        }
        out = []
        for kind in KINDS:
            if not self.groups[kind]:
                continue
            title, list_name = titles[kind]
            count, capped = self.counts[kind]
            out.append(
                {
                    "kind": kind,
                    "title": title,
                    "hits": self.groups[kind],
                    "count": count,
                    "capped": capped,
                    "list_url": f"{reverse(list_name)}?{urlencode({'q': self.query.raw})}",
                }
            )
        return out


def _identity_detail(contact: Contact, query: Query) -> SafeString | str:
    """The phone or e-mail the query matched, marked; else the contact's first one."""
    matched = query.matched.get(contact.pk)
    if matched is not None:  # known from the lookup itself: the contact's identities are not read
        display = Identity(kind=matched[0], value=matched[1]).display_value
        if query.identity is not None:
            return mark_safe(f"<mark>{escape(display)}</mark>")
        return highlight_phone(display, query.digits)
    identities = list(contact.identities.all())
    if query.identity is not None:
        for identity in identities:
            if identity.value == query.identity[1]:
                return mark_safe(f"<mark>{escape(identity.display_value)}</mark>")
    if query.digits:
        for identity in identities:
            if identity.kind in PHONE_KINDS and reversed_digits(identity.value).startswith(
                query.digits[::-1]
            ):
                return highlight_phone(identity.display_value, query.digits)
    return highlight(identities[0].display_value, query) if identities else ""


# What a hit of each kind shows (``_hit``): the top bar loads these columns alone.
HIT_COLUMNS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {  # (select_related, only)
    "contacts": (("company",), ("full_name", "position", "company_id", "company__name")),
    "companies": ((), ("name", "inn")),
    "deals": (("stage", "contact"), ("title", "stage__name", "contact__full_name")),
    "leads": (("contact",), ("status", "contact__full_name")),
}


def find(
    *,
    user: Any,
    text: str | Query,
    limit: int = 5,
    count: bool = True,
    kinds: tuple[str, ...] = KINDS,
    hits_only: bool = False,
) -> Found:
    """The top bar: up to ``limit`` of each kind (of ``kinds``) the user may see, best first,
    matches marked. ``hits_only``: the rows in ``Found.objects`` carry only what the hits show
    (``HIT_COLUMNS``), not every column a list page renders."""
    from otdel.crm import selectors  # selectors builds on this module's neighbours; import late

    query = text if isinstance(text, Query) else parse(text)
    groups: dict[str, list[Hit]] = {kind: [] for kind in KINDS}
    counts: dict[str, tuple[int, bool]] = {kind: (0, False) for kind in KINDS}
    objects: dict[str, list[Any]] = {kind: [] for kind in KINDS}
    if query.empty:
        return Found(query, groups, counts, objects)
    sources = {
        "contacts": lambda: selectors.contact_list(user=user),
        # The scope alone: the list's per-company contact count would make the search a GROUP BY.
        "companies": lambda: scope(Company.objects.all(), user),
        "deals": lambda: selectors.deal_list(user=user),
        "leads": lambda: selectors.lead_list(user=user),
    }
    for kind in kinds:
        qs = sources[kind]()
        if hits_only:
            related, columns = HIT_COLUMNS[kind]
            qs = qs.select_related(None).select_related(*related).only(*columns)
        if kind == "contacts" and query.by_identity:
            qs = qs.prefetch_related(None)  # the matched phone or e-mail came with the lookup
        found = filter_queryset(qs, kind, query)
        if kind == "contacts" and query.by_identity and len(query.contact_ids()) <= limit:
            # A phone or e-mail a few people hold: load them at once (the loading counts them).
            rows = list(found[:limit])
            ranked = [row.pk for row in rows]
        else:
            # Rank on a lean query (no joins for display), then load the few rows with their joins.
            # The same query counts (up to FIND_COUNT_CAP): no second pass over the matches.
            ranked = [
                row[0]
                for row in found.values_list("pk", "search_score", "search_len")[
                    : FIND_COUNT_CAP + 1 if count else limit
                ]
            ]
            ids = ranked[:limit]
            loaded = qs.in_bulk(ids) if ids else {}
            rows = [loaded[pk] for pk in ids if pk in loaded]
        objects[kind] = rows
        if count:
            counts[kind] = (min(len(ranked), FIND_COUNT_CAP), len(ranked) > FIND_COUNT_CAP)
        for row in rows:
            groups[kind].append(_hit(kind, row, query))
    return Found(query, groups, counts, objects)


def _hit(kind: str, row: Any, query: Query) -> Hit:
    if kind == "contacts":
        company = f" · {row.company.name}" if row.company_id else ""
        detail = _identity_detail(row, query)
        extra = highlight(f"{row.position}{company}".strip(" ·"), query)
        return Hit(
            kind,
            row.pk,
            reverse("contact_detail", args=[row.pk]),
            highlight(row.full_name, query),
            mark_safe(" · ".join(str(part) for part in (detail, extra) if part)),
        )
    if kind == "companies":
        inn = highlight(f"{_('INN')} {row.inn}", query) if row.inn else ""
        return Hit(kind, row.pk, reverse("company_detail", args=[row.pk]), highlight(row.name, query), inn)
    if kind == "deals":
        detail = escape(" · ".join(filter(None, [str(row.stage), str(row.contact or "")])))
        return Hit(kind, row.pk, reverse("deal_detail", args=[row.pk]), highlight(row.title, query), detail)
    title = highlight(f"#{row.pk} {row.contact.full_name}", query)
    return Hit(kind, row.pk, reverse("lead_detail", args=[row.pk]), title, escape(row.get_status_display()))
