"""Property-based tests (hypothesis): cleaning, corpus reading and tokenization never raise on any input,
and tokenization round-trips Latin-script text."""
import unicodedata

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from tfx_nmt.components import cleaning, corpus
from tfx_nmt.text import subword
from tfx_nmt.text.lines import GZIP_MAGIC
from tfx_nmt.text.normalization import CONTROL_RANGES, codepoints, normalize

CLEANER = cleaning.PairCleaner(cleaning.CleaningRules(max_tokens=5, max_length_ratio=2.0, lid_min_chars=0))
# Any Unicode scalar value except surrogates (not encodable as UTF-8).
ANY_TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=60)
# Latin script: letters, marks, digits, punctuation and spaces of Basic Latin through Latin Extended-B.
LATIN_TEXT = st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x24F,
                                            blacklist_categories=("Cc", "Cs")), max_size=60)
CONTROL = frozenset(codepoints(CONTROL_RANGES))
FIXTURE_SETTINGS = settings(max_examples=200, deadline=None,
                            suppress_health_check=[HealthCheck.function_scoped_fixture])


@settings(max_examples=500, deadline=None)
@given(ANY_TEXT)
def test_normalize_never_raises_and_is_idempotent(text):
    normalized = normalize(text)
    assert normalize(normalized) == normalized
    assert normalized == normalized.strip() and "  " not in normalized
    assert not any(ord(c) in CONTROL for c in normalized)
    assert unicodedata.is_normalized("NFC", normalized)


@settings(max_examples=500, deadline=None)
@given(ANY_TEXT, ANY_TEXT, st.booleans())
def test_cleaning_a_pair_never_raises(source, target, filter_pairs):
    [(clean_source, clean_target, outcome)] = CLEANER.clean([(source, target)], filter_pairs, held_out_sources=set())
    assert (clean_source, clean_target) == (normalize(source), normalize(target))
    assert outcome in (cleaning.KEPT,) + cleaning.DROP_REASONS
    if not filter_pairs:
        assert outcome == cleaning.KEPT


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.binary(max_size=200), st.binary(max_size=200))
def test_reading_any_bytes_gives_pairs_or_a_corpus_error(tmp_path, source_bytes, target_bytes):
    source, target, tsv = tmp_path / "x.en", tmp_path / "x.de", tmp_path / "x.en-de.tsv"
    source.write_bytes(source_bytes)
    target.write_bytes(target_bytes)
    tsv.write_bytes(source_bytes)
    try:
        list(corpus.read_paired_files(str(source), str(target), corpus.SplitIngest(())))
    except corpus.CorpusError:
        pass
    # Drop mode raises only for what is wrong with a whole file: misaligned files, gzip data under a plain name.
    gzip_data = source_bytes.startswith(GZIP_MAGIC) or target_bytes.startswith(GZIP_MAGIC)
    try:
        split = corpus.SplitIngest(())
        pairs = list(corpus.read_paired_files(str(source), str(target), split, on_bad_line="drop"))
    except corpus.CorpusError as e:
        assert str(e).startswith("line counts differ") or (gzip_data and "holds gzip-compressed data" in str(e))
    else:
        assert len(pairs) == split.kept and split.kept + sum(split.dropped.values()) == split.num_lines
    try:
        split = corpus.SplitIngest(())
        pairs = list(corpus.read_tsv_file(str(tsv), split, on_bad_line="drop"))
    except corpus.CorpusError as e:
        assert source_bytes.startswith(GZIP_MAGIC) and "holds gzip-compressed data" in str(e)
    else:
        assert len(pairs) == split.kept and split.kept + sum(split.dropped.values()) == split.num_lines
        assert all("\n" not in s and "\n" not in t for _, s, t in pairs)


@pytest.fixture(scope="module")
def encoder(spm_model):
    return subword.SubwordEncoder(spm_model)


@FIXTURE_SETTINGS
@given(ANY_TEXT)
def test_subword_encoding_never_raises(encoder, text):
    ids = encoder.encode(normalize(text))
    assert ids[0] == subword.BOS_ID and ids[-1] == subword.EOS_ID
    assert all(0 <= i < encoder.vocabulary_size for i in ids)
    assert subword.UNK_ID not in ids  # Byte fallback: any character has pieces.
    encoder.decode(ids)


@FIXTURE_SETTINGS
@given(LATIN_TEXT)
def test_tokenize_then_detokenize_gives_back_normalized_latin_text(encoder, text):
    normalized = normalize(text)
    assert encoder.decode(encoder.encode(normalized)) == normalized


@settings(max_examples=200, deadline=None)
@given(st.lists(ANY_TEXT, min_size=1, max_size=8))
def test_serving_graph_normalization_matches_python(texts):
    import tensorflow as tf

    from tfx_nmt.text.normalization import normalize_tf

    assert [t.decode("utf-8") for t in normalize_tf(tf.constant(texts)).numpy()] == [normalize(t) for t in texts]
