"""The pure webhook core: endpoints, envelope, Standard Webhooks signatures, retries, filters."""

from __future__ import annotations

import base64
import json
import re
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import jsonschema
import orjson
import pytest
import standardwebhooks
from hypothesis import given, settings
from hypothesis import strategies as st
from referencing import Registry, Resource

from streams.config import DEFAULT_WEBHOOK_RETRY_SCHEDULE, ConfigError, Settings
from streams.core import webhooks as wh
from streams.core.webhooks import (
    Decision,
    Filters,
    RetryPolicy,
    WebhookConfigError,
    WebhookVerificationError,
)

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "README.md"

SECRET = "whsec_" + base64.b64encode(bytes(range(32))).decode()
SECRET_B = "whsec_" + base64.b64encode(bytes(range(100, 132))).decode()


def make_alert(alert_id: str = "al-0123456789abcdef", *, lang: str = "en", source: str | None = "Xinhua",
               facts: int = 1, event_id: str = "ev-42") -> dict:
    return {
        "alert_id": alert_id,
        "type": "story_update",
        "kind": "new_story",
        "event_id": event_id,
        "story": {"uri": "urn:x:2", "version": 1, "headline": "Xi meets Mishustin", "source": source,
                  "lang": lang, "url": None, "versioncreated": "2024-08-21T10:00:00Z"},
        "new_facts": [{"text": f"The ministers signed agreement {i} on trade in services.",
                       "terms": ["agreements", "services"], "names": [], "numbers": []} for i in range(facts)],
        "event": {"headline": "Xi meets Mishustin", "lang": lang, "story_count": 2,
                  "sources": ["Xinhua", "TASS"], "first_seen": "2024-08-21T09:00:00Z",
                  "last_update": "2024-08-21T10:00:00Z"},
        "created_at": "2024-08-21T10:00:00Z",
    }


def schema_validator(name: str) -> jsonschema.protocols.Validator:
    """A validator for schemas/<name>.schema.json, with the other schemas resolvable by $id."""
    resources = []
    for path in (ROOT / "schemas").glob("*.schema.json"):
        doc = json.loads(path.read_text())
        resources.append((doc["$id"], Resource.from_contents(doc)))
    registry = Registry().with_resources(resources)
    schema = json.loads((ROOT / "schemas" / f"{name}.schema.json").read_text())
    return jsonschema.Draft202012Validator(schema, registry=registry,
                                           format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)


def doc_snippet() -> str:
    """The receiver snippet of README.md, exactly as documented."""
    text = DOC.read_text()
    match = re.search(r"<!-- verify-snippet -->\s*```python\n(.*?)```", text, re.DOTALL)
    assert match, "README.md lost its verification snippet"
    return match.group(1)


def doc_verify():
    namespace: dict = {}
    exec(compile(doc_snippet(), str(DOC), "exec"), namespace)  # noqa: S102 - our own documentation
    return namespace["verify_webhook"]


def signed(alert: dict, secret: str = SECRET, ts: int | None = None) -> tuple[dict, bytes]:
    key = wh.decode_secret(secret, "test")
    body = wh.body_bytes(alert)
    return wh.signed_headers([key], alert["alert_id"], int(time.time()) if ts is None else ts, body), body


# ---- signatures ----------------------------------------------------------------------------

def test_alert_fixture_is_a_valid_alert():
    schema_validator("story-update").validate(make_alert())


def test_signature_verifies_with_reference_library_doc_snippet_and_core():
    headers, body = signed(make_alert())
    assert headers["content-type"] == "application/cloudevents+json"
    assert headers["webhook-id"] == "al-0123456789abcdef"
    assert headers["webhook-signature"].startswith("v1,")
    ref = standardwebhooks.Webhook(SECRET).verify(body, headers)
    assert ref["data"] == make_alert()
    assert doc_verify()(SECRET, headers, body)["id"] == "al-0123456789abcdef"
    assert wh.verify(SECRET, headers, body, now=time.time())["subject"] == "ev-42"


def test_reference_library_signature_equals_ours():
    key = wh.decode_secret(SECRET, "t")
    body = wh.body_bytes(make_alert())
    ts = 1_724_234_400
    ref = standardwebhooks.Webhook(SECRET).sign("al-1", datetime.fromtimestamp(ts, tz=UTC), body.decode())
    assert wh.sign(key, "al-1", ts, body) == ref


