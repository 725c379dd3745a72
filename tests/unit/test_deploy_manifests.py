"""Static checks of the deployment files: docker-compose.yml, Dockerfile, k8s/ (kustomize).

Offline and fast: the Compose file is validated against the Compose Specification JSON schema
vendored in ``check-jsonschema``; every Kubernetes manifest against the Kubernetes OpenAPI
schemas shipped in ``kubernetes-validate`` (strict: unknown fields are errors); the Strimzi
custom resources structurally. The kustomize output is built here (resources, namespace,
labels, images, patches) without kubectl; when kubectl is installed its own build is validated
too. Each validator also has a negative test that feeds it a deliberately broken document.
"""

from __future__ import annotations

import copy
import fnmatch
import json
import re
import shlex
import shutil
import subprocess
from dataclasses import fields
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

yaml = pytest.importorskip("yaml")
jsonschema = pytest.importorskip("jsonschema")
kubernetes_validate = pytest.importorskip("kubernetes_validate")

from streams.config import ENV_PREFIX, Settings  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"
K8S = ROOT / "k8s"
CREATE_TOPICS = ROOT / "deploy" / "create-topics.sh"

# The Kubernetes versions the manifests must be valid for: the oldest supported and the newest
# the installed schemas know.
K8S_MIN_VERSION = "1.30"

TOPICS = {
    "wire.stories",
    "wire.enriched",
    "wire.assigned",
    "wire.stories.clustered",
    "wire.events",
    "wire.story-updates",
    "wire.dead-letter",
    "wire.webhook-dead-letter",
}
COMPACTED = {"wire.events"}
SETTINGS_ENV = {ENV_PREFIX + f.name.upper() for f in fields(Settings)}
SECRET_SETTINGS = {"WIRESTREAM_SASL_PASSWORD", "WIRESTREAM_WEBHOOK_SECRET", "WIRESTREAM_API_TOKEN"}


# --------------------------------------------------------------------------------------------
# Compose: interpolation as `docker compose` does it, then the Compose Specification schema
# --------------------------------------------------------------------------------------------

_INTERPOLATION = re.compile(
    r"\$(?:(?P<escaped>\$)|\{(?P<braced>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?+])(?P<arg>[^}]*))?\}"
    r"|(?P<named>[A-Za-z_][A-Za-z0-9_]*))"
)


def interpolate(value: Any, env: dict[str, str]) -> Any:
    """Compose variable interpolation: ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?err},
    ${VAR?err}, ${VAR:+alt}, ${VAR+alt}, $VAR and $$."""
    if isinstance(value, dict):
        return {k: interpolate(v, env) for k, v in value.items()}
    if isinstance(value, list):
        return [interpolate(v, env) for v in value]
    if not isinstance(value, str):
        return value

    def repl(m: re.Match[str]) -> str:
        if m.group("escaped"):
            return "$"
        name = m.group("braced") or m.group("named")
        op, arg = m.group("op"), m.group("arg") or ""
        present = name in env
        nonempty = bool(env.get(name))
        if op in (":-", "-"):
            use_default = not nonempty if op == ":-" else not present
            return arg if use_default else env[name]
        if op in (":?", "?"):
            missing = not nonempty if op == ":?" else not present
            if missing:
                raise ValueError(f"required variable {name} is missing: {arg}")
            return env[name]
        if op in (":+", "+"):
            use_alt = nonempty if op == ":+" else present
            return arg if use_alt else ""
        return env.get(name, "")

    return _INTERPOLATION.sub(repl, value)


@lru_cache(maxsize=1)
def compose_schema() -> dict[str, Any]:
    vendor = resources.files("check_jsonschema.builtin_schemas.vendor")
    return json.loads(vendor.joinpath("compose-spec.json").read_text(encoding="utf-8"))


def compose_errors(doc: Any) -> list[str]:
    """Every violation of the Compose Specification by an (interpolated) compose document."""
    # the vendored schema says draft-07 (its $schema URL lacks the trailing '#')
    validator = jsonschema.Draft7Validator(compose_schema())
    return sorted(
        f"{'/'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}" for e in validator.iter_errors(doc)
    )


@pytest.fixture(scope="module")
def compose_raw() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def compose(compose_raw: dict[str, Any]) -> dict[str, Any]:
    return interpolate(compose_raw, env={})


def test_compose_file_matches_the_compose_specification(compose: dict[str, Any]) -> None:
    assert compose_errors(compose) == []


def test_compose_specification_check_rejects_a_broken_file(compose: dict[str, Any]) -> None:
    broken = copy.deepcopy(compose)
    broken["services"]["worker-1"]["restart"] = 3  # must be a string
    broken["services"]["worker-1"]["replicas_count"] = 2  # no such service attribute
    broken["services"]["kafka"]["healthcheck"]["intervall"] = "10s"  # typo
    del broken["services"]["worker-2"]["image"]
    broken["services"]["worker-2"]["depends_on"] = {"kafka": {"condition": "when_ready"}}
    errors = compose_errors(broken)
    assert any("replicas_count" in e for e in errors), errors
    assert any(e.startswith("services/worker-1/restart") for e in errors), errors
    assert any(e.startswith("services/kafka/healthcheck") and "intervall" in e for e in errors), errors
    assert any("when_ready" in e for e in errors), errors


def test_interpolation_follows_compose_rules() -> None:
    env = {"SET": "x", "EMPTY": ""}
    assert interpolate("${SET:-d}|${UNSET:-d}|${EMPTY:-d}|${EMPTY-d}|$$SET|$SET", env) == "x|d|d||$SET|x"
    assert interpolate("${SET:+alt}|${UNSET:+alt}", env) == "alt|"
    with pytest.raises(ValueError):
        interpolate("${UNSET:?needed}", env)


