"""A hostile corpus: inputs an attacker or a broken producer sends to ``wire.stories``.

Generated here (not data files): each :class:`Hostile` is one kind, with the raw bytes and what
must become of it — refused with a given dead-letter reason, or processed (after cleaning). Used
by ``tests/unit/test_hostile.py`` (replay, the core in-process) and
``tests/integration/test_hostile_stream.py`` (a real worker on the embedded broker).
"""

from __future__ import annotations

from dataclasses import dataclass

import orjson

BODY = "Officials in Tamsvik said the harbour bridge reopened on Tuesday after three weeks of repairs."


@dataclass(frozen=True)
class Hostile:
    kind: str
    raw: bytes
    expect: str  # "processed", or the dead-letter reason (not_json, schema, too_large, ...)
    uri: str | None = None  # the uri a processed story comes out with
    # set when the outcome is decided by another issue's rule (wordless bodies): either is fine
    either: bool = False
    stream_only: bool = False  # replay skips blank lines: not a replay case


DROP = object()  # a field value meaning "leave the field out"


def _doc(kind: str, **fields: object) -> dict:
    doc = {"uri": f"urn:hostile:{kind}", "body_text": BODY, "versioncreated": "2024-05-01T10:00:00Z", **fields}
    return {k: v for k, v in doc.items() if v is not DROP}


def _json(kind: str, expect: str, *, either: bool = False, **fields: object) -> Hostile:
    doc = _doc(kind, **fields)
    uri = doc.get("uri") if isinstance(doc.get("uri"), str) else None
    return Hostile(kind, orjson.dumps(doc), expect, uri if expect == "processed" else None, either=either)


def _nested(depth: int) -> bytes:
    inner = b"[" * depth + b"]" * depth
    return b'{"uri": "urn:hostile:nest%d", "body_text": "%s", "extra": %s}' % (depth, BODY.encode(), inner)