@settings(max_examples=60, deadline=None)
@given(msg_id=st.text(alphabet=st.characters(min_codepoint=33, max_codepoint=126), min_size=1, max_size=40),
       body=st.text(max_size=300), key=st.binary(min_size=24, max_size=64), skew=st.integers(-299, 299))
def test_interop_with_reference_library(msg_id, body, key, skew):
    secret = "whsec_" + base64.b64encode(key).decode()
    now = int(time.time())
    ts = now + skew
    raw = orjson.dumps({"text": body})
    headers = wh.signed_headers([key], msg_id, ts, raw)
    assert standardwebhooks.Webhook(secret).verify(raw, headers) == {"text": body}
    ref_sig = standardwebhooks.Webhook(secret).sign(msg_id, datetime.fromtimestamp(ts, tz=UTC), raw.decode())
    assert ref_sig == headers["webhook-signature"]
    ref_headers = {"webhook-id": msg_id, "webhook-timestamp": str(ts), "webhook-signature": ref_sig}
    assert wh.verify(secret, ref_headers, raw, now=now) == {"text": body}


def test_verify_rejects_tampering_staleness_and_missing_headers():
    alert = make_alert()
    now = 1_724_234_400
    headers, body = signed(alert, ts=now)
    wh.verify(SECRET, headers, body, now=now + 299)
    for bad_body in (body + b" ", body.replace(b"Xi", b"Xo")):
        with pytest.raises(WebhookVerificationError):
            wh.verify(SECRET, headers, bad_body, now=now)
    with pytest.raises(WebhookVerificationError, match="tolerance"):
        wh.verify(SECRET, headers, body, now=now + 301)
    with pytest.raises(WebhookVerificationError, match="tolerance"):
        wh.verify(SECRET, headers, body, now=now - 301)
    with pytest.raises(WebhookVerificationError):
        wh.verify(SECRET_B, headers, body, now=now)
    with pytest.raises(WebhookVerificationError, match="missing"):
        wh.verify(SECRET, {k: v for k, v in headers.items() if k != "webhook-signature"}, body, now=now)
    replayed = dict(headers, **{"webhook-id": "al-other"})
    with pytest.raises(WebhookVerificationError):
        wh.verify(SECRET, replayed, body, now=now)


def test_doc_snippet_rejects_what_it_should():
    verify = doc_verify()
    headers, body = signed(make_alert())
    with pytest.raises(ValueError):
        verify(SECRET_B, headers, body)
    with pytest.raises(ValueError):
        verify(SECRET, headers, body + b"\n")
    old, body = signed(make_alert(), ts=int(time.time()) - 3600)
    with pytest.raises(ValueError):
        verify(SECRET, old, body)
    with pytest.raises(ValueError):
        verify(SECRET, {}, body)


def test_key_rotation_signs_with_every_key():
    keys = [wh.decode_secret(s, "t") for s in (SECRET, SECRET_B)]
    body = wh.body_bytes(make_alert())
    headers = wh.signed_headers(keys, "al-1", int(time.time()), body)
    assert len(headers["webhook-signature"].split()) == 2
    for secret in (SECRET, SECRET_B):
        standardwebhooks.Webhook(secret).verify(body, headers)
        doc_verify()(secret, headers, body)


# ---- envelope ------------------------------------------------------------------------------

def test_cloudevents_envelope():
    alert = make_alert()
    env = orjson.loads(wh.body_bytes(alert, "urn:wirestream:test"))
    assert env == {"specversion": "1.0", "type": "dev.wirestream.story_update", "source": "urn:wirestream:test",
                   "id": alert["alert_id"], "time": alert["created_at"], "subject": "ev-42",
                   "datacontenttype": "application/json", "dataschema": wh.DATASCHEMA, "data": alert}


def test_body_is_deterministic_whatever_the_key_order():
    alert = make_alert()
    shuffled = json.loads(json.dumps(dict(reversed(list(alert.items())))))
    shuffled["story"] = dict(reversed(list(alert["story"].items())))
    assert wh.body_bytes(alert) == wh.body_bytes(shuffled)


# ---- endpoint config -----------------------------------------------------------------------

