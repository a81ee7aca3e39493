"""Corpus export: bounded by documents or bytes, deterministic, readable as a files source."""

from __future__ import annotations

from sovtrain.data.generate import generate_corpus
from sovtrain.data.sources import read_source
from sovtrain.recipe.schema import FilesSource


def test_generate_by_documents_and_bytes_is_deterministic_and_readable(tmp_path):
    a = generate_corpus("logistics", str(tmp_path / "a"), seed=3, documents=40,
                        show_progress=False)  # fmt: skip
    generate_corpus("logistics", str(tmp_path / "b"), seed=3, documents=40,
                        show_progress=False)  # fmt: skip
    assert a.documents == 40
    assert (tmp_path / "a" / "logistics-00000.jsonl").read_bytes() == (
        tmp_path / "b" / "logistics-00000.jsonl"
    ).read_bytes()
    source = FilesSource(name="gen", domain="logistics", card="synthetic-logistics-bilingual",
                         uri=str(tmp_path / "a" / "*.jsonl"))  # fmt: skip
    texts = [r.text for r in read_source(source, seed=0)]
    assert len(texts) == 120 and all(t.startswith("[SYNTHETIC]") for t in texts)

    sized = generate_corpus("finance", str(tmp_path / "c"), seed=1, max_bytes=200_000,
                            part_bytes=50_000, show_progress=False)  # fmt: skip
    assert 150_000 < sized.bytes <= 200_000
    assert len(sized.parts) >= 3
    on_disk = sum((tmp_path / "c" / p.rsplit("/", 1)[-1]).stat().st_size for p in sized.parts)
    assert on_disk == sized.bytes
