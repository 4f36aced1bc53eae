"""The cleaner's rule kinds, each on a small original fixture."""

from pathlib import Path

from assistant.ingest.clean import Rules, clean
from assistant.ingest.loaders import RawDoc

BODY = ("The regional water board approved a desalination plant for the port of Velmar on Tuesday, "
        "after two years of public hearings and a drought that emptied three reservoirs.\n\n"
        "The plant will produce 40,000 cubic meters of water a day and open in 2027, officials said.")


def run(text: str, fmt: str = "txt"):
    return clean(RawDoc(text=text, format=fmt), "velmar-water.txt")


def test_share_and_follow_prompts_are_dropped() -> None:
    c = run(f"Share this article\n\n{BODY}\n\nFollow us on social\nShare on Facebook")
    assert "Share" not in c.text and "Follow" not in c.text and "40,000" in c.text


def test_image_captions_and_credits_are_dropped() -> None:
    c = run(f"{BODY}\n\nWorkers inspect pipes at the Velmar site, May 2, 2023. REUTERS/Jane Doe\n\n"
            "Photo: John Smith/AP\n\nThe minister at the opening ceremony (Getty Images)")
    assert c.text == BODY


def test_section_labels_are_dropped() -> None:
    c = run(f"Analysis | Europe\n\n{BODY}\n\n  • Commentary")
    assert c.text == BODY


def test_read_the_full_article_ends_the_article_and_drops_what_follows() -> None:
    c = run(f"{BODY}\n\nRead the full article in The Example Times.\n\n  • Reports\n  • May 1, 2022\n"
            "Another story entirely\n\nBy Someone Else")
    assert c.text == BODY and "Another story" in " ".join(c.dropped)


def test_trailing_teasers_of_other_articles_are_cut_with_their_headlines() -> None:
    teaser = ("Analysis | Asia\nFerry strike spreads to the islands\n\n"
              "Passengers wait at the pier, June 1, 2024 via Reuters\n\nFerry strike spreads to the islands\n\n"
              "Deck crews walked out on Monday over pay and rosters.\n\nkeep readingShow less\n"
              "Mayor resigns\n\nMayor resigns\n\nThe mayor quit on Friday.\n\nkeep readingShow less\n\nTopics Crisisnone")
    c = run(f"{BODY}\n\n{teaser}")
    assert c.text == BODY
    assert not any(w in c.text for w in ("Ferry", "Mayor", "Deck crews"))


def test_header_lines_become_metadata_and_stay_in_the_text_to_be_cited() -> None:
    header = "June 4, 2023\n\nVelmar approves desalination plant\n\nBy Mara Quell and Tom Ode"
    c = run(f"{header}\n\n{BODY}")
    assert (c.title, c.authors, c.published) == ("Velmar approves desalination plant", ["Mara Quell", "Tom Ode"], "2023-06-04")
    assert c.text == f"{header}\n\n{BODY}"


def test_header_lines_are_known_as_such_so_no_answer_quotes_them_as_claims() -> None:
    from assistant.ingest.metadata import is_header_line

    assert is_header_line("June 4, 2023") and is_header_line("By Mara Quell and Tom Ode")
    assert is_header_line("Velmar approves desalination plant", "Velmar approves desalination plant")
    assert not is_header_line(BODY.split("\n")[0], "Velmar approves desalination plant")


def test_repeated_pull_quote_is_dropped_but_the_original_sentence_stays() -> None:
    pull = "The plant will produce 40,000 cubic meters of water a day and open in 2027, officials said."
    c = run(f"{BODY}\n\n{pull}")
    assert c.text == BODY


def test_markdown_syntax_is_removed() -> None:
    c = run("# Velmar water\n\n*By Mara Quell — 2023-05-17*\n\n## Background\n\nThe **plant** was [approved](http://x) in May.", "md")
    assert (c.title, c.authors, c.published) == ("Velmar water", ["Mara Quell"], "2023-05-17")
    assert "The plant was approved in May." in c.text and "**" not in c.text and "http" not in c.text


def test_a_marker_word_inside_a_sentence_is_not_junk() -> None:
    text = "Officials said they would share this data with Reuters and follow us closely on the budget plan next year."
    assert run(f"{BODY}\n\n{text}").text.endswith(text)


