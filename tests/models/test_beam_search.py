"""Beam search against exhaustive search on a toy bigram model, where a wide beam must find the optimum."""
import itertools
import math

import numpy as np
import pytest
import tensorflow as tf

from tfx_nmt.models.beam_search import beam_search, length_penalty

PAD, BOS, EOS = 0, 2, 3
VOCABULARY = 6
TOKENS = [t for t in range(VOCABULARY) if t != PAD]


def bigram_table(seed):
    """log P(next | previous) `[V, V]`, PAD never generated."""
    logits = np.random.default_rng(seed).normal(scale=2.0, size=(VOCABULARY, VOCABULARY))
    logits[:, PAD] = -np.inf
    return logits - np.log(np.sum(np.exp(logits), axis=1, keepdims=True))


def exhaustive_best(table, max_length, alpha):
    """(tokens after BOS, log-probability) maximizing log P / lp over all outputs of <= max_length - 1
    tokens that end with EOS or at the limit."""
    best = None
    for n in range(1, max_length):
        for tokens in itertools.product(TOKENS, repeat=n):
            if EOS in tokens[:-1] or (n < max_length - 1 and tokens[-1] != EOS):
                continue
            log_prob = sum(table[a, b] for a, b in zip((BOS,) + tokens, tokens))
            score = log_prob / ((5 + n) / 6) ** alpha
            if best is None or score > best[0]:
                best = (score, list(tokens), log_prob)
    return best[1], best[2]


def run_n_best_search(table, max_lengths, beam_size, alpha):
    """Every finished hypothesis of each row: ids `[B, K, T]`, log_prob `[B, K]`, num_tokens `[B, K]`."""
    table = tf.constant(table, tf.float32)

    def step(token_ids, cache, index):
        return tf.gather(table, token_ids[:, index - 1]), cache

    ids, log_prob, num_tokens = beam_search(step, (), tf.constant(max_lengths, tf.int32), beam_size, alpha,
                                            BOS, EOS, PAD)
    return ids.numpy(), log_prob.numpy(), num_tokens.numpy()


def run_beam_search(table, max_lengths, beam_size, alpha):
    """The best hypothesis of each row: `run_n_best_search`'s `[:, 0]`."""
    ids, log_prob, num_tokens = run_n_best_search(table, max_lengths, beam_size, alpha)
    return ids[:, 0], log_prob[:, 0], num_tokens[:, 0]


@pytest.mark.parametrize("alpha", [0.0, 0.6, 2.0])
@pytest.mark.parametrize("seed", range(4))
def test_wide_beam_finds_the_exhaustive_optimum_for_each_row_limit(seed, alpha):
    table = bigram_table(seed)
    max_lengths = [2, 4, 5]
    # 5 ** 3 hypotheses never leave the beam, so beam search is exhaustive here.
    ids, log_prob, num_tokens = run_beam_search(table, max_lengths, 125, alpha)
    assert ids.shape == (3, 5)
    for row, max_length in enumerate(max_lengths):
        tokens, expected_log_prob = exhaustive_best(table, max_length, alpha)
        assert ids[row, 0] == BOS
        assert list(ids[row, 1:1 + len(tokens)]) == tokens
        assert np.all(ids[row, 1 + len(tokens):] == PAD)
        assert num_tokens[row] == len(tokens)
        assert log_prob[row] == pytest.approx(expected_log_prob, abs=1e-5)


def test_length_penalty_changes_the_winner():
    # From BOS: EOS at once (log 0.5) or token 4 (log 0.5), then EOS with probability 0.9. Log-probability
    # prefers the 1-token output (-0.69 vs -0.80); alpha 1 prefers the 2-token one (-0.69/1 vs -0.80/1.17).
    table = np.full((VOCABULARY, VOCABULARY), -30.0)
    table[BOS, EOS] = table[BOS, 4] = math.log(0.5)
    table[4, EOS] = math.log(0.9)
    table[4, 5] = math.log(0.1)
    table[:, PAD] = -np.inf
    ids, _, num_tokens = run_beam_search(table, [6], 2, 0.0)
    assert list(ids[0]) == [BOS, EOS, PAD, PAD, PAD, PAD] and num_tokens[0] == 1
    ids, log_prob, num_tokens = run_beam_search(table, [6], 2, 1.0)
    assert list(ids[0]) == [BOS, 4, EOS, PAD, PAD, PAD] and num_tokens[0] == 2
    assert log_prob[0] == pytest.approx(math.log(0.5) + math.log(0.9), abs=1e-6)


def test_beam_of_one_is_greedy():
    table = bigram_table(7)
    ids, _, _ = run_beam_search(table, [8], 1, 0.6)
    expected, previous = [BOS], BOS
    while len(expected) < 8 and previous != EOS:
        previous = int(np.argmax(table[previous]))
        expected.append(previous)
    assert list(ids[0][:len(expected)]) == expected


def test_length_penalty_values():
    # ((5 + 7) / 6) ** 0.6 = 2 ** 0.6.
    assert length_penalty(tf.constant(7), 0.6).numpy() == pytest.approx(2 ** 0.6)
    assert length_penalty(tf.constant(3), 0.0).numpy() == 1.0


def sequence_log_prob(table, ids):
    """The bigram log-probability of one hypothesis' tokens after BOS up to its first EOS or PAD."""
    tokens = [int(t) for t in ids[1:]]
    tokens = tokens[:tokens.index(EOS) + 1] if EOS in tokens else [t for t in tokens if t != PAD]
    return sum(table[a, b] for a, b in zip([BOS] + tokens, tokens)), len(tokens)


@pytest.mark.parametrize("alpha", [0.0, 0.6])
def test_n_best_hypotheses_are_distinct_and_sorted_best_first(alpha):
    table = bigram_table(3)
    beam_size, max_lengths = 3, [6, 4]
    ids, log_prob, num_tokens = run_n_best_search(table, max_lengths, beam_size, alpha)
    assert ids.shape == (2, beam_size, 6) and log_prob.shape == num_tokens.shape == (2, beam_size)
    for row in range(2):
        # Every slot is filled here (3 * 2 candidates from 5 tokens), each a hypothesis of its own.
        assert len({tuple(hypothesis) for hypothesis in ids[row]}) == beam_size
        scores = []
        for k in range(beam_size):
            expected_log_prob, length = sequence_log_prob(table, ids[row, k])
            assert ids[row, k, 0] == BOS and num_tokens[row, k] == length
            assert log_prob[row, k] == pytest.approx(expected_log_prob, abs=1e-5)
            scores.append(log_prob[row, k] / ((5 + length) / 6) ** alpha)
        assert scores == sorted(scores, reverse=True)
        best, best_log_prob = exhaustive_best(table, max_lengths[row], alpha)
        assert list(ids[row, 0, 1:1 + len(best)]) == best
