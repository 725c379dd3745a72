"""Two workers, one app id, 8 partitions on the embedded broker: the load is shared, and when
one is killed the other takes over its partitions and nothing is lost.

The reference is the core offline over the same stories in the same order (``offline``).
"""

from __future__ import annotations

import asyncio
import time

import orjson
import pytest

from .faustlogs import assignments
from .kafkaio import Collector, key_version, offline, produce, synthetic_feed, uri_of

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.timeout(240)]

FIRST = 90.0
PARTITIONS = 8

# Small invented events in three more languages: a first story, its version 2 with new facts,
# and another outlet's story with other new facts.
_EVENTS = {
    "es": [
        ("Incendio en el puerto de Valdemora",
         ["Un incendio destruyó el martes varios almacenes en el puerto de Valdemora, según los bomberos.",
          "Los vecinos del barrio tuvieron que cerrar las ventanas por el humo durante toda la tarde.",
          "La alcaldesa Lucía Ferrán pidió calma y prometió ayudas para los comerciantes afectados."],
         "La policía detuvo a dos empleados de la empresa Navales Ibéricas por presunta negligencia.",
         "El gobierno regional anunció una inversión de catorce millones de euros para reconstruir el muelle."),
        ("Huelga de maquinistas en Ribasol",
         ["Los maquinistas de la compañía Ferrovías del Norte iniciaron el lunes una huelga en Ribasol.",
          "El sindicato reclama mejores salarios y más personal en las estaciones de la provincia.",
          "Miles de viajeros buscaron autobuses para llegar a sus puestos de trabajo por la mañana."],
         "La empresa ofreció una subida salarial del cuatro por ciento, que el sindicato rechazó.",
         "El ministro de Transportes, Andrés Olmedo, convocó a las partes a una reunión el jueves."),
    ],
    "fr": [
        ("Inondations à Montclaret",
         ["De fortes pluies ont inondé mardi le centre de Montclaret, selon la préfecture.",
          "Les habitants des quartiers bas ont été évacués vers le gymnase de la commune.",
          "Le maire, Étienne Roussel, a demandé aux automobilistes de rester chez eux."],
         "Les pompiers ont secouru quarante-deux personnes bloquées sur le toit de leur maison.",
         "L'assureur Mutuelle du Rhône estime les dégâts à six millions d'euros."),
        ("Panne géante chez Électricité de Brienne",
         ["Une panne a privé de courant lundi soir plus de cent mille foyers autour de Brienne.",
          "La direction de l'entreprise a présenté ses excuses et promis un rétablissement rapide.",
          "Les hôpitaux de la région ont basculé sur leurs générateurs de secours pendant la nuit."],
         "Une enquête a révélé qu'un transformateur vieux de quarante ans avait pris feu.",
         "La ministre de l'Énergie, Claire Vasseur, a exigé un rapport complet sous huit jours."),
    ],
    "de": [
        ("Brand in der Chemiefabrik von Lindenau",
         ["In der Chemiefabrik von Lindenau ist am Mittwoch ein Großbrand ausgebrochen, teilte die Feuerwehr mit.",
          "Die Anwohner wurden aufgefordert, Fenster und Türen wegen der Rauchwolke geschlossen zu halten.",
          "Bürgermeister Jonas Hartmann sprach von einem schwarzen Tag für die ganze Stadt."],
         "Nach Angaben der Polizei wurden elf Arbeiter mit Rauchvergiftungen ins Krankenhaus gebracht.",
         "Die Staatsanwaltschaft Lindenau hat ein Ermittlungsverfahren gegen den Betreiber eingeleitet."),
        ("Streik bei den Verkehrsbetrieben Auenfeld",
         ["Die Beschäftigten der Verkehrsbetriebe Auenfeld haben am Montag einen ganztägigen Streik begonnen.",
          "Die Gewerkschaft fordert mehr Lohn und kürzere Arbeitszeiten für das Fahrpersonal.",
          "Viele Pendler mussten auf das Fahrrad oder das eigene Auto umsteigen."],
         "Der Arbeitgeberverband bot eine Lohnerhöhung von drei Prozent über zwei Jahre an.",
         "Verkehrsministerin Sabine Kolb kündigte für Donnerstag ein Schlichtungsgespräch an."),
    ],
}


