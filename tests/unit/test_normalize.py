"""Normalization: Unicode forms, paragraphs, sentences, page debris (variants written here, not the seeds)."""

from __future__ import annotations

import pytest

from streams.core.normalize import clean_story, is_debris_line, normalize_text

STORY = "A ferry carrying 200 passengers ran aground off the coast of Crete on Sunday, the coast guard said."


def test_unicode_quotes_dashes_and_spaces_are_unified() -> None:
    text = normalize_text("Cafe\u0301 \u201cquoted\u201d \u2018single\u2019 \u00abguillemets\u00bb a\u2014b c\u2013d\u00a0e\u200bf")
    assert text == "Caf\u00e9 \"quoted\" 'single' \"guillemets\" a-b c-d ef"


def test_whitespace_collapsed_and_paragraphs_split() -> None:
    body = "First   paragraph  is here.\nSecond paragraph  starts here.\n\n\nThird one\nwraps onto a second line."
    clean = clean_story("  Head   line ", body)
    assert clean.headline == "Head line"
    assert clean.paragraphs == ("First paragraph is here.", "Second paragraph starts here.",
                                "Third one wraps onto a second line.")


def test_sentences_split_with_abbreviations_and_quotes() -> None:
    body = ('Dr. Jones met U.S. officials at 5 p.m. on Friday. "We will win. They will lose," she said. '
            "Talks resume Monday.")
    clean = clean_story("", body)
    assert clean.sentences == (
        "Dr. Jones met U.S. officials at 5 p.m. on Friday.",
        '"We will win. They will lose," she said.',
        "Talks resume Monday.",
    )


@pytest.mark.parametrize("line", [
    "No menu items!",
    "Skip to main content",
    "Check out our other content",
    "Check out more stories from our newsroom",
    "(Photo internet reproduction)",
    "Photo: Reuters/Jane Doe",
    "Photos: AFP",
    "Credit: Getty Images",
    "Image courtesy of the ministry",
    "President Ana Lopes and Prime Minister Rui Costa (Photo: Reuters)",
    "Minister Kaja Berg and Mayor Ola Dahl. Photo: NTB",
    "News Portugal, English news Portugal, Portugal-Spain relations",
    "Politics | World | Europe",
    "Tags: floods, Kenya, climate",
    "With information from AFP",
    "*With information from Reuters and EFE",
    "(With reporting by Sam Holt; Editing by Ann Lee)",
    "Reporting by Sam Holt; editing by Ann Lee",
    "By Jane Doe",
    "By Jane Doe and Omar Said, Reuters",
    "Read more: Floods kill dozens in Kenya",
    "READ ALSO",
    "Share this article",
    "Share on Facebook",
    "Subscribe to our newsletter",
    "Sign up for our daily briefing",
    "AFP",
    "- Reuters",
    "(AP)",
    "Published: 24.05.2023 10:00",
    "Updated 3 hours ago",
    "Advertisement",
    "\u00a9 2024 Example Media. All rights reserved.",
    "Related articles",
    "Floods in East Africa",
])
def test_debris_lines_are_removed(line: str) -> None:
    clean = clean_story("Headline", f"{STORY}\n\n{line}\n\nRescue teams reached the ship within an hour.")
    assert clean.sentences == (STORY, "Rescue teams reached the ship within an hour.")
    assert clean.debris


@pytest.mark.parametrize("sentence", [
    STORY,
    "Shares of the ferry operator fell 3% on Monday.",
    "Photographers gathered outside the court as the verdict was read.",
    "Subscribers to the service will get refunds, the company said.",
    "Reading the statement, the minister said no one was hurt.",
    "The image of the stranded ship spread quickly online.",
    "Sharing the data with regulators is mandatory, officials said.",
])
def test_real_sentences_are_kept(sentence: str) -> None:
    assert not is_debris_line(sentence)
    assert clean_story("", sentence).sentences == (sentence,)


def test_inline_credit_and_trailing_agency_tag_are_stripped() -> None:
    body = ("The minister visited the site (Photo: Jane Doe/Reuters) on Monday.\n\n"
            "Officials expect the repairs to take a month. AFP")
    clean = clean_story("", body)
    assert clean.sentences == ("The minister visited the site on Monday.",
                               "Officials expect the repairs to take a month.")


@pytest.mark.parametrize("dateline", ["BEIJING: ", "KYIV, May 3 (Reuters) - ", "NAIROBI (AP) -- ", "Paris (AFP) - "])
def test_datelines_do_not_break_the_first_fact(dateline: str) -> None:
    clean = clean_story("", dateline + STORY)
    assert clean.sentences == (STORY,)


def test_seed_like_page_with_all_kinds_of_debris() -> None:
    body = "\n\n".join([
        "No menu items!",
        "Portugal's president said on Tuesday the country will back Spain's bid to host the 2030 World Cup.",
        "President Ana Lopes and Spanish King Felipe (Photo internet reproduction)",
        "The two leaders met in Lisbon and signed agreements on rail links and water sharing.",
        "*With information from EFE",
        "News Portugal, English news Portugal, Portugal-Spain relations",
        "Check out our other content",
    ])
    clean = clean_story("Portugal backs Spain", body)
    assert len(clean.sentences) == 2
    joined = " ".join(clean.sentences)
    for debris in ("menu", "Photo", "information from", "English news", "Check out"):
        assert debris not in joined


def test_caseless_scripts_and_empty_input() -> None:
    clean = clean_story("", "中国国家主席周三会见了俄罗斯总理。双方签署了多项合作协议。")
    assert len(clean.sentences) == 2
    assert clean_story("", "   \n\n ").sentences == ()


def test_a_whole_story_that_starts_like_page_furniture_is_kept():
    # a lower-cased article delivered as one paragraph that starts with "Advertisement" / "Updated ..."
    story = ("Advertisement calgary-nose hill mp michelle rempel delivered a powerful speech in the house of "
             "commons tuesday. But something she said did not sit right with green party leader elizabeth may. "
             "Rempel was talking about tax credits for the oil sector and jobs in alberta.")
    cleaned = clean_story("", story)
    assert "But something she said did not sit right with green party leader elizabeth may." in cleaned.sentences
    assert len(cleaned.sentences) == 2
    # the same words as a short line are still furniture
    assert clean_story("", "Advertisement\n\nThe minister resigned on Monday.").sentences == (
        "The minister resigned on Monday.",)
