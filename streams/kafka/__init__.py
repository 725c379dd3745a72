"""Talking to Kafka: connection and security settings, preflight, topics, the consumer transport,
and the embedded broker for development and tests."""
