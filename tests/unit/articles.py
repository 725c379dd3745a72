"""Hand-written test articles (not the seeds), so core tests run without ../shared."""

from __future__ import annotations

FLOOD_V1 = {
    "uri": "urn:test:flood",
    "version": 1,
    "source": "Wire A",
    "versioncreated": "2024-05-02T08:00:00Z",
    "headline": "Floods hit northern Kenya after days of heavy rain",
    "body_text": (
        "NAIROBI: Flash floods swept through the northern Kenyan town of Garissa on Thursday after three "
        "days of torrential rain, officials said.\n\n"
        "The Kenya Red Cross said at least 12 people had died and more than 4,000 families had been "
        "displaced as the Tana River burst its banks.\n\n"
        "Interior Minister Kithure Kindiki said the government had sent helicopters to rescue residents "
        "trapped on rooftops.\n\n"
        "Meteorologists warned that more rain was expected across the region until the end of the week."
    ),
}

FLOOD_V2_TOLL = {
    **FLOOD_V1,
    "version": 2,
    "versioncreated": "2024-05-02T14:00:00Z",
    "body_text": FLOOD_V1["body_text"].replace("at least 12 people", "at least 27 people"),
}

FLOOD_V3_NEWS = {
    **FLOOD_V1,
    "version": 3,
    "versioncreated": "2024-05-02T18:00:00Z",
    "body_text": FLOOD_V1["body_text"] + (
        "\n\nPresident William Ruto declared a national disaster and pledged 2 billion shillings in "
        "emergency relief for the affected counties."
    ),
}

FLOOD_OTHER_OUTLET = {
    "uri": "urn:test:flood-b",
    "version": 1,
    "source": "Wire B",
    "versioncreated": "2024-05-02T20:00:00Z",
    "headline": "Kenya floods: death toll rises in Garissa as Tana River bursts banks",
    "body_text": (
        "Flash floods in Garissa, northern Kenya, have killed at least 27 people, the Kenya Red Cross said, "
        "after the Tana River burst its banks following three days of torrential rain.\n\n"
        "More than 4,000 families have been displaced. Helicopters sent by the government rescued residents "
        "trapped on rooftops, Interior Minister Kithure Kindiki said.\n\n"
        "The World Food Programme said it would airlift 300 tonnes of food aid to the stranded towns of "
        "Hola and Bura from Sunday."
    ),
}

ELECTION = {
    "uri": "urn:test:election",
    "version": 1,
    "source": "Wire C",
    "versioncreated": "2024-05-02T09:00:00Z",
    "headline": "Iceland elects Halla Tomasdottir as president",
    "body_text": (
        "REYKJAVIK: Businesswoman Halla Tomasdottir won Iceland's presidential election on Saturday, "
        "official results showed.\n\n"
        "Tomasdottir took 34.1 percent of the vote, ahead of former prime minister Katrin Jakobsdottir "
        "with 25.2 percent.\n\n"
        "She will be sworn in on August 1 and becomes the second woman to hold the largely ceremonial post."
    ),
}
