"""The Apache Kafka test launcher's checks for Java and Maven (no JVM started here)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from tests.kafka import launcher
from tests.kafka.launcher import KafkaUnavailable, fetch_kafka, java_binary, kafka_version


def fake_java(tmp_path: Path, version_line: str) -> Path:
    home = tmp_path / "jdk"
    (home / "bin").mkdir(parents=True)
    java = home / "bin" / "java"
    java.write_text(f"#!/bin/sh\necho '{version_line}' >&2\n")
    java.chmod(java.stat().st_mode | stat.S_IEXEC)
    return home


def test_the_version_is_read_from_the_pom():
    assert kafka_version().startswith("4.")


def test_java_17_is_accepted_and_java_8_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("JAVA_HOME", str(fake_java(tmp_path / "a", 'openjdk version "17.0.15" 2025-04-15')))
    assert java_binary().endswith(os.path.join("bin", "java"))
    monkeypatch.setenv("JAVA_HOME", str(fake_java(tmp_path / "b", 'java version "1.8.0_392"')))
    with pytest.raises(KafkaUnavailable, match=r"Java 17\+ needed .* is java version \"1\.8\.0_392\""):
        java_binary()


def test_no_java_says_so(monkeypatch):
    monkeypatch.delenv("JAVA_HOME", raising=False)
    monkeypatch.setattr(launcher.shutil, "which", lambda name: None)
    with pytest.raises(KafkaUnavailable, match=r"no Java: .* \(java is not on PATH and JAVA_HOME is not set\)"):
        java_binary()


def test_no_maven_and_nothing_cached_says_so(tmp_path, monkeypatch):
    monkeypatch.setenv("WIRESTREAM_KAFKA_CACHE", str(tmp_path))
    monkeypatch.setattr(launcher.shutil, "which", lambda name: None)
    with pytest.raises(KafkaUnavailable, match=r"no Maven: .* \(mvn is not on PATH"):
        fetch_kafka()


def test_a_filled_cache_needs_no_maven(tmp_path, monkeypatch):
    monkeypatch.setenv("WIRESTREAM_KAFKA_CACHE", str(tmp_path))
    root = tmp_path / f"kafka-{kafka_version()}"
    (root / "libs").mkdir(parents=True)
    (root / ".complete").write_text(kafka_version())
    monkeypatch.setattr(launcher.shutil, "which", lambda name: None)
    assert fetch_kafka() == root / "libs"