def corpus(max_message_bytes: int = 1024 * 1024) -> list[Hostile]:
    """Every kind, in a fixed order (≥ 30 kinds)."""
    words = ("Go", "No", "Up", "Ok", "Hi", "So", "We", "Me", "He", "Be")
    huge_sentences = " ".join(f"{words[i % 10]}." for i in range(200_000))  # 200,000 sentences, < 1 MiB
    out = [
        # --- not a JSON object
        Hostile("empty", b"", "empty", stream_only=True),
        Hostile("not_json", b"{this is not json", "not_json"),
        Hostile("truncated_json", orjson.dumps(_doc("truncated"))[:40], "not_json"),
        Hostile("not_utf8", b'{"uri": "urn:hostile:latin1", "body_text": "Caf\xe9 au lait."}', "not_utf8"),
        Hostile("utf16", _doc("utf16").__repr__().encode("utf-16"), "not_utf8"),
        Hostile("bom", b"\xef\xbb\xbf" + orjson.dumps(_doc("bom")), "not_json"),
        Hostile("nan_literal", b'{"uri": "urn:hostile:nan", "body_text": "x y z", "version": NaN}', "not_json"),
        Hostile("lone_surrogate", b'{"uri": "urn:hostile:sur\\ud800", "body_text": "Text here."}', "not_json"),
        Hostile("array", b"[1, 2, 3]", "schema"),
        Hostile("string", b'"just a string"', "schema"),
        Hostile("null", b"null", "schema"),
        Hostile("number", b"12345678901234567890123456789", "schema"),
        # --- wrong types and missing fields
        Hostile("no_uri", orjson.dumps({"body_text": BODY}), "schema"),
        Hostile("no_body", orjson.dumps({"uri": "urn:hostile:nobody"}), "schema"),
        _json("uri_int", "schema", uri=42),
        _json("body_list", "schema", body_text=["a", "b"]),
        _json("headline_number", "schema", headline=3.14),
        _json("bodies_not_list", "schema", body_text=DROP, bodies={"value": BODY}),
        _json("blank_body", "schema", body_text=" \n\t "),
        # --- versions
        Hostile("version_huge_int", b'{"uri": "urn:hostile:vhuge", "body_text": "%s", "version": '
                b'1000000000000000000000000000000}' % BODY.encode(), "schema"),
        _json("version_2_53", "schema", version=2**53),
        _json("version_max", "processed", version=2**53 - 1),
        _json("version_zero", "schema", version=0),
        _json("version_negative", "schema", version=-5),
        _json("version_float", "schema", version=1.5),
        _json("version_bool", "schema", version=True),
        _json("version_string_huge", "schema", version="99999999999999999999"),
        _json("version_string_over", "schema", version="9007199254740992"),
        # --- times
        _json("time_far_future", "schema", versioncreated="9999-12-31T23:59:59-14:00"),
        _json("time_far_past", "schema", versioncreated="0001-01-01T00:00:00+01:00"),
        _json("time_year_1", "processed", versioncreated="0001-01-01T00:00:00Z"),
        _json("time_year_9999", "processed", versioncreated="9999-12-31T23:59:59Z"),
        _json("time_garbage", "schema", versioncreated="yesterday at noon"),
        _json("time_number", "schema", versioncreated=1714557600),
        # --- control characters
        _json("uri_nul", "schema", uri="urn:hostile:nul\x00x"),
        _json("uri_newline", "schema", uri="urn:hostile:nl\ninjected: yes"),
        _json("uri_rtl_override", "schema", uri="urn:hostile:\u202egpj.exe"),
        _json("uri_ansi", "schema", uri="urn:hostile:\x1b[31mred"),
        _json("uri_too_long", "schema", uri="urn:hostile:" + "x" * 3000),
        _json("uri_blank", "schema", uri="   "),
        _json("headline_ansi", "processed", headline="\x1b[2J\x1b[31mBridge\x1b[0m reopens\x07"),
        _json("headline_bidi", "processed", headline="Bridge \u202ereopens\u202c today"),
        _json("body_controls", "processed", body_text=BODY + "\x00\x1b[1m Crews\x1b[0m worked\x08 at night.\tDone."),
        _json("source_url_controls", "processed", source="AFP\x1b]0;pwned\x07", url="https://x.example/a\x00b"),
        # wordless once cleaned: the "no text" rule decides (refused or kept), either is handled
        _json("only_controls", "processed", either=True, body_text="\x00\x01\x02\x1b[0m"),
        # --- sizes and shapes
        _json("headline_too_long", "schema", headline="H" * 5000),
        _json("language_too_long", "schema", language="x" * 100),
        Hostile("too_large", orjson.dumps(_doc("big", body_text="word " * (max_message_bytes // 5 + 10))),
                "too_large"),
        _json("huge_body_sentences", "processed", body_text=huge_sentences),
        Hostile("deep_nesting_ok", _nested(200), "processed", "urn:hostile:nest200"),
        Hostile("deep_nesting_too_deep", _nested(100_000), "not_json"),
        Hostile("duplicate_keys", b'{"uri": "urn:hostile:dup1", "uri": "urn:hostile:dup2", "body_text": "%s"}'
                % BODY.encode(), "processed", "urn:hostile:dup2"),
        _json("unknown_huge_number", "processed", extra=1e308),
        Hostile("unknown_big_int", b'{"uri": "urn:hostile:bigx", "body_text": "%s", "x": 1%s}'
                % (BODY.encode(), b"0" * 40), "processed", "urn:hostile:bigx"),
        Hostile("infinite_number", b'{"uri": "urn:hostile:inf", "body_text": "%s", "x": 1%s}'
                % (BODY.encode(), b"0" * 400), "not_json"),
        _json("ninjs_version_zero", "schema", body_text=DROP, bodies=[{"value": BODY}], version="0"),
        _json("ninjs_ok", "processed", body_text=DROP, bodies=[{"value": BODY}], version="3",
              headlines=[{"value": "Bridge \x1b[5mreopens"}]),
    ]
    assert len({h.kind for h in out}) == len(out)
    return out