@pytest.mark.parametrize("url,expect", [
    ("ftp://files.example.com/x", "http:// or https://"),
    ("file:///etc/passwd", "http:// or https://"),
    ("javascript:alert(1)", "http:// or https://"),
    ("hooks.example.com/x", "no scheme"),
    ("garbage", "no scheme"),
    ("http://", "no host"),
    ("https:///path", "no host"),
    ("http://host:99999/x", "not a valid URL"),
    ("http://exa mple.com/", "whitespace"),
    ("", "missing"),
])
def test_bad_urls_refused_naming_the_entry(url, expect):
    with pytest.raises(WebhookConfigError) as info:
        wh.endpoints_from_config(urls=["https://ok.example.com/a", url], secret=SECRET)
    message = str(info.value)
    assert "WIRESTREAM_WEBHOOKS entry #2" in message and expect in message
    assert isinstance(info.value, ConfigError)


def test_url_error_never_shows_credentials_or_a_secret():
    with pytest.raises(WebhookConfigError) as info:
        wh.endpoints_from_config(urls=["ftp://bob:hunter2@example.com/x?token=s3cr3t"], secret=SECRET)
    assert "hunter2" not in str(info.value) and "s3cr3t" not in str(info.value)
    with pytest.raises(WebhookConfigError) as info:  # secret and URL swapped by mistake
        wh.endpoints_from_config(urls=[SECRET], secret=SECRET)
    assert SECRET not in str(info.value) and SECRET[6:] not in str(info.value)


@pytest.mark.parametrize("secret,expect", [
    (None, "no signing secret"),
    ("", "no signing secret"),
    ("plain-password-1234567890", "must be 'whsec_'"),
    ("whsec_not*base64!", "not valid base64"),
    ("whsec_" + base64.b64encode(b"short").decode(), "decodes to 5 bytes"),
])
def test_bad_secrets_refused_without_echo(secret, expect):
    with pytest.raises(WebhookConfigError) as info:
        wh.endpoints_from_config(urls=["https://a.example.com/x"], secret=secret)
    assert expect in str(info.value) and "entry #1" in str(info.value)
    if secret:
        assert secret not in str(info.value)


def test_unpadded_secret_accepted_like_the_reference():
    key = bytes(range(40, 73))  # 33 bytes: base64 needs padding
    unpadded = "whsec_" + base64.b64encode(key).decode().rstrip("=")
    assert wh.decode_secret(unpadded, "t") == key


def test_endpoint_repr_has_no_secret_nor_credentials():
    (ep,) = wh.endpoints_from_config(urls=["https://bob:hunter2@h.example.com/p?token=s3cr3t&x"], secret=SECRET)
    text = repr(ep) + str(ep) + ep.display_url
    for hidden in ("hunter2", "bob", "s3cr3t", SECRET[6:], repr(ep.keys[0])):
        assert hidden not in text
    assert ep.display_url == "https://***@h.example.com/p?token=***&***"
    assert ep.id == wh.endpoint_id(ep.url) and ep.id.startswith("ep-")


def test_scrub_removes_url_secrets_from_error_text():
    url = "https://bob:hunter2@h.example.com/p?token=s3cr3t"
    text = wh.scrub(f"Cannot connect to {url} (user bob:hunter2, q token=s3cr3t)", url)
    assert "hunter2" not in text and "s3cr3t" not in text


TOML = """
secret_env = "HOOK_DEFAULT"
timeout = 3
[[endpoints]]
id = "newsroom"
url = "https://hooks.example.com/wire"
filters = { languages = ["EN", "de"], sources = ["Reuters"], min_new_facts = 2 }
[[endpoints]]
url = "http://127.0.0.1:8080/in"
secret = "{SECRET_B}"
max_attempts = 3
""".replace("{SECRET_B}", SECRET_B)


def test_toml_config_with_filters_and_defaults():
    config = wh.parse_config_text(TOML, "hooks.toml")
    eps = wh.endpoints_from_config(urls=["https://env.example.com/x"], secret=SECRET, config=config,
                                   environ={"HOOK_DEFAULT": SECRET_B}, timeout=10, max_attempts=8)
    env_ep, newsroom, local = eps
    assert env_ep.keys == (wh.decode_secret(SECRET, "t"),) and env_ep.timeout == 10
    assert newsroom.id == "newsroom" and newsroom.timeout == 3 and newsroom.keys == local.keys
    assert newsroom.filters == Filters(frozenset({"en", "de"}), frozenset({"reuters"}), 2)
    assert local.max_attempts == 3 and newsroom.max_attempts == 8


