"""Input validation: raw message bytes -> ``Story``, or a ``Rejected`` that says what and why.

The JSON Schema in ``schemas/story.schema.json`` is the contract; it is compiled once. Both the
plain form and IPTC ninjs 2.x (``headlines[0].value``, ``bodies[0].value``, string ``version``)
map to the same ``Story``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from functools import lru_cache
from importlib import resources
from typing import Any

import orjson
from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError, best_match

from .models import Rejection, Story


class Rejected(Exception):
    """A message that cannot become a story; ``rejection`` goes to the dead-letter topic."""

    def __init__(self, rejection: Rejection) -> None:
        super().__init__(rejection.detail)
        self.rejection = rejection


def load_schema(name: str) -> dict[str, Any]:
    """One of the public JSON Schemas shipped with the package (``story``, ``event``, ...)."""
    text = resources.files("streams").joinpath("schemas", f"{name}.schema.json").read_text("utf-8")
    return json.loads(text)


@lru_cache(maxsize=None)
def validator(name: str) -> Draft202012Validator:
    schema = load_schema(name)
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def _path(error: ValidationError) -> str:
    parts = [str(p) for p in error.absolute_path]
    return ".".join(parts) if parts else "(document)"


def _describe(error: ValidationError) -> Rejection:
    """Name the field and the rule it broke, in words a feed engineer can act on."""
    if error.validator == "anyOf" and not error.absolute_path:
        return Rejection("schema", "body_text: required — a story needs non-empty body_text "
                         "(or ninjs bodies[0].value)", "body_text")
    field = _path(error)
    if error.validator == "required":
        missing = error.message.split("'")[1] if "'" in error.message else error.message
        field = missing if field == "(document)" else f"{field}.{missing}"
        return Rejection("schema", f"{field}: required", field)
    rule = error.validator
    if field == "uri" and rule == "not":
        return Rejection("schema", "uri: control — a uri must not contain control characters (NUL, newline, "
                         "ANSI escapes) or bidirectional overrides", field)
    if rule in {"minLength", "pattern"} and isinstance(error.instance, str) and not error.instance.strip():
        return Rejection("schema", f"{field}: must not be empty", field)
    return Rejection("schema", f"{field}: {rule} — {error.message}", field)


MAX_VERSION = 2**53 - 1  # what every JSON consumer reads exactly (a double's integer range)
# Story times, as UNIX seconds: 0001-01-01T00:00:00Z .. 9999-12-31T23:59:59.999999Z (UTC).
MIN_TIME = -62135596800.0
MAX_TIME = 253402300800.0  # exclusive
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)

# Refused in a uri (it is a key, a log field, a URL path): C0 and C1 controls (NUL, newline, ESC of
# ANSI escapes) and the bidirectional marks/overrides that make text display other than it reads.
# The same class is in schemas/story.schema.json ("uri": "not": "pattern").
_FORBIDDEN_IN_URI = re.compile(r"[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
# Removed from headline, body and source: the same, but the whitespace controls (tab, newlines, form
# feed, NEL), which normalization turns into spaces and line breaks. ANSI escape sequences go whole.
_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f\x7f-\x84\x86-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_ANSI = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)?|[@-Z\\-_])")


def strip_controls(text: str) -> str:
    """``text`` without control characters (but whitespace ones), ANSI escapes and bidi overrides."""
    if _CONTROL.search(text) is None:
        return text
    if "\x1b" in text:
        text = _ANSI.sub("", text)
    return _CONTROL.sub("", text)


def parse_time(value: str) -> float:
    """RFC 3339 -> UNIX seconds. Naive times are taken as UTC."""
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    parsed = datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed.timestamp()


def format_time(seconds: float) -> str:
    """UNIX seconds -> RFC 3339 UTC with a Z, to the second, always with a four-digit year.

    (``strftime("%Y")`` writes year 1 as ``1``, and ``fromtimestamp`` fails before 1970 on some
    platforms; times outside years 1..9999 never get this far, see ``story_from_document``.)
    """
    t = _EPOCH + timedelta(seconds=int(seconds // 1))
    return f"{t.year:04d}-{t.month:02d}-{t.day:02d}T{t.hour:02d}:{t.minute:02d}:{t.second:02d}Z"


def _first_value(items: Any) -> str:
    if isinstance(items, list) and items and isinstance(items[0], dict):
        value = items[0].get("value")
        return value if isinstance(value, str) else ""
    return ""


# Properties of the story schema that the plain-form fast path does not check itself: a document
# with any of them goes through the full validator.
_NINJS_FIELDS = ("headlines", "bodies", "copyrightholder", "infosources", "altids")
_OPTIONAL_STRINGS = (("headline", 4096), ("language", 35), ("source", 512), ("url", 4096))
_NON_SPACE = re.compile(r"\S")


def _plain_story_valid(doc: dict[str, Any]) -> bool:
    """True only for a plain-form story the schema accepts (False: ask the full validator).

    Walking the schema with ``jsonschema`` costs ~0.1-0.3 ms a story; these checks are the
    schema's own rules for the plain form, written out (``format`` is not asserted by the
    validator, so ``versioncreated`` only has to be a string or null). Anything unusual — a ninjs
    field, a string version, a bool or float where an int is expected — is left to the validator,
    so the answer is the same and a refusal is described the same way.
    """
    uri = doc.get("uri")
    body = doc.get("body_text")
    if (type(uri) is not str or not 1 <= len(uri) <= 2048 or _NON_SPACE.search(uri) is None
            or _FORBIDDEN_IN_URI.search(uri) is not None
            or type(body) is not str or _NON_SPACE.search(body) is None):
        return False
    if "version" in doc:
        version = doc["version"]
        if type(version) is not int or not 1 <= version <= MAX_VERSION:
            return False
    for name, longest in _OPTIONAL_STRINGS:
        value = doc.get(name)
        if value is not None and (type(value) is not str or len(value) > longest):
            return False
    created = doc.get("versioncreated")
    if created is not None and type(created) is not str:
        return False
    return not any(name in doc for name in _NINJS_FIELDS)


#: A run of letters (digits, underscore, marks, symbols and invisible characters end it).
_LETTERS = re.compile(r"[^\W\d_]+")


def _words(text: str) -> Iterator[str]:
    """Runs of letters (``\\w`` also takes other numerals such as "²": those split a run)."""
    for match in _LETTERS.finditer(text):
        run = match.group()
        if run.isalpha():
            yield run
            continue
        part: list[str] = []
        for ch in run:
            if ch.isalpha():
                part.append(ch)
            elif part:
                yield "".join(part)
                part = []
        if part:
            yield "".join(part)


def has_words(text: str) -> bool:
    """Whether ``text`` holds language: a word of two different letters at least, and more
    than one word repeated (1 MB of "a", "ok ok ok ok", emoji, punctuation, zero-width or NUL
    characters are not). Linear in the text, stops at the second distinct word."""
    first: str | None = None
    repeats = 0
    for word in _words(text):
        if len(word) < 2 or word.count(word[0]) == len(word):
            continue  # one letter, or one letter repeated
        word = word.casefold()
        if first is None:
            first = word
        elif word != first:
            return True
        else:
            repeats += 1
    return first is not None and repeats == 0


def story_from_document(doc: Any, *, arrival: float) -> Story:
    """A decoded JSON document -> ``Story`` (raises ``Rejected``)."""
    if not isinstance(doc, dict):
        raise Rejected(Rejection("schema", f"(document): type — expected a JSON object, got {type(doc).__name__}"))
    if not _plain_story_valid(doc):
        errors = list(validator("story").iter_errors(doc))
        if errors:
            raise Rejected(_describe(best_match(errors)))
    body = doc.get("body_text") or _first_value(doc.get("bodies"))
    headline = doc.get("headline") or _first_value(doc.get("headlines")) or ""
    version = int(doc.get("version", 1))
    if not 1 <= version <= MAX_VERSION:
        raise Rejected(Rejection("schema", f"version: range — must be 1..{MAX_VERSION}", "version"))
    created = doc.get("versioncreated")
    if created:
        try:
            when = parse_time(created)
        except (ValueError, OverflowError):
            raise Rejected(Rejection("schema", f"versioncreated: format — {created[:64]!r} is not an RFC 3339 "
                                     "date-time", "versioncreated")) from None
        if not MIN_TIME <= when < MAX_TIME:
            raise Rejected(Rejection("schema", f"versioncreated: range — {created[:64]!r} is outside years "
                                     "0001-9999 in UTC", "versioncreated"))
    else:
        when = arrival
        if not MIN_TIME <= when < MAX_TIME:  # a producer's record timestamp can be anything
            raise Rejected(Rejection("schema", "versioncreated: range — absent, and the message time is outside "
                                     "years 0001-9999", "versioncreated"))
    body = strip_controls(body)  # (controls are not words either)
    if not has_words(body):
        # nothing a language can be told from, nothing to cluster by: never an event
        raise Rejected(Rejection("no_text", "body_text: no text — no words in it (only marks, "
                                 "digits, emoji, invisible characters or one token repeated)",
                                 "body_text"))
    source = doc.get("source")
    if not source:
        infosources = doc.get("infosources")
        if isinstance(infosources, list) and infosources and isinstance(infosources[0], dict):
            source = infosources[0].get("name")
        source = source or doc.get("copyrightholder")
    return Story(
        uri=doc["uri"].strip(),
        body_text=body,
        version=version,
        headline=strip_controls(headline).strip(),
        versioncreated=when,
        language_hint=(doc.get("language") or None),
        source=strip_controls(source) if source else None,
        url=strip_controls(doc["url"]) if doc.get("url") else None,
    )


def decode_story(raw: bytes | str, *, max_bytes: int = 1024 * 1024, arrival: float) -> Story:
    """Raw message value -> ``Story``; every refusal is a ``Rejected`` with a reason."""
    data = raw.encode("utf-8") if isinstance(raw, str) else raw
    if data is None or len(data) == 0:
        raise Rejected(Rejection("empty", "empty message"))
    if len(data) > max_bytes:
        raise Rejected(Rejection("too_large", f"message is {len(data)} bytes, over the limit of {max_bytes}"))
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise Rejected(Rejection("not_utf8", f"not UTF-8: {exc.reason} at byte {exc.start}")) from None
    try:
        doc = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise Rejected(Rejection("not_json", f"not JSON: {exc}")) from None
    return story_from_document(doc, arrival=arrival)
