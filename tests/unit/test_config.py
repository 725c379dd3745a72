from pathlib import Path

import pytest

from streams.config import ConfigError, Settings


def test_defaults():
    s = Settings.from_env({})
    assert s.partitions == 8 and s.topic("stories") == "wire.stories" and s.max_message_bytes == 1024 * 1024


def test_env_is_read_and_typed():
    s = Settings.from_env({"WIRESTREAM_PARTITIONS": "4", "WIRESTREAM_DATA_DIR": "/tmp/d",
                           "WIRESTREAM_WEBHOOKS": "http://a/x, https://b/y", "WIRESTREAM_TOPIC_PREFIX": "news."})
    assert s.partitions == 4 and s.data_dir == Path("/tmp/d")
    assert s.webhooks == ("http://a/x", "https://b/y") and s.topic("events") == "news.events"


def test_flags_override_env():
    assert Settings.from_env({"WIRESTREAM_PARTITIONS": "4"}, partitions=2).partitions == 2


@pytest.mark.parametrize("env", [{"WIRESTREAM_PARTITIONS": "many"}, {"WIRESTREAM_PARTITIONS": "0"},
                                 {"WIRESTREAM_SHARD_BY": "topic"}])
def test_bad_values_say_which(env):
    with pytest.raises(ConfigError) as info:
        Settings.from_env(env)
    assert "partitions" in str(info.value).lower() or "shard_by" in str(info.value)


def test_secrets_not_in_repr():
    s = Settings.from_env({"WIRESTREAM_SASL_PASSWORD": "hunter2", "WIRESTREAM_WEBHOOK_SECRET": "whsec_abc"})
    assert "hunter2" not in repr(s) and "whsec_abc" not in repr(s)


def test_event_state_topics_accept_the_largest_record_produced(tmp_path):
    from streams.runtime.app import create_app
    from streams.kafka.broker import topic_config

    settings = Settings(max_message_bytes=2 * 1024 * 1024, data_dir=tmp_path)
    assert settings.max_request_bytes == 8 * 1024 * 1024
    assert topic_config("events", settings) == {"cleanup.policy": "compact", "max.message.bytes": "8388608"}
    assert topic_config("stories", settings) == {}
    app = create_app(settings)
    assert app.conf.producer_max_request_size == settings.max_request_bytes
    assert app.tables["events"].changelog_topic.config == {"max.message.bytes": "8388608"}


@pytest.mark.parametrize("url, expected", [
    ("127.0.0.1:39092", "kafka://127.0.0.1:39092"),
    ("kafka://a:1;b:2", "kafka://a:1,kafka://b:2"),
    (" kafka-1 , kafka-2:9093 ", "kafka://kafka-1,kafka://kafka-2:9093"),
    ("KAFKA://h:1", "kafka://h:1"),
])
def test_broker_addresses_are_read_as_kafka(url, expected):
    assert Settings.from_env({"WIRESTREAM_BROKER": url}).broker == expected


@pytest.mark.parametrize("url", ["http://127.0.0.1:39092", "https://h:443", "h:port", "", "kafka://h:1/path"])
def test_other_broker_urls_are_refused_naming_the_setting(url):
    with pytest.raises(ConfigError) as info:
        Settings(broker=url)
    assert "WIRESTREAM_BROKER" in str(info.value)


def test_unknown_variables_get_a_did_you_mean_only_when_close():
    from streams.config import unknown_variables

    found = unknown_variables({"WIRESTREAM_BROKR": "x", "WIRESTREAM_LOGLEVEL": "debug", "WIRESTREAM_FOO": "1",
                               "WIRESTREAM_TEST_BROKER": "kafka://x:1", "WIRESTREAM_PARTITIONS": "2", "OTHER": "1"})
    assert found == [
        "WIRESTREAM_BROKR is not a wirestream setting and is ignored; did you mean WIRESTREAM_BROKER?",
        "WIRESTREAM_FOO is not a wirestream setting and is ignored (`wirestream config` lists the settings)",
        "WIRESTREAM_LOGLEVEL is not a wirestream setting and is ignored; did you mean WIRESTREAM_LOG_LEVEL?",
    ]


@pytest.mark.parametrize("env", [{"WIRESTREAM_LOG_LEVEL": "verbose"}, {"WIRESTREAM_LOG_FORMAT": "xml"},
                                 {"WIRESTREAM_STORE": "redis://"}, {"WIRESTREAM_WEB_PORT": "70000"}])
def test_log_store_and_port_values_are_checked(env):
    with pytest.raises(ConfigError) as info:
        Settings.from_env(env)
    assert next(iter(env)) in str(info.value)


def test_malloc_trim_seconds_is_read_and_negative_is_refused():
    assert Settings.from_env({"WIRESTREAM_MALLOC_TRIM_SECONDS": "30"}).malloc_trim_seconds == 30.0
    assert Settings.from_env({"WIRESTREAM_MALLOC_TRIM_SECONDS": "0"}).malloc_trim_seconds == 0.0
    with pytest.raises(ConfigError, match="WIRESTREAM_MALLOC_TRIM_SECONDS"):
        Settings.from_env({"WIRESTREAM_MALLOC_TRIM_SECONDS": "-1"})