def test_json_config_and_errors_name_the_file_endpoint():
    text = json.dumps({"endpoints": [{"url": "https://a.example.com", "secret": SECRET},
                                     {"url": "gopher://b.example.com", "secret": SECRET}]})
    with pytest.raises(WebhookConfigError, match=r"hooks.json endpoint #2: .*http:// or https://"):
        wh.endpoints_from_config(config=wh.parse_config_text(text, "hooks.json"), config_name="hooks.json")
    with pytest.raises(WebhookConfigError, match="cannot parse"):
        wh.parse_config_text("{not json", "hooks.json")
    with pytest.raises(WebhookConfigError, match="unknown key"):
        wh.endpoints_from_config(config={"endpoints": [{"url": "https://a.example.com", "secert": SECRET}]})
    with pytest.raises(WebhookConfigError, match="duplicates endpoint #1"):
        wh.endpoints_from_config(urls=["https://a.example.com", "https://a.example.com"], secret=SECRET)
    with pytest.raises(WebhookConfigError, match="HOOK_X"):
        wh.endpoints_from_config(config={"endpoints": [{"url": "https://a.example.com", "secret_env": "HOOK_X"}]})


def test_documented_toml_example_parses():
    block = re.search(r"```toml\n(.*?)```", DOC.read_text(), re.DOTALL).group(1)
    block = block.replace('"whsec_NEW..."', f'"{SECRET}"').replace('"whsec_OLD..."', f'"{SECRET_B}"')
    eps = wh.endpoints_from_config(config=wh.parse_config_text(block, "webhooks.toml"),
                                   environ={"WIRESTREAM_WEBHOOK_SECRET": SECRET, "NEWSROOM_WEBHOOK_SECRET": SECRET_B})
    assert [len(ep.keys) for ep in eps] == [1, 2] and eps[0].filters.min_new_facts == 2


def test_settings_feed_the_endpoints(tmp_path):
    from streams.runtime.delivery import load_endpoints

    path = tmp_path / "hooks.toml"
    path.write_text(TOML)
    s = Settings.from_env({"WIRESTREAM_WEBHOOKS": "https://a.example.com/x", "WIRESTREAM_WEBHOOK_SECRET": SECRET,
                           "WIRESTREAM_WEBHOOK_CONFIG": str(path), "WIRESTREAM_WEBHOOK_TIMEOUT": "2.5",
                           "WIRESTREAM_WEBHOOK_ALLOW_PRIVATE": "1"})  # the file has a 127.0.0.1 endpoint
    eps = load_endpoints(s, environ={"HOOK_DEFAULT": SECRET})
    assert [ep.timeout for ep in eps] == [2.5, 3.0, 3.0]
    with pytest.raises(WebhookConfigError, match="cannot read"):
        load_endpoints(s.with_(webhook_config=str(tmp_path / "missing.toml")))
    with pytest.raises(ConfigError, match="webhook_max_attempts"):
        Settings.from_env({"WIRESTREAM_WEBHOOK_MAX_ATTEMPTS": "-1"})


def test_retry_schedule_setting_takes_durations():
    s = Settings.from_env({"WIRESTREAM_WEBHOOK_RETRY_SCHEDULE": "500ms, 5s,2m, 1.5h,1d,7"})
    assert s.webhook_retry_schedule == (0.5, 5.0, 120.0, 5400.0, 86400.0, 7.0)
    for bad in ("5x", "soon", "-1s", "inf", ","):
        with pytest.raises(ConfigError, match="WEBHOOK_RETRY_SCHEDULE|webhook_retry_schedule"):
            Settings.from_env({"WIRESTREAM_WEBHOOK_RETRY_SCHEDULE": bad})
    assert Settings().webhook_retry_schedule == DEFAULT_WEBHOOK_RETRY_SCHEDULE


# ---- where webhooks may go -----------------------------------------------------------------