def test_rules_are_data_and_can_be_extended(tmp_path: Path) -> None:
    rules_file = tmp_path / "rules.toml"
    rules_file.write_text("drop_lines = ['^sponsored by .*$']\ncaption_markers = []\nsection_labels = []\n"
                          "tail_markers = []\nteaser_end_markers = []\n")
    c = clean(RawDoc(text=f"{BODY}\n\nSponsored by Acme Pumps", format="txt"), "x.txt", Rules.from_toml(rules_file))
    assert c.text == BODY


def test_file_name_is_the_title_when_the_text_has_none() -> None:
    c = run("the plant was approved. it opens in 2027 and will serve the port city of velmar for decades.")
    assert c.title == "Velmar water"


def test_a_pdf_title_byline_and_dateline_stay_lines_of_their_own(port_pdf) -> None:  # noqa: ANN001
    from assistant.ingest.loaders import load

    c = clean(load(port_pdf), "velcastle-port.pdf")
    assert (c.title, c.authors, c.published) == ("Port of Velcastle Expansion Approved", ["Maria Okonkwo"], "2024-03-03")
    assert c.text.startswith("Port of Velcastle Expansion Approved\n\nBy Maria Okonkwo\n\nMarch 3, 2024\n\nThe Velcastle")
    assert "container terminal on Monday" in c.text, "a wrapped line still runs on into its sentence"


def test_a_pdf_heading_without_punctuation_ends_its_sentence_but_a_wrapped_line_does_not() -> None:
    from assistant.ingest.loaders import RawDoc

    text = ("The council met on Monday to discuss the harbor budget and the new ferry terminal plans for\n"
            "the coming year, which drew a large crowd of residents.\n"
            "Budget details\n"
            "The harbor budget grows by four percent, mostly for dredging the northern channel entrance.")
    from assistant.chunking import sentence_spans

    c = clean(RawDoc(text=text, format="pdf", pages=[(0, len(text), 1)]), "x.pdf")
    sentences = [c.text[s:e] for s, e in sentence_spans(c.text)]
    assert "Budget details" in sentences
    assert any(x.startswith("The council met") and x.endswith("crowd of residents.") for x in sentences)


def test_labelled_title_author_and_date_lines_become_metadata_and_lines_of_their_own() -> None:
    c = run(f"Title: Velmar approves desalination plant\nAuthor: Mara Quell\nDate: 2023-06-04\n\n{BODY}")
    assert (c.title, c.authors, c.published) == ("Velmar approves desalination plant", ["Mara Quell"], "2023-06-04")
    assert c.text.startswith("Title: Velmar approves desalination plant\n\nAuthor: Mara Quell\n\nDate: 2023-06-04\n\n")


def test_a_title_and_date_line_on_single_newlines_stay_out_of_the_first_sentence() -> None:
    c = run(f"Velmar approves desalination plant\nJune 4, 2023\n{BODY}")
    assert c.text.startswith("Velmar approves desalination plant\n\nJune 4, 2023\n\nThe regional water board")


def test_html_text_keeps_each_block_element_a_paragraph_of_its_own() -> None:
    c = clean(RawDoc(text="Velmar approves plant\n4 June 2023\nThe board approved it.\nIt opens in 2027.",
                     format="html", title="Velmar approves plant"), "velmar.html")
    assert c.text == "Velmar approves plant\n\n4 June 2023\n\nThe board approved it.\n\nIt opens in 2027."


def test_a_hard_wrapped_text_keeps_its_first_sentence_whole() -> None:
    c = run("The regional water board approved a desalination plant for the port of\n"
            "Velmar on Tuesday, after two years of public hearings.\n")
    assert c.text == ("The regional water board approved a desalination plant for the port of\n"
                      "Velmar on Tuesday, after two years of public hearings.")


def test_a_share_prompt_in_markdown_italics_is_dropped_but_snake_case_stays() -> None:
    c = run(f"{BODY}\n\n*Share this article: Twitter · Facebook · Email*\n\nThe file is water_plan_2027.pdf.", "md")
    assert "Share this article" not in c.text and "water_plan_2027.pdf" in c.text
