from assistant.chunking import chunk_document, chunk_id, sentence_spans
from assistant.records import Document

TEXT = ("The council met on Monday. It approved the budget of 3.5 million dollars for the U.S. office.\n\n"
        "Critics said the plan was rushed. " * 20 + "\n\nA final paragraph ends here.")


def _doc(text: str = TEXT) -> Document:
    return Document(doc_id="folder/a.txt", source="folder/a.txt", text=text, title="A", content_hash="h")


def test_chunk_text_is_exactly_the_cleaned_text_at_its_offsets() -> None:
    doc = _doc()
    for c in chunk_document(doc, size=200, overlap=50):
        assert doc.text[c.start:c.end] == c.text


def test_chunks_respect_the_size_limit_and_cover_every_sentence() -> None:
    doc = _doc()
    chunks = chunk_document(doc, size=200, overlap=50)
    assert all(len(c.text) <= 200 for c in chunks)
    covered = set()
    for c in chunks:
        covered.update(range(c.start, c.end))
    for s, e in sentence_spans(doc.text):
        assert set(range(s, e)) <= covered


def test_chunks_end_on_sentence_boundaries() -> None:
    ends = {e for _, e in sentence_spans(TEXT)}
    assert all(c.end in ends for c in chunk_document(_doc(), size=200, overlap=50))


def test_consecutive_chunks_overlap_by_whole_sentences() -> None:
    chunks = chunk_document(_doc(), size=200, overlap=80)
    assert any(b.start < a.end for a, b in zip(chunks, chunks[1:]))
    assert all(b.start > a.start for a, b in zip(chunks, chunks[1:]))


def test_same_input_gives_same_chunk_ids() -> None:
    a = [c.chunk_id for c in chunk_document(_doc())]
    b = [c.chunk_id for c in chunk_document(_doc())]
    assert a == b and len(set(a)) == len(a)


def test_chunk_id_depends_on_document_and_text() -> None:
    assert chunk_id("x", 0, 3, "abc") != chunk_id("y", 0, 3, "abc")


def test_a_single_huge_line_without_punctuation_is_split() -> None:
    doc = _doc("word " * 5000)
    chunks = chunk_document(doc, size=300, overlap=0)
    assert len(chunks) > 10 and all(len(c.text) <= 300 for c in chunks)
    assert all(doc.text[c.start:c.end] == c.text for c in chunks)


def test_chunks_keep_document_metadata() -> None:
    c = chunk_document(_doc())[0]
    assert (c.doc_id, c.title, c.source, c.content_hash) == ("folder/a.txt", "A", "folder/a.txt", "h")


def test_a_pdf_heading_line_ends_a_sentence_instead_of_running_into_the_next() -> None:
    text = ("Matching rules follow.\nThe glob files\nThe globs2 file is a list of lines, each holding a weight and a glob.\n"
            "Otherwise, start by doing a glob match of the filename.")
    sentences = [text[s:e] for s, e in sentence_spans(text)]
    assert "The glob files" in sentences
    assert any(x.startswith("The globs2 file is a list") for x in sentences)


def test_a_wrapped_pdf_line_is_not_taken_for_a_heading() -> None:
    text = ("The council approved the budget after a long debate about the\n"
            "Harbor Authority and its plans for the northern breakwater and the ferry terminal.")
    assert [text[s:e] for s, e in sentence_spans(text)] == [text]