@pytest.mark.parametrize("address,kind", [
    ("127.0.0.1", "loopback"), ("127.8.9.10", "loopback"), ("::1", "loopback"),
    ("169.254.169.254", "link-local"), ("fe80::1", "link-local"), ("10.0.0.1", "private"),
    ("172.16.5.4", "private"), ("192.168.1.1", "private"), ("fd00::1", "private"),
    ("::ffff:10.0.0.1", "private"), ("::ffff:127.0.0.1", "loopback"), ("0.0.0.0", "unspecified"),
    ("224.0.0.1", "multicast"), ("100.64.0.1", "non-global"), ("192.0.2.1", "private"),
    ("8.8.8.8", None), ("1.1.1.1", None), ("2001:4860:4860::8888", None), ("93.184.216.34", None),
])
def test_address_kind(address, kind):
    assert wh.address_kind(address) == kind


def test_private_webhook_urls_refused_at_startup_naming_the_setting():
    from streams.runtime.delivery import load_endpoints

    names = {"hooks.internal": ["10.1.2.3"], "hooks.example.com": ["93.184.216.34"],
             "mixed.example.com": ["93.184.216.34", "127.0.0.1"]}

    def resolve(host):
        if host not in names:
            raise OSError(-2, "Name or service not known")
        return names[host]

    for url, setting, shown in (
        ("http://127.0.0.1:8080/x", "WIRESTREAM_WEBHOOKS entry #2", "loopback"),
        ("http://[::1]/x", "WIRESTREAM_WEBHOOKS entry #2", "loopback"),
        ("http://169.254.169.254/latest/meta-data/", "WIRESTREAM_WEBHOOKS entry #2", "link-local"),
        ("https://10.0.0.1/x", "WIRESTREAM_WEBHOOKS entry #2", "private"),
        ("https://hooks.internal/x", "WIRESTREAM_WEBHOOKS entry #2", "resolves to 10.1.2.3, is a private"),
        ("https://mixed.example.com/x", "WIRESTREAM_WEBHOOKS entry #2", "resolves to 127.0.0.1"),
    ):
        s = Settings(webhooks=("https://hooks.example.com/in", url), webhook_secret=SECRET)
        with pytest.raises(WebhookConfigError) as info:
            load_endpoints(s, resolve=resolve)
        message = str(info.value)
        assert message.startswith(setting) and shown in message and "\n" not in message
        assert "WIRESTREAM_WEBHOOK_ALLOW_PRIVATE=1" in message
        assert len(load_endpoints(s.with_(webhook_allow_private=True), resolve=resolve)) == 2
    # public, and not resolvable right now (checked again at each connection): accepted
    s = Settings(webhooks=("https://hooks.example.com/in", "https://nxdomain.example/x"), webhook_secret=SECRET)
    assert len(load_endpoints(s, resolve=resolve)) == 2
    assert Settings.from_env({"WIRESTREAM_WEBHOOK_ALLOW_PRIVATE": "1"}).webhook_allow_private


def test_private_url_message_never_shows_credentials():
    err = wh.private_url_error("WIRESTREAM_WEBHOOKS entry #1", "http://bob:hunter2@10.0.0.1/x?token=s3", "10.0.0.1",
                               "private")
    assert "hunter2" not in str(err) and "s3" not in str(err).replace("s3c", "")


# ---- filters -------------------------------------------------------------------------------

def test_filters_match_lang_source_and_fact_count():
    f = Filters(frozenset({"en"}), frozenset({"xinhua"}), 2)
    assert f.matches(make_alert(facts=2)) and f.matches(make_alert(facts=3, source="XINHUA"))
    assert not f.matches(make_alert(facts=1))
    assert not f.matches(make_alert(facts=2, lang="de"))
    assert not f.matches(make_alert(facts=2, source="TASS")) and not f.matches(make_alert(facts=2, source=None))
    assert Filters().matches(make_alert(source=None))


# ---- retries -------------------------------------------------------------------------------

@pytest.mark.parametrize("status,decision", [
    (200, Decision.DELIVERED), (204, Decision.DELIVERED), (None, Decision.RETRY), (500, Decision.RETRY),
    (503, Decision.RETRY), (408, Decision.RETRY), (409, Decision.RETRY), (425, Decision.RETRY),
    (429, Decision.RETRY), (599, Decision.RETRY), (400, Decision.PERMANENT), (403, Decision.PERMANENT),
    (422, Decision.PERMANENT), (302, Decision.PERMANENT),
    (401, Decision.PERMANENT), (404, Decision.PERMANENT), (410, Decision.PERMANENT), (301, Decision.PERMANENT),
])
def test_classify(status, decision):
    assert RetryPolicy.classify(status) == decision