def test_compose_runs_kafka_in_kraft_mode_with_pinned_official_image(compose: dict[str, Any]) -> None:
    kafka = compose["services"]["kafka"]
    image = kafka["image"]
    assert re.fullmatch(r"apache/kafka:\d+\.\d+\.\d+", image), image
    env = kafka["environment"]
    assert set(str(env["KAFKA_PROCESS_ROLES"]).split(",")) == {"broker", "controller"}
    assert "KAFKA_ZOOKEEPER_CONNECT" not in env
    assert "CONTROLLER" in str(env["KAFKA_CONTROLLER_LISTENER_NAMES"])
    assert str(env["KAFKA_NUM_PARTITIONS"]) == "8"
    assert int(env["KAFKA_LOG_RETENTION_HOURS"]) > 0
    assert any(v.endswith(":/var/lib/kafka/data") for v in kafka["volumes"])
    assert kafka["healthcheck"]["test"]
    assert kafka["restart"] in {"always", "unless-stopped", "on-failure"}


def test_compose_services_have_healthchecks_restarts_and_conditions(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert {"kafka", "create-topics", "worker-1", "worker-2", "webhook-receiver"} <= set(services)
    for name, svc in services.items():
        if name == "create-topics":
            assert svc["restart"] == "no"  # one-shot
            assert svc["depends_on"]["kafka"]["condition"] == "service_healthy"
            continue
        assert svc.get("restart") in {"always", "unless-stopped", "on-failure"}, name
        assert svc.get("healthcheck", {}).get("test"), name
    for name in ("worker-1", "worker-2"):
        deps = services[name]["depends_on"]
        assert deps["kafka"]["condition"] == "service_healthy"
        assert deps["create-topics"]["condition"] == "service_completed_successfully"


def test_compose_workers_have_own_rocksdb_volumes_ports_and_web_hosts(compose: dict[str, Any]) -> None:
    services, volumes = compose["services"], compose["volumes"]
    seen_volumes, seen_ports = set(), set()
    for name in ("worker-1", "worker-2"):
        svc = services[name]
        env = svc["environment"]
        assert svc["build"]["context"] == "."
        assert (ROOT / svc["build"].get("dockerfile", "Dockerfile")).is_file()
        assert env["WIRESTREAM_STORE"] == "rocksdb://"
        assert env["WIRESTREAM_BROKER"].startswith("kafka://kafka:")
        data_dir = env["WIRESTREAM_DATA_DIR"]
        mounts = [v.split(":") for v in svc["volumes"]]
        data_volumes = [src for src, dst, *_ in mounts if dst == data_dir]
        assert len(data_volumes) == 1 and data_volumes[0] in volumes, (name, mounts)
        seen_volumes.add(data_volumes[0])
        # other workers reach this one (table routing) at its advertised host and port
        assert env["WIRESTREAM_WEB_HOST"] == svc.get("hostname", name)
        port = str(env["WIRESTREAM_WEB_PORT"])
        assert any(p.endswith(f":{port}") for p in svc["ports"]), (name, svc["ports"])
        seen_ports.add(port)
        assert svc["stop_signal"] == "SIGTERM"
        assert svc["read_only"] is True
    assert len(seen_volumes) == 2 and len(seen_ports) == 2


def test_compose_settings_are_wirestream_settings_from_the_environment(compose_raw: dict[str, Any]) -> None:
    fixed = {"WIRESTREAM_DATA_DIR", "WIRESTREAM_WEB_HOST", "WIRESTREAM_WEB_BIND"}  # per-container facts, not knobs
    for name in ("worker-1", "worker-2"):
        env = compose_raw["services"][name]["environment"]
        wirestream_keys = {k for k in env if k.startswith(ENV_PREFIX)}
        assert wirestream_keys <= SETTINGS_ENV, wirestream_keys - SETTINGS_ENV
        for key, value in env.items():
            if key in SECRET_SETTINGS:
                assert value is None, f"{key} must be passed through, never given a value in the file"
            elif value is not None and key not in fixed:
                assert re.fullmatch(
                    r"\$\{[A-Z0-9_]+:-[^}]*\}", str(value)
                ), f"{name}: {key}={value!r} is not taken from the environment"
    for name in ("create-topics",):
        env = compose_raw["services"][name]["environment"]
        assert env["WIRESTREAM_PARTITIONS"] == "${WIRESTREAM_PARTITIONS:-8}"


def test_compose_bind_mounts_exist(compose: dict[str, Any]) -> None:
    for name, svc in compose["services"].items():
        for volume in svc.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith((".", "/")):
                assert (ROOT / source).exists(), f"{name}: {source} does not exist"


def create_topics_specs() -> dict[str, str]:
    """``{topic suffix: config}`` as listed in deploy/create-topics.sh."""
    text = CREATE_TOPICS.read_text(encoding="utf-8")
    return dict(re.findall(r'^\s*"([a-z.\-]+)\|([^"]*)"', text, flags=re.MULTILINE))


def test_topic_creation_script_creates_every_topic() -> None:
    specs = create_topics_specs()
    assert {f"wire.{suffix}" for suffix in specs} == TOPICS
    for suffix, config in specs.items():
        assert ("cleanup.policy=compact" in config) == (f"wire.{suffix}" in COMPACTED), suffix
    text = CREATE_TOPICS.read_text(encoding="utf-8")
    assert "--if-not-exists" in text and 'PARTITIONS="${WIRESTREAM_PARTITIONS:-8}"' in text


def test_topic_creation_script_against_a_stub_kafka_cli(tmp_path: Path) -> None:
    """Runs the script with a stand-in kafka-topics.sh that records its calls."""
    if not shutil.which("sh"):
        pytest.skip("no POSIX sh")
    log = tmp_path / "calls"
    stub = tmp_path / "kafka-topics.sh"
    stub.write_text(
        "#!/bin/sh\n"
        f'echo "$*" >> {shlex.quote(str(log))}\n'
        'case "$*" in *--describe*) printf "Topic: t\\tTopicId: x\\tPartitionCount: 8\\tReplicationFactor: 1\\n";; esac\n'
    )
    stub.chmod(0o755)
    env = {"PATH": "/usr/bin:/bin", "KAFKA_TOPICS_CMD": str(stub), "BOOTSTRAP_SERVERS": "b:9092"}
    done = subprocess.run(["sh", str(CREATE_TOPICS)], env=env, capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    created = [line for line in log.read_text().splitlines() if "--create" in line]
    assert {re.search(r"--topic (\S+)", line).group(1) for line in created} == TOPICS
    assert all("--partitions 8" in line and "--bootstrap-server b:9092" in line for line in created)
    events = next(line for line in created if "--topic wire.events " in line + " ")
    assert "--config cleanup.policy=compact --config max.message.bytes=4194304" in events
    # a topic with another partition count is reported, and the run fails
    stub.write_text(stub.read_text().replace("PartitionCount: 8", "PartitionCount: 3"))
    done = subprocess.run(["sh", str(CREATE_TOPICS)], env=env, capture_output=True, text=True, timeout=30)
    assert done.returncode != 0 and "expected 8" in done.stderr


# --------------------------------------------------------------------------------------------
# Dockerfile basics
# --------------------------------------------------------------------------------------------


def dockerfile_instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    instructions: list[tuple[str, str]] = []
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if pending and line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        line = pending + line
        pending = ""
        if line:
            word, _, rest = line.partition(" ")
            instructions.append((word.upper(), rest.strip()))
    if pending:
        word, _, rest = pending.strip().partition(" ")
        instructions.append((word.upper(), rest.strip()))
    return instructions


def lint_dockerfile(text: str) -> list[str]:
    """Problems with a Dockerfile's basics; empty when it is fine."""
    problems: list[str] = []
    instructions = dockerfile_instructions(text)
    args: dict[str, str] = {}
    stages: list[str] = []
    final_start = 0
    for i, (word, rest) in enumerate(instructions):
        if word == "ARG" and "=" in rest and not stages:
            name, _, default = rest.partition("=")
            args[name.strip()] = default.strip().strip('"')
        if word == "FROM":
            parts = [p for p in rest.split() if not p.startswith("--")]
            image = re.sub(r"\$\{?(\w+)\}?", lambda m: args.get(m.group(1), m.group(0)), parts[0])
            if image.lower() not in stages and image != "scratch":
                name, _, digest = image.partition("@")
                repo, _, tag = name.rpartition(":") if ":" in name.split("/")[-1] else (name, "", "")
                if not tag and not digest:
                    problems.append(f"base image {image} has no pinned tag")
                elif tag == "latest":
                    problems.append(f"base image {image} uses the 'latest' tag")
                elif tag and not re.search(r"\d+\.\d+", tag) and not digest:
                    problems.append(f"base image {image} tag is not a pinned version")
            if len(parts) >= 3 and parts[1].upper() == "AS":
                stages.append(parts[2].lower())
            final_start = i
    if not any(word == "FROM" for word, _ in instructions):
        problems.append("no FROM")
    final = instructions[final_start:]
    users = [rest for word, rest in final if word == "USER"]
    if not users:
        problems.append("the final stage has no USER (runs as root)")
    elif users[-1].split(":")[0] in {"root", "0"}:
        problems.append("the final stage runs as root")
    healthchecks = [rest for word, rest in final if word == "HEALTHCHECK"]
    if not healthchecks or healthchecks[-1].upper().startswith("NONE"):
        problems.append("no HEALTHCHECK in the final stage")
    for word, rest in instructions:
        if word == "ADD" and re.search(r"\b(https?|ftp)://", rest):
            problems.append(f"ADD of a URL: {rest}")
        if word == "RUN":
            for command in re.split(r"&&|;|\|\|", rest):
                if re.search(r"\bpip3?\s+install\b", command) and "--no-cache-dir" not in command:
                    problems.append(f"pip install without --no-cache-dir: {command.strip()}")
            if re.search(r"\bapt-get\s+install\b", rest) and "rm -rf /var/lib/apt/lists" not in rest:
                problems.append("apt-get install without cleaning /var/lib/apt/lists")
    return problems


@pytest.fixture(scope="module")
def dockerfile() -> list[tuple[str, str]]:
    return dockerfile_instructions(DOCKERFILE.read_text(encoding="utf-8"))


def test_dockerfile_basics() -> None:
    assert lint_dockerfile(DOCKERFILE.read_text(encoding="utf-8")) == []


def test_dockerfile_lint_rejects_a_broken_dockerfile() -> None:
    broken = (
        "FROM python:latest\n"
        "ADD https://example.com/tool.tar.gz /opt/\n"
        "RUN pip install wirestream && \\\n    apt-get install -y curl\n"
        "USER root\n"
    )
    problems = lint_dockerfile(broken)
    assert any("latest" in p for p in problems)
    assert any("ADD of a URL" in p for p in problems)
    assert any("--no-cache-dir" in p for p in problems)
    assert any("runs as root" in p for p in problems)
    assert any("HEALTHCHECK" in p for p in problems)
    assert any("apt" in p for p in problems)
    assert any("no pinned tag" in p for p in lint_dockerfile("FROM debian\nUSER app\nHEALTHCHECK CMD true\n"))


def test_dockerfile_runs_the_worker_on_sigterm(dockerfile: list[tuple[str, str]]) -> None:
    final: dict[str, str] = {}
    for word, rest in dockerfile:
        final[word] = rest  # last one wins, as in Docker
    assert json.loads(final["ENTRYPOINT"]) == ["wirestream"]
    assert json.loads(final["CMD"]) == ["worker"]
    assert final["STOPSIGNAL"] == "SIGTERM"
    assert "6066" in final["EXPOSE"].split()
    froms = [rest for word, rest in dockerfile if word == "FROM"]
    args = dict(rest.split("=", 1) for word, rest in dockerfile if word == "ARG" and "=" in rest)
    assert re.fullmatch(r"python:3\.11\.\d+-slim-bookworm", args["PYTHON_IMAGE"])
    assert all("${PYTHON_IMAGE}" in f for f in froms)
    installs = [rest for word, rest in dockerfile if word == "RUN" and "pip install" in rest]
    assert any(".[rocksdb]" in r for r in installs)


def dockerignore_excludes(path: str, patterns: list[str]) -> bool:
    """Docker's rule: the last pattern matching the path (or one of its parent dirs) decides."""
    parts = path.split("/")
    candidates = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    excluded = False
    for pattern in patterns:
        negate = pattern.startswith("!")
        pat = pattern[1:] if negate else pattern
        pat = pat.strip("/")
        pats = {pat, pat[3:]} if pat.startswith("**/") else {pat}
        for candidate in candidates:
            if any(fnmatch.fnmatchcase(candidate, p) for p in pats) or (
                pat.startswith("**/") and any(fnmatch.fnmatchcase(c, pat[3:]) for c in candidate.split("/"))
            ):
                excluded = not negate
                break
    return excluded


def test_dockerignore_keeps_what_the_build_copies(dockerfile: list[tuple[str, str]]) -> None:
    patterns = [
        line.strip() for line in DOCKERIGNORE.read_text().splitlines() if line.strip() and not line.startswith("#")
    ]
    sources: list[str] = []
    for word, rest in dockerfile:
        if word == "COPY" and "--from=" not in rest:
            items = [p for p in rest.split() if not p.startswith("--")]
            sources += items[:-1]
    assert sources
    for source in sources:
        source = source.rstrip("/")
        assert not dockerignore_excludes(source, patterns), f"{source} is excluded by .dockerignore"
        assert not dockerignore_excludes(f"{source}/x.py", patterns) or (ROOT / source).is_file()
        if source == "README.md" and not (ROOT / source).exists():
            continue  # the README is assembled by the lead; pyproject.toml needs it for the build
        assert (ROOT / source).exists(), f"COPY source {source} does not exist"
    for kept_out in (".git/config", "tests/unit/test_x.py", ".env", "k8s/base/secret.yaml", "streams/__pycache__/a.pyc"):
        assert dockerignore_excludes(kept_out, patterns), kept_out


# --------------------------------------------------------------------------------------------
# Kubernetes: a small kustomize build, schema validation, consistency
# --------------------------------------------------------------------------------------------

CLUSTER_SCOPED = {"Namespace", "ClusterRole", "ClusterRoleBinding", "CustomResourceDefinition", "StorageClass"}
KUSTOMIZATION_FIELDS = {
    "apiVersion", "kind", "resources", "namespace", "labels", "commonLabels", "commonAnnotations",
    "images", "patches", "configMapGenerator", "secretGenerator", "components", "namePrefix", "nameSuffix",
    "replicas", "generatorOptions",
}  # fmt: skip


class KustomizeError(Exception):
    pass


def load_docs(path: Path) -> list[dict[str, Any]]:
    docs = [d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if d is not None]
    for doc in docs:
        if not isinstance(doc, dict):
            raise KustomizeError(f"{path}: a document is not a mapping")
    return docs


def merge_patch(base: Any, patch: Any) -> Any:
    """Strategic-merge as far as these manifests need it: maps merge, lists of named items merge by
    name, other lists and scalars are replaced."""
    if isinstance(base, dict) and isinstance(patch, dict):
        out = dict(base)
        for key, value in patch.items():
            out[key] = merge_patch(base[key], value) if key in base else copy.deepcopy(value)
        return out
    if (
        isinstance(base, list)
        and isinstance(patch, list)
        and all(isinstance(i, dict) and "name" in i for i in base + patch)
    ):
        out = [copy.deepcopy(i) for i in base]
        index = {item["name"]: n for n, item in enumerate(out)}
        for item in patch:
            if item["name"] in index:
                out[index[item["name"]]] = merge_patch(out[index[item["name"]]], item)
            else:
                out.append(copy.deepcopy(item))
        return out
    return copy.deepcopy(patch)


def pod_spec(doc: dict[str, Any]) -> dict[str, Any] | None:
    if doc.get("kind") in {"Deployment", "StatefulSet", "DaemonSet", "Job", "ReplicaSet"}:
        return doc["spec"]["template"]["spec"]
    return None


def kustomize_build(directory: Path) -> list[dict[str, Any]]:
    """The resources a kustomization produces (the subset of kustomize these manifests use)."""
    kfile = directory / "kustomization.yaml"
    if not kfile.is_file():
        raise KustomizeError(f"{directory} has no kustomization.yaml")
    k = yaml.safe_load(kfile.read_text(encoding="utf-8")) or {}
    unknown = set(k) - KUSTOMIZATION_FIELDS
    if unknown:
        raise KustomizeError(f"{kfile}: unknown fields {sorted(unknown)}")
    if k.get("kind", "Kustomization") != "Kustomization":
        raise KustomizeError(f"{kfile}: kind must be Kustomization")
    unsupported = set(k) & {"configMapGenerator", "secretGenerator", "components", "namePrefix", "nameSuffix"}
    if unsupported:
        raise KustomizeError(f"{kfile}: {sorted(unsupported)} not supported by this test's builder")
    docs: list[dict[str, Any]] = []
    for entry in k.get("resources", []):
        target = (directory / entry).resolve()
        if target.is_dir():
            docs += kustomize_build(target)
        elif target.is_file():
            docs += load_docs(target)
        else:
            raise KustomizeError(f"{kfile}: resource {entry} does not exist")
    seen: set[tuple[str, str]] = set()
    for doc in docs:
        key = (doc.get("kind", ""), doc.get("metadata", {}).get("name", ""))
        if key in seen:
            raise KustomizeError(f"{kfile}: {key} is defined twice")
        seen.add(key)
    for patch_entry in k.get("patches", []):
        if "path" not in patch_entry:
            raise KustomizeError(f"{kfile}: only file patches are supported")
        patch_file = directory / patch_entry["path"]
        if not patch_file.is_file():
            raise KustomizeError(f"{kfile}: patch {patch_entry['path']} does not exist")
        for patch in load_docs(patch_file):
            key = (patch.get("kind"), patch.get("metadata", {}).get("name"))
            matches = [n for n, d in enumerate(docs) if (d.get("kind"), d["metadata"].get("name")) == key]
            if not matches:
                raise KustomizeError(f"{patch_file}: patch target {key} is not among the resources")
            docs[matches[0]] = merge_patch(docs[matches[0]], patch)
    if "namespace" in k:
        for doc in docs:
            if doc.get("kind") not in CLUSTER_SCOPED:
                doc.setdefault("metadata", {})["namespace"] = k["namespace"]
    for label_set in k.get("labels", []):
        for doc in docs:
            doc.setdefault("metadata", {}).setdefault("labels", {}).update(label_set.get("pairs", {}))
    for image in k.get("images", []):
        for doc in docs:
            spec = pod_spec(doc)
            for container in (spec or {}).get("containers", []) + (spec or {}).get("initContainers", []):
                if container["image"].split(":")[0] == image["name"]:
                    container["image"] = f"{image.get('newName', image['name'])}:{image['newTag']}"
    return docs


def is_strimzi(doc: dict[str, Any]) -> bool:
    return str(doc.get("apiVersion", "")).startswith("kafka.strimzi.io/")


_NAME = {"type": "string", "pattern": r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$", "maxLength": 253}
_CLUSTER_LABEL = {
    "type": "object",
    "required": ["labels"],
    "properties": {
        "name": _NAME,
        "labels": {"type": "object", "required": ["strimzi.io/cluster"]},
    },
}
_RESOURCES = {"type": "object", "additionalProperties": False, "properties": {"requests": {"type": "object"}, "limits": {"type": "object"}}}  # fmt: skip
_STORAGE_VOLUME = {
    "type": "object",
    "required": ["type"],
    "properties": {
        "id": {"type": "integer", "minimum": 0},
        "type": {"enum": ["ephemeral", "persistent-claim"]},
        "size": {"type": "string", "pattern": r"^\d+(\.\d+)?(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E)?$"},
        "class": {"type": "string"},
        "deleteClaim": {"type": "boolean"},
        "kraftMetadata": {"enum": ["shared"]},
    },
}
# Structural schemas of the Strimzi custom resources used here (the fields Strimzi requires and
# the types of the ones this project sets), kafka.strimzi.io/v1.
STRIMZI_SCHEMAS: dict[str, dict[str, Any]] = {
    "Kafka": {
        "type": "object",
        "required": ["apiVersion", "kind", "metadata", "spec"],
        "properties": {
            "metadata": {"type": "object", "required": ["name"], "properties": {"name": _NAME}},
            "spec": {
                "type": "object",
                "required": ["kafka"],
                "properties": {
                    "kafka": {
                        "type": "object",
                        "required": ["listeners"],
                        "not": {"anyOf": [{"required": ["replicas"]}, {"required": ["storage"]}]},
                        "properties": {
                            "version": {"type": "string"},
                            "listeners": {
                                "type": "array",
                                "minItems": 1,
                                "items": {
                                    "type": "object",
                                    "required": ["name", "port", "type", "tls"],
                                    "additionalProperties": False,
                                    "properties": {
                                        "name": {"type": "string", "pattern": "^[a-z0-9]{1,11}$"},
                                        "port": {"type": "integer", "minimum": 9092},
                                        "type": {"enum": ["internal", "route", "loadbalancer", "nodeport", "ingress", "cluster-ip"]},  # fmt: skip
                                        "tls": {"type": "boolean"},
                                        "authentication": {
                                            "type": "object",
                                            "required": ["type"],
                                            "properties": {"type": {"enum": ["tls", "scram-sha-512", "oauth", "custom"]}},  # fmt: skip
                                        },
                                        "configuration": {"type": "object"},
                                        "networkPolicyPeers": {"type": "array"},
                                    },
                                },
                            },
                            "config": {"type": "object", "additionalProperties": {"type": ["string", "integer", "number", "boolean"]}},  # fmt: skip
                            "authorization": {"type": "object"},
                            "resources": _RESOURCES,
                        },
                    },
                    "zookeeper": False,
                    "entityOperator": {
                        "type": "object",
                        "additionalProperties": False,
                        "properties": {"topicOperator": {"type": "object"}, "userOperator": {"type": "object"}},
                    },
                },
            },
        },
    },
    "KafkaNodePool": {
        "type": "object",
        "required": ["apiVersion", "kind", "metadata", "spec"],
        "properties": {
            "metadata": _CLUSTER_LABEL,
            "spec": {
                "type": "object",
                "required": ["replicas", "roles", "storage"],
                "properties": {
                    "replicas": {"type": "integer", "minimum": 0},
                    "roles": {"type": "array", "minItems": 1, "uniqueItems": True, "items": {"enum": ["controller", "broker"]}},  # fmt: skip
                    "storage": {
                        "type": "object",
                        "required": ["type"],
                        "properties": {
                            "type": {"enum": ["ephemeral", "persistent-claim", "jbod"]},
                            "volumes": {"type": "array", "minItems": 1, "items": _STORAGE_VOLUME},
                        },
                    },
                    "resources": _RESOURCES,
                },
            },
        },
    },
    "KafkaTopic": {
        "type": "object",
        "required": ["apiVersion", "kind", "metadata", "spec"],
        "properties": {
            "metadata": _CLUSTER_LABEL,
            "spec": {
                "type": "object",
                "required": ["partitions", "replicas"],
                "additionalProperties": False,
                "properties": {
                    "topicName": {"type": "string", "pattern": r"^[a-zA-Z0-9._\-]{1,249}$"},
                    "partitions": {"type": "integer", "minimum": 1},
                    "replicas": {"type": "integer", "minimum": 1, "maximum": 32767},
                    "config": {"type": "object", "additionalProperties": {"type": ["string", "integer", "number", "boolean"]}},  # fmt: skip
                },
            },
        },
    },
    "KafkaUser": {
        "type": "object",
        "required": ["apiVersion", "kind", "metadata", "spec"],
        "properties": {
            "metadata": _CLUSTER_LABEL,
            "spec": {
                "type": "object",
                "properties": {
                    "authentication": {
                        "type": "object",
                        "required": ["type"],
                        "properties": {"type": {"enum": ["tls", "tls-external", "scram-sha-512"]}},
                    },
                    "authorization": {"type": "object"},
                    "quotas": {"type": "object"},
                },
            },
        },
    },
}


@lru_cache(maxsize=None)
def _k8s_schema(filename: str, version: str) -> Any:
    return kubernetes_validate.utils.schema_contents(filename, version)


def k8s_errors(doc: dict[str, Any], version: str = K8S_MIN_VERSION) -> list[str]:
    """Schema violations of one manifest (strict: unknown fields are errors)."""
    for key in ("apiVersion", "kind", "metadata"):
        if key not in doc:
            return [f"missing {key}"]
    if not isinstance(doc["metadata"], dict) or not doc["metadata"].get("name"):
        return ["metadata.name is missing"]
    if is_strimzi(doc):
        if doc["apiVersion"] not in {"kafka.strimzi.io/v1", "kafka.strimzi.io/v1beta2"}:
            return [f"unknown Strimzi apiVersion {doc['apiVersion']}"]
        schema = STRIMZI_SCHEMAS.get(doc["kind"])
        if schema is None:
            return [f"no schema for Strimzi kind {doc['kind']}"]
        validator = jsonschema.Draft202012Validator(schema)
        return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(doc)]
    schema_dir = f"v{version_dir(version)}-local-strict"
    api = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", doc["apiVersion"])
    try:
        schema = _k8s_schema(f"kubernetes-json-schema/{schema_dir}/{doc['kind'].lower()}-{api}.json", version)
    except FileNotFoundError:
        return [f"no Kubernetes {version} schema for {doc['apiVersion']} {doc['kind']}"]
    definitions = _k8s_schema(f"kubernetes-json-schema/{schema_dir}/_definitions.json", version)
    from referencing import Registry, Resource

    registry = Resource.from_contents(definitions) @ (Resource.from_contents(schema) @ Registry())
    validator = jsonschema.Draft202012Validator(schema, registry=registry)
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(doc)]


def version_dir(version: str) -> str:
    """The newest schema set not newer than ``version``, e.g. 1.30 -> 1.30.0."""
    known = kubernetes_validate.utils.all_versions()
    mm = tuple(int(x) for x in version.split(".")[:2])
    usable = [v for v in known if tuple(int(x) for x in v.split(".")[:2]) <= mm]
    assert usable, f"no schemas for Kubernetes {version}"
    return usable[-1]


def all_manifest_files() -> list[Path]:
    return sorted(p for p in K8S.rglob("*.yaml") if p.name != "kustomization.yaml")


BUILDS = {"base": K8S, "strimzi": K8S / "overlays" / "strimzi"}


@pytest.fixture(scope="module", params=sorted(BUILDS))
def build(request: pytest.FixtureRequest) -> tuple[str, list[dict[str, Any]]]:
    return request.param, kustomize_build(BUILDS[request.param])


def by_kind(docs: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [d for d in docs if d["kind"] == kind]


def one(docs: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    found = by_kind(docs, kind)
    assert len(found) == 1, f"expected one {kind}, got {len(found)}"
    return found[0]


def test_every_kustomization_lists_existing_files_and_every_manifest_is_used() -> None:
    used: set[Path] = set()
    for kfile in K8S.rglob("kustomization.yaml"):
        k = yaml.safe_load(kfile.read_text())
        for entry in k.get("resources", []) + [p["path"] for p in k.get("patches", []) if "path" in p]:
            target = (kfile.parent / entry).resolve()
            assert target.exists(), f"{kfile}: {entry} does not exist"
            used.add(target)
    unused = [p for p in all_manifest_files() if p.resolve() not in used]
    assert unused == [], f"manifests no kustomization uses: {unused}"


@pytest.mark.parametrize("path", all_manifest_files(), ids=lambda p: str(p.relative_to(K8S)))
def test_manifest_files_parse_and_name_their_resources(path: Path) -> None:
    docs = load_docs(path)
    assert docs, f"{path} is empty"
    for doc in docs:
        assert doc.get("apiVersion") and doc.get("kind") and doc.get("metadata", {}).get("name"), doc


@pytest.mark.parametrize("version", [K8S_MIN_VERSION, "latest"])
def test_built_manifests_match_kubernetes_schemas(build: tuple[str, list[dict[str, Any]]], version: str) -> None:
    name, docs = build
    version = kubernetes_validate.latest_version() if version == "latest" else version
    problems = {f"{d['kind']}/{d['metadata']['name']}": k8s_errors(d, version) for d in docs}
    assert {k: v for k, v in problems.items() if v} == {}, name


def test_kubernetes_validation_rejects_broken_manifests() -> None:
    base = kustomize_build(K8S)
    sts = copy.deepcopy(one(base, "StatefulSet"))
    sts["spec"]["replicas"] = "two"
    sts["spec"]["template"]["spec"]["containers"][0]["imagePullPolize"] = "Always"  # typo
    del sts["spec"]["selector"]
    errors = k8s_errors(sts)
    assert any("replicas" in e for e in errors), errors
    assert any("imagePullPolize" in e for e in errors), errors
    assert any("selector" in e for e in errors), errors
    service = copy.deepcopy(one(base, "Service"))
    service["spec"]["ports"][0]["port"] = "web"
    assert k8s_errors(service)
    assert k8s_errors({"apiVersion": "v1", "kind": "ConfigMap"}) == ["missing metadata"]
    assert k8s_errors({"apiVersion": "v1", "kind": "Gizmo", "metadata": {"name": "x"}})
    topic = {"apiVersion": "kafka.strimzi.io/v1", "kind": "KafkaTopic", "metadata": {"name": "Bad_Name"},
             "spec": {"partitions": 0, "replica": 3}}  # fmt: skip
    errors = k8s_errors(topic)
    assert len(errors) >= 3, errors  # no cluster label, bad name, partitions < 1, unknown field


def test_kustomize_builder_rejects_a_missing_resource(tmp_path: Path) -> None:
    (tmp_path / "kustomization.yaml").write_text("resources:\n  - gone.yaml\n")
    with pytest.raises(KustomizeError, match="does not exist"):
        kustomize_build(tmp_path)
    (tmp_path / "kustomization.yaml").write_text("resources: []\npatchesJson: []\n")
    with pytest.raises(KustomizeError, match="unknown fields"):
        kustomize_build(tmp_path)


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl not installed")
@pytest.mark.parametrize("name", sorted(BUILDS))
def test_kubectl_kustomize_output_is_valid_and_matches_this_builder(name: str) -> None:
    done = subprocess.run(
        ["kubectl", "kustomize", str(BUILDS[name])], capture_output=True, text=True, timeout=120
    )
    if done.returncode != 0 and "unknown command" in done.stderr:
        pytest.skip("kubectl without kustomize")
    assert done.returncode == 0, done.stderr
    docs = [d for d in yaml.safe_load_all(done.stdout) if d]
    for doc in docs:
        assert k8s_errors(doc) == [], f"{doc['kind']}/{doc['metadata']['name']}"
    ours = kustomize_build(BUILDS[name])

    def key(d: dict[str, Any]) -> tuple[str, str]:
        return d["kind"], d["metadata"]["name"]

    assert sorted(map(key, docs)) == sorted(map(key, ours))
    theirs_sts, ours_sts = one(docs, "StatefulSet"), one(ours, "StatefulSet")
    t_env = {e["name"]: e for e in theirs_sts["spec"]["template"]["spec"]["containers"][0].get("env", [])}
    o_env = {e["name"]: e for e in ours_sts["spec"]["template"]["spec"]["containers"][0].get("env", [])}
    assert t_env == o_env
    assert one(docs, "ConfigMap")["data"] == one(ours, "ConfigMap")["data"]


def test_everything_lands_in_the_wirestream_namespace(build: tuple[str, list[dict[str, Any]]]) -> None:
    _, docs = build
    assert one(docs, "Namespace")["metadata"]["name"] == "wirestream"
    for doc in docs:
        if doc["kind"] != "Namespace":
            assert doc["metadata"]["namespace"] == "wirestream", doc["metadata"]["name"]


def test_configmap_and_secret_hold_wirestream_settings_only(build: tuple[str, list[dict[str, Any]]]) -> None:
    _, docs = build
    config = one(docs, "ConfigMap")["data"]
    assert set(config) <= SETTINGS_ENV, set(config) - SETTINGS_ENV
    assert not set(config) & SECRET_SETTINGS, "secrets belong in the Secret"
    assert "WIRESTREAM_WEB_HOST" not in config  # per pod, from the pod name
    assert config["WIRESTREAM_STORE"] == "rocksdb://"
    assert all(isinstance(v, str) for v in config.values())
    Settings.from_env({k: v for k, v in config.items() if v != ""})  # the values parse
    secret = one(docs, "Secret")
    assert set(secret.get("stringData") or {}) | set(secret.get("data") or {}) <= SETTINGS_ENV


def test_worker_statefulset(build: tuple[str, list[dict[str, Any]]]) -> None:
    _, docs = build
    sts = one(docs, "StatefulSet")
    config = one(docs, "ConfigMap")["data"]
    service = next(s for s in by_kind(docs, "Service") if s["metadata"]["name"] == sts["spec"]["serviceName"])
    spec = sts["spec"]["template"]["spec"]
    container = spec["containers"][0]
    labels = sts["spec"]["template"]["metadata"]["labels"]
    selector = sts["spec"]["selector"]["matchLabels"]
    assert selector.items() <= labels.items()

    # headless service: stable per-pod DNS names for Faust table routing
    assert service["spec"]["clusterIP"] == "None"
    assert service["spec"]["selector"].items() <= labels.items()
    env = {e["name"]: e for e in container["env"]}
    names = [e["name"] for e in container["env"]]
    web_host = env["WIRESTREAM_WEB_HOST"]["value"]
    assert web_host.startswith("$(POD_NAME).") and f".{service['metadata']['name']}." in web_host
    assert env["POD_NAME"]["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.name"
    assert names.index("POD_NAME") < names.index("WIRESTREAM_WEB_HOST")
    for var in re.findall(r"\$\((\w+)\)", web_host):
        assert names.index(var) < names.index("WIRESTREAM_WEB_HOST")
    assert set(env) - {"POD_NAME", "POD_NAMESPACE"} <= SETTINGS_ENV
    env_from = {ref.get("configMapRef", ref.get("secretRef", {})).get("name") for ref in container["envFrom"]}
    assert {"wirestream-config", "wirestream-secrets"} <= env_from

    # readiness on /health, liveness on /livez, at the configured web port
    port = int(config["WIRESTREAM_WEB_PORT"])
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert ports["web"] == port
    assert service["spec"]["ports"][0]["targetPort"] in ("web", port)
    for probe, path in (("readinessProbe", "/health"), ("livenessProbe", "/livez")):
        get = container[probe]["httpGet"]
        assert get["path"] == path and get["port"] in ("web", port), probe

    # RocksDB on a PVC per pod at the data dir
    claims = {c["metadata"]["name"] for c in sts["spec"]["volumeClaimTemplates"]}
    mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
    assert mounts[config["WIRESTREAM_DATA_DIR"]] in claims

    # graceful shutdown long enough to commit offsets
    assert spec["terminationGracePeriodSeconds"] >= 60
    assert container["lifecycle"]["preStop"]

    # resources
    for section in ("requests", "limits"):
        assert {"cpu", "memory"} <= set(container["resources"][section]), section

    # non-root, read-only root fs except the data dir and /tmp
    assert spec["securityContext"]["runAsNonRoot"] is True
    assert spec["securityContext"]["runAsUser"] != 0
    csc = container["securityContext"]
    assert csc["readOnlyRootFilesystem"] is True and csc["allowPrivilegeEscalation"] is False
    assert csc["capabilities"]["drop"] == ["ALL"]
    volumes = {v["name"]: v for v in spec["volumes"]}
    assert "emptyDir" in volumes[mounts["/tmp"]]
    writable = {path for path, name in mounts.items() if name in claims or "emptyDir" in volumes.get(name, {})}
    assert writable == {config["WIRESTREAM_DATA_DIR"], "/tmp"}
    for mount in container["volumeMounts"]:
        if mount["mountPath"] not in writable:
            assert mount.get("readOnly") is True, mount

    # spread over nodes
    terms = spec["affinity"]["podAntiAffinity"]
    term = (terms.get("requiredDuringSchedulingIgnoredDuringExecution") or
            [t["podAffinityTerm"] for t in terms["preferredDuringSchedulingIgnoredDuringExecution"]])[0]  # fmt: skip
    assert term["labelSelector"]["matchLabels"].items() <= labels.items()
    assert container["image"].startswith("wirestream")


def test_pod_disruption_budget_covers_the_workers(build: tuple[str, list[dict[str, Any]]]) -> None:
    _, docs = build
    pdb = one(docs, "PodDisruptionBudget")
    labels = one(docs, "StatefulSet")["spec"]["template"]["metadata"]["labels"]
    assert pdb["spec"]["selector"]["matchLabels"].items() <= labels.items()
    assert ("maxUnavailable" in pdb["spec"]) != ("minAvailable" in pdb["spec"])


def test_strimzi_overlay_kafka_topics_user_and_worker_wiring() -> None:
    docs = kustomize_build(BUILDS["strimzi"])
    kafka = one(docs, "Kafka")
    cluster = kafka["metadata"]["name"]
    for doc in docs:
        if is_strimzi(doc) and doc["kind"] != "Kafka":
            assert doc["metadata"]["labels"]["strimzi.io/cluster"] == cluster, doc["metadata"]["name"]
    roles = {r for pool in by_kind(docs, "KafkaNodePool") for r in pool["spec"]["roles"]}
    assert roles == {"controller", "broker"}  # KRaft, no ZooKeeper
    config = one(docs, "ConfigMap")["data"]
    topics = {t["spec"].get("topicName", t["metadata"]["name"]): t for t in by_kind(docs, "KafkaTopic")}
    assert set(topics) == TOPICS
    for name, topic in topics.items():
        assert topic["spec"]["partitions"] == int(config["WIRESTREAM_PARTITIONS"]), name
        assert topic["spec"]["replicas"] == int(config["WIRESTREAM_REPLICATION_FACTOR"]), name
        compacted = topic["spec"].get("config", {}).get("cleanup.policy") == "compact"
        assert compacted == (name in COMPACTED), name
    # the same topics, partitions and configs as the compose topic script
    for suffix, spec in create_topics_specs().items():
        key, _, value = spec.partition("=")
        if "$" not in value:
            assert str(topics[f"wire.{suffix}"]["spec"]["config"][key]) == value
    # workers connect over SASL_SSL to the cluster's bootstrap service with the KafkaUser
    listener = next(lst for lst in kafka["spec"]["kafka"]["listeners"] if lst.get("authentication"))
    assert config["WIRESTREAM_BROKER"] == f"kafka://{cluster}-kafka-bootstrap:{listener['port']}"
    assert config["WIRESTREAM_SECURITY_PROTOCOL"] == ("SASL_SSL" if listener["tls"] else "SASL_PLAINTEXT")
    assert config["WIRESTREAM_SASL_MECHANISM"] == "SCRAM-SHA-512"
    user = one(docs, "KafkaUser")
    assert config["WIRESTREAM_SASL_USERNAME"] == user["metadata"]["name"]
    sts = one(docs, "StatefulSet")
    container = sts["spec"]["template"]["spec"]["containers"][0]
    password = {e["name"]: e for e in container["env"]}["WIRESTREAM_SASL_PASSWORD"]
    assert password["valueFrom"]["secretKeyRef"] == {"name": user["metadata"]["name"], "key": "password"}
    volumes = {v["name"]: v for v in sts["spec"]["template"]["spec"]["volumes"]}
    mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
    ca = volumes["kafka-tls"]["secret"]
    assert ca["secretName"] == f"{cluster}-cluster-ca-cert"
    assert config["WIRESTREAM_SSL_CAFILE"] == f"{mounts['kafka-tls']}/ca.crt"
    assert any(item["path"] == "ca.crt" for item in ca["items"])


# --------------------------------------------------------------------------------------------
# deploy/ scripts: the webhook receiver's Standard Webhooks check, the container health check
# --------------------------------------------------------------------------------------------


def _load_script(name: str) -> Any:
    import importlib.util

    spec = importlib.util.spec_from_file_location(f"deploy_{name}", ROOT / "deploy" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    spec.loader.exec_module(module)
    return module


def test_webhook_receiver_verifies_standard_webhooks_signatures() -> None:
    receiver = _load_script("webhook_receiver")
    import base64

    secret = "whsec_" + base64.b64encode(b"0123456789abcdef0123456789abcdef").decode()
    key = receiver.secret_key(secret)
    assert key == b"0123456789abcdef0123456789abcdef"
    assert receiver.secret_key("plain-secret") == b"plain-secret"
    body = b'{"alert_id": "wsa-1", "type": "story_update"}'
    now = 1_700_000_000
    headers = {
        "webhook-id": "wsa-1",
        "webhook-timestamp": str(now),
        "webhook-signature": "v1,bm90LWl0 " + receiver.sign(key, "wsa-1", str(now), body),
    }
    assert receiver.verify(key, headers, body, now=now + 10) is None
    assert receiver.verify(key, headers, body + b" ", now=now) == "no matching v1 signature"
    assert "tolerance" in receiver.verify(key, headers, body, now=now + 3600)
    assert "missing" in receiver.verify(key, {}, body, now=now)
    assert receiver.verify(b"other key", headers, body, now=now) == "no matching v1 signature"
    seen = receiver.Seen(limit=2)
    assert seen.add("a") and not seen.add("a") and seen.add("b") and seen.add("c") and seen.add("a")
    text = receiver.summarize({"alert_id": "wsa-1", "story": {"uri": "u"}, "new_facts": [{"text": "Signed."}]})
    assert "wsa-1" in text and "+ Signed." in text


def test_webhook_receiver_serves_and_rejects_unsigned_deliveries() -> None:
    import threading
    import urllib.error
    import urllib.request
    from http.server import ThreadingHTTPServer

    receiver = _load_script("webhook_receiver")
    server = ThreadingHTTPServer(("127.0.0.1", 0), receiver.make_handler(b"k", True, receiver.Seen()))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        base = f"http://127.0.0.1:{server.server_address[1]}"
        with urllib.request.urlopen(f"{base}/health", timeout=5) as response:
            assert response.status == 200
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(urllib.request.Request(f"{base}/alerts", data=b"{}", method="POST"), timeout=5)
        assert refused.value.code == 401
    finally:
        server.shutdown()
        server.server_close()


def test_healthcheck_script_asks_localhost_then_the_advertised_host() -> None:
    health = _load_script("healthcheck")
    assert health.candidate_urls({}) == ["http://127.0.0.1:6066/health"]
    assert health.candidate_urls({"WIRESTREAM_WEB_PORT": "6067", "WIRESTREAM_WEB_HOST": "worker-2"}) == [
        "http://127.0.0.1:6067/health",
        "http://worker-2:6067/health",
    ]
    assert health.healthy("http://127.0.0.1:1/health", timeout=0.5) is False
