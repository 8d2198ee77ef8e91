"""The numpy encoder gives the reference implementation's vectors (sentence-transformers,
see make_reference.py), and a model folder that cannot work is refused with the fix."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from zensync.embeddings import Embedder, EmbeddingError, load_embedder
from zensync.embeddings.minilm import MiniLMEmbedder, default_model_dir

REFERENCE = json.loads((Path(__file__).parent / "fixtures" / "minilm_reference.json").read_text())


def test_vectors_match_sentence_transformers(minilm: Embedder) -> None:
    texts = [item["text"] for item in REFERENCE["items"]]
    expected = np.array([item["vector"] for item in REFERENCE["items"]], dtype=np.float32)
    got = minilm.embed(texts)
    assert got.shape == (len(texts), 384)
    cosines = (got * expected).sum(axis=1) / np.linalg.norm(expected, axis=1)
    worst = int(np.argmin(cosines))
    assert cosines.min() >= 0.999, f"{texts[worst][:60]!r}: cosine {cosines[worst]:.5f}"
    assert np.allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)


def test_order_and_batching_do_not_change_a_vector(minilm: Embedder) -> None:
    texts = [item["text"] for item in REFERENCE["items"]][:12]
    alone = np.stack([minilm.embed([t])[0] for t in texts[:3]])
    together = minilm.embed(list(reversed(texts)))[::-1][:3]
    assert np.allclose(alone, together, atol=1e-5)


def test_meaning_is_close_and_unrelated_is_far(minilm: Embedder) -> None:
    billed, duplicate, login, sign_in = minilm.embed(
        [
            "customer was billed twice",
            "Duplicate charge on card ending 4242",
            "Cannot log in to the mobile app",
            "can't sign in",
        ]
    )
    assert billed @ duplicate > billed @ login
    assert sign_in @ login > sign_in @ duplicate


def test_missing_folder_is_refused_with_the_option_to_fix(tmp_path: Path) -> None:
    with pytest.raises(EmbeddingError, match=r"does not exist.*--embedding-model"):
        load_embedder(tmp_path / "nowhere", cache=False)


def test_folder_without_weights_is_refused(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text("{}")
    with pytest.raises(EmbeddingError, match=r"lacks tokenizer\.json, model\.safetensors"):
        MiniLMEmbedder(tmp_path)


def test_config_disagreeing_with_weights_is_refused(tmp_path: Path) -> None:
    source = default_model_dir()
    for name in ("tokenizer.json", "model.safetensors"):
        (tmp_path / name).symlink_to(source / name)
    config = json.loads((source / "config.json").read_text())
    config["hidden_size"] = 768
    (tmp_path / "config.json").write_text(json.dumps(config))
    with pytest.raises(EmbeddingError, match="768 dimensions, the weights have 384"):
        MiniLMEmbedder(tmp_path)


def test_another_folder_of_the_same_model_works(tmp_path: Path, minilm: Embedder) -> None:
    copy = tmp_path / "my-model"
    copy.mkdir()
    for item in default_model_dir().iterdir():
        (copy / item.name).symlink_to(item)
    other = MiniLMEmbedder(copy)
    assert other.dimension == 384
    assert other.name == "my-model"
    assert np.allclose(other.embed(["refund"]), minilm.embed(["refund"]), atol=1e-6)