def test_default_schedule_is_seconds_then_minutes_then_hours_over_a_day():
    policy = RetryPolicy()
    steps = [policy.step(n) for n in range(1, policy.attempts)]
    assert steps == list(DEFAULT_WEBHOOK_RETRY_SCHEDULE) and steps == sorted(steps)
    assert steps[0] <= 10 and any(60 <= s < 3600 for s in steps) and steps[-1] >= 3600
    assert policy.total() >= 24 * 3600  # an outage of a day is retried through
    # a receiver down for 150 s: an alert that first fails when the outage starts is retried
    # within the first few minutes after the receiver is back (the slowest case of the e2e test)
    times = [sum(steps[:n]) for n in range(len(steps) + 1)]
    assert min(t for t in times if t >= 150) <= 150 + 90
    assert policy.attempts == 1 + len(steps) and policy.gives_up(policy.attempts)
    assert not policy.gives_up(policy.attempts - 1)


@given(st.integers(1, 40), st.floats(0, 1, exclude_max=True), st.sampled_from([0.0, 0.1, 0.5]))
def test_jittered_wait_stays_around_the_step(attempt, r, jitter):
    policy = RetryPolicy(schedule=(1.0, 60.0, 3600.0), jitter=jitter)
    step = policy.step(attempt)
    assert step == (1.0, 60.0, 3600.0)[min(attempt, 3) - 1]  # the last step repeats
    assert step * (1 - jitter) <= policy.next_delay(attempt, lambda: r) <= step * (1 + jitter)


def test_max_attempts_caps_or_extends_the_schedule():
    short = RetryPolicy(schedule=(1.0, 2.0, 3.0), max_attempts=2)
    assert short.attempts == 2 and short.total() == 1.0 and short.gives_up(2)
    long = RetryPolicy(schedule=(1.0, 2.0), max_attempts=5)
    assert long.total() == 1.0 + 2.0 + 2.0 + 2.0
    assert RetryPolicy(schedule=(1.0,)).gives_up(3, max_attempts=3)  # an endpoint's own cap wins
    with pytest.raises(ValueError):
        RetryPolicy(schedule=())
    with pytest.raises(ValueError):
        RetryPolicy(schedule=(1.0, -1.0))


def test_retry_after_seconds_and_http_date_only_lengthen_and_are_capped():
    now = 1_724_234_400.0
    policy = RetryPolicy(schedule=(5.0, 60.0), jitter=0.0)
    assert wh.parse_retry_after("7", now) == 7.0
    date = format_datetime(datetime.fromtimestamp(now, tz=UTC) + timedelta(seconds=30), usegmt=True)
    assert wh.parse_retry_after(date, now) == pytest.approx(30.0)
    assert wh.parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now) == 0.0  # in the past
    assert wh.parse_retry_after("soon", now) is None and wh.parse_retry_after(None, now) is None
    assert policy.next_delay(1, lambda: 0.5, retry_after=7.0) == 7.0
    assert policy.next_delay(1, lambda: 0.5, retry_after=0.0) == 5.0  # never sooner than scheduled
    assert policy.next_delay(1, lambda: 0.5, retry_after=3600.0) == 60.0  # capped at the longest step
    assert RetryPolicy(schedule=(5.0,), retry_after_max=600).next_delay(1, lambda: 0.5, 3600.0) == 600.0


def test_dead_letter_record_matches_its_schema():
    entry = {"endpoint": "ep-1", "url": "https://***@h.example.com/p", "alert": make_alert(), "attempts": 3,
             "created": 1_724_234_000.0, "last_status": 503, "last_error": "HTTP 503 Service Unavailable"}
    record = wh.dead_letter_record(entry, reason="exhausted", now=1_724_234_400.0)
    schema_validator("webhook-dead-letter").validate(record)
    schema_validator("story-update").validate(record["alert"])
    assert record["time"] == "2024-08-21T10:00:00Z" and record["alert_id"] == "al-0123456789abcdef"