def multilingual_feed() -> list[bytes]:
    """English (``synthetic_feed``) plus Spanish, French and German events, interleaved."""
    lanes: list[list[bytes]] = [synthetic_feed(6)]
    for lang, events in _EVENTS.items():
        lane = []
        for e, (headline, body, update, other_fact) in enumerate(events):
            uri = f"urn:test:{lang}{e}"
            first = {"uri": f"{uri}:a", "version": 1, "language": lang, "source": "Agencia A",
                     "headline": headline, "body_text": "\n\n".join(body),
                     "versioncreated": f"2024-03-0{e + 1}T08:00:00Z"}
            second = dict(first, version=2, body_text="\n\n".join(body + [update]),
                          versioncreated=f"2024-03-0{e + 1}T09:00:00Z")
            other = {"uri": f"{uri}:b", "version": 1, "language": lang, "source": "Agencia B",
                     "headline": headline, "body_text": "\n\n".join(body[:2] + [other_fact]),
                     "versioncreated": f"2024-03-0{e + 1}T10:00:00Z"}
            lane += [orjson.dumps(first), orjson.dumps(second), orjson.dumps(other)]
        lanes.append(lane)
    feed = []
    for i in range(max(len(lane) for lane in lanes)):
        feed += [lane[i] for lane in lanes if i < len(lane)]
    return feed


def owned(worker, topic: str) -> set[int]:
    """The partitions of ``topic`` the worker owns since its last rebalance (from its log)."""
    seen = assignments(worker.log_path)
    return set(seen[-1].get(topic, set())) if seen else set()


async def until(predicate, timeout: float, what: str, logs) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:.0f}s waiting for {what}\n{logs()}")
        await asyncio.sleep(0.3)


async def test_two_workers_share_the_load_and_survive_a_kill(settings, workers, tmp_path):
    settings = settings.with_(partitions=PARTITIONS)
    feed = multilingual_feed()
    assignments_offline, expected = offline(feed)
    langs = {a["lang"] for a in assignments_offline}
    assert {"en", "es", "fr", "de"} <= langs, langs
    expected_ids = {a["alert_id"] for a in expected}
    assert len(expected_ids) == len(expected) >= 15
    first_half, second_half = feed[: len(feed) // 2], feed[len(feed) // 2:]
    everything = {key_version(line) for line in feed}
    stories, enriched = settings.topic("stories"), settings.topic("enriched")

    async with Collector(settings) as out:
        a = workers(settings.with_(data_dir=tmp_path / "a"))
        b = workers(settings.with_(data_dir=tmp_path / "b"))

        def logs() -> str:
            return f"--- worker a\n{a.log_tail(25)}\n--- worker b\n{b.log_tail(25)}"

        # ---- the load is shared: each worker owns some of the 8 partitions, together all
        def shared() -> bool:
            pa, pb = owned(a, stories), owned(b, stories)
            return bool(pa) and bool(pb) and not pa & pb and pa | pb == set(range(PARTITIONS))

        await until(shared, FIRST, "both workers to own partitions", logs)
        share = {"a": sorted(owned(a, stories)), "b": sorted(owned(b, stories))}
        assert owned(a, enriched) and owned(b, enriched)

        # One input partition keeps the feed order (comparable with offline); the stages after
        # it are keyed by language shard and event id and spread over both workers.
        await produce(settings, [(uri_of(line), line) for line in first_half], partition=0)
        half = {key_version(line) for line in first_half}
        await out.until(lambda c: c.clustered_keys() >= half, FIRST, what="the first half", logs=logs)
        assert a.alive and b.alive

        # ---- kill one; the other takes over all partitions and finishes the feed
        victim, survivor = (b, a) if 0 in owned(a, stories) else (a, b)
        victim.kill()
        await produce(settings, [(uri_of(line), line) for line in second_half], partition=0)
        await out.until(lambda c: c.clustered_keys() >= everything
                        and {x["alert_id"] for x in c.alerts()} >= expected_ids,
                        FIRST, what="every story and every expected alert after the kill",
                        alive=lambda: survivor.alive,
                        logs=lambda: (f"missing stories {sorted(everything - out.clustered_keys())}\n"
                                      f"missing alerts {sorted(expected_ids - {x['alert_id'] for x in out.alerts()})}\n"
                                      + survivor.log_tail(60)))
        await out.poll(1.5)
        taken_over = owned(survivor, stories)

    assert taken_over == set(range(PARTITIONS)), f"the survivor owns {sorted(taken_over)}"
    got = out.alerts()
    ids = [x["alert_id"] for x in got]
    assert set(ids) == expected_ids, "no alert may be missing, and none may be invented"
    by_id = {x["alert_id"]: x for x in expected}
    for alert in got:  # a duplicate is an at-least-once redelivery: the same alert
        assert alert == by_id[alert["alert_id"]]
    online = {}
    for record in out.records["stories.clustered"]:
        online.setdefault((record["uri"], record["version"]), record["event_id"])
    assert online == {(x["uri"], x["version"]): x["event_id"] for x in assignments_offline}
    print(f"partitions at start {share}; stories {len(feed)} in {sorted(langs)}; alerts {len(expected_ids)} "
          f"({len(ids) - len(set(ids))} redelivered)")
