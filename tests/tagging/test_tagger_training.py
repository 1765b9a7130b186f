"""Training a tagger with the one loop: it learns context, it is a function of its seed, its accuracies add up."""

import math

import numpy as np
import pytest
import torch

from spatialdrop_edu.tagging.corpus import GROUPS, IGNORE_INDEX, accuracy_by_group
from spatialdrop_edu.tagging.corpus import most_frequent_tag_accuracy as baseline
from spatialdrop_edu.tagging.language import make_tagging_language
from spatialdrop_edu.tagging.models import ENCODERS, Tagger
from spatialdrop_edu.tagging.train import predict_tags, tag_accuracy, tagger_batches, train_tagger

LANG = make_tagging_language(vocab_size=300, train_size=500, val_size=100, test_size=200)
TINY = make_tagging_language(vocab_size=200, train_size=96, val_size=32, test_size=32)


@pytest.fixture(autouse=True)
def one_thread():
    """Small models gain nothing from more threads, and on a shared machine waiting threads cost much."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def run(lang, encoder="gru", variant="word_type", p=0.2, seed=0, **kwargs):
    torch.manual_seed(seed)
    model = Tagger(lang.vocab_size, lang.num_tags, encoder=encoder, dropout=variant, p=p)
    history = train_tagger(model, lang, seed=seed, device="cpu", progress=False, **kwargs)
    return model, history


@pytest.mark.parametrize("encoder", ENCODERS)
def test_a_tagger_beats_the_most_frequent_tag_in_a_few_epochs_by_reading_context(encoder):
    model, history = run(LANG, encoder, "feature", 0.2, epochs=6)
    ours, unigram = tag_accuracy(model, LANG.test), baseline(LANG)
    assert ours["overall"] > unigram["overall"] + 0.02
    assert ours["ambiguous"] > unigram["ambiguous"] + 0.2  # context decides these
    assert history["test_acc"][history["kept_epoch"] - 1] == ours["overall"]


@pytest.mark.parametrize("variant", ["feature", "word_type"])
def test_the_same_seed_gives_the_same_history_and_weights_bit_for_bit(variant):
    (m1, h1), (m2, h2) = (run(TINY, "gru", variant, 0.3, seed=5, epochs=2) for _ in range(2))
    del h1["epoch_time"], h2["epoch_time"]
    assert h1 == h2
    for (name, a), b in zip(m1.state_dict().items(), m2.state_dict().values()):
        assert torch.equal(a, b), name
    _, h3 = run(TINY, "gru", variant, 0.3, seed=6, epochs=2)
    assert h3["train_loss"] != h1["train_loss"]


def test_the_masks_come_from_the_global_generator_seeded_with_the_runs_seed():
    """Same weights and order, other mask seed: only the dropout masks differ, so the losses do."""
    torch.manual_seed(0)
    a = Tagger(TINY.vocab_size, TINY.num_tags, dropout="feature", p=0.5)
    b = Tagger(TINY.vocab_size, TINY.num_tags, dropout="feature", p=0.5)
    b.load_state_dict(a.state_dict())
    ha = train_tagger(a, TINY, epochs=1, seed=1, device="cpu", progress=False)
    hb = train_tagger(b, TINY, epochs=1, seed=1, device="cpu", progress=False)
    assert ha["train_loss"] == hb["train_loss"]
    assert torch.initial_seed() == 1


def test_history_holds_every_metric_per_epoch_and_the_model_ends_in_eval_mode():
    model, h = run(TINY, "conv", epochs=3, patience=None)
    per_epoch = ["epoch", "train_loss", "val_loss", "val_acc", "test_acc", "epoch_time"]
    per_epoch += [f"{split}_acc_{group}" for split in ("val", "test") for group in GROUPS[1:]]
    for key in per_epoch:
        assert len(h[key]) == 3, key
    assert h["epochs_run"] == 3 and 1 <= h["best_epoch"] <= 3 and h["best_val_acc"] == max(h["val_acc"])
    assert not model.training
    _, by_loss = run(TINY, "conv", epochs=3, monitor="val_loss")
    assert by_loss["best_val_loss"] == min(by_loss["val_loss"])


def test_tag_accuracy_scores_the_predicted_tags_of_real_tokens():
    torch.manual_seed(0)
    model = Tagger(TINY.vocab_size, TINY.num_tags, encoder="conv")
    predictions = predict_tags(model, TINY.test, batch_size=7)
    assert predictions.shape == TINY.test.tags.shape
    assert (predictions[~TINY.test.mask] == IGNORE_INDEX).all()
    assert ((predictions[TINY.test.mask] >= 0) & (predictions[TINY.test.mask] < TINY.num_tags)).all()
    acc = tag_accuracy(model, TINY.test)
    assert acc == accuracy_by_group(predictions, TINY.test)
    assert all(0 <= v <= 1 or math.isnan(v) for v in acc.values())


def test_minibatches_hold_every_sentence_once_cut_to_their_longest():
    g = torch.Generator().manual_seed(0)
    seen = []
    for tokens, tags in tagger_batches(TINY.train, 10, g):
        assert tokens.shape == tags.shape and tokens.shape[0] <= 10
        assert (tokens[:, -1] != 0).any()  # the longest sentence fills the last column
        assert ((tags == IGNORE_INDEX) == (tokens == 0)).all()
        seen += [row[row != 0].tolist() for row in tokens]
    expected = [row[:n].tolist() for row, n in zip(TINY.train.tokens, TINY.train.lengths)]
    assert sorted(seen) == sorted(expected)
    first = [t for t, _ in tagger_batches(TINY.train, 10, torch.Generator().manual_seed(0))]
    again = [t for t, _ in tagger_batches(TINY.train, 10, torch.Generator().manual_seed(0))]
    assert all(torch.equal(a, b) for a, b in zip(first, again))
    in_order = np.concatenate([t.numpy()[:, :1] for t, _ in tagger_batches(TINY.train, 10)])[:, 0]
    np.testing.assert_array_equal(in_order, TINY.train.tokens[:, 0])


def test_wrong_arguments_are_refused_with_their_name():
    model = Tagger(TINY.vocab_size, TINY.num_tags)
    with pytest.raises(ValueError, match="monitor must be one of 'val_acc', 'val_loss'"):
        train_tagger(model, TINY, monitor="val_f1", progress=False, device="cpu")
    with pytest.raises(TypeError, match="data must be a TaggingLanguage"):
        train_tagger(model, TINY.train, progress=False, device="cpu")
    with pytest.raises(ValueError, match="epochs must be a positive int"):
        train_tagger(model, TINY, epochs=0, progress=False, device="cpu")
    with pytest.raises(ValueError, match="batch_size must be a positive int"):
        next(tagger_batches(TINY.train, 0))
