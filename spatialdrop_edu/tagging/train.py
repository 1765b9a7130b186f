"""Training one tagger with the course's one loop, and scoring it on ambiguous, rare and other tokens.

:func:`train_tagger` fits a :class:`~spatialdrop_edu.tagging.models.Tagger` (or any model mapping token
ids ``(N, T)`` to logits ``(N, T, K)``) with :func:`~spatialdrop_edu.training.loop.fit`: minibatches of
sentences (:func:`tagger_batches`), cross-entropy over real tokens (:func:`tagger_loss`), and after each
epoch the validation and test accuracies by group (:func:`tag_accuracy`). Its optimizer and generators
come from :func:`~spatialdrop_edu.training.prepare.prepare_run`, as every training of the course: the
minibatch order from a ``torch.Generator`` seeded with the run's seed, the dropout masks from PyTorch's
global generator seeded with it. The same seed gives the same history bit for bit, under the conditions
of :mod:`~spatialdrop_edu.training.loop` (same device, kernels, thread count and versions).
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from .._validation import check_bool, check_choice, check_instance, check_positive_int
from ..runtime import get_device
from ..training.loop import fit, train_steps
from ..training.measure import eval_mode
from ..training.prepare import prepare_run
from ..training.settings import TrainSettings, training_settings
from .corpus import GROUPS, IGNORE_INDEX, TaggedSentences, TaggingLanguage, accuracy_by_group

__all__ = [
    "MONITORS",
    "TAGGER_TRAINING",
    "tagger_batches",
    "tagger_loss",
    "predict_tags",
    "tag_accuracy",
    "train_tagger_epoch",
    "train_tagger",
]

#: What :func:`train_tagger` can select its best epoch by, with whether higher is better.
MONITORS = {"val_acc": True, "val_loss": False}


def _tensors(sentences: TaggedSentences) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    return torch.from_numpy(sentences.tokens), torch.from_numpy(sentences.tags), torch.from_numpy(sentences.lengths)


def tagger_batches(sentences: TaggedSentences, batch_size: int, generator: torch.Generator | None = None, device=None):
    """One epoch of minibatches ``(tokens, tags)``, every sentence once, each cut to its longest sentence.

    Args:
        sentences: a split of a :class:`~spatialdrop_edu.tagging.corpus.TaggingLanguage`.
        batch_size: sentences per minibatch.
        generator: draws the order of the sentences (a CPU ``torch.Generator``); ``None`` keeps the
            split's order.
        device: where the minibatches go. Default: the CPU.

    Examples::

        >>> from spatialdrop_edu.tagging import make_tagging_language
        >>> lang = make_tagging_language(vocab_size=200, train_size=10,
        ...                              val_size=5, test_size=5)
        >>> g = torch.Generator().manual_seed(0)
        >>> [tuple(t.shape)[0] for t, _ in tagger_batches(lang.train, 4, g)]
        [4, 4, 2]
    """
    check_instance(sentences, TaggedSentences, "sentences", "a TaggedSentences (a split of a TaggingLanguage)")
    batch_size = check_positive_int(batch_size, "batch_size", "sentences per minibatch")
    tokens, tags, lengths = _tensors(sentences)
    order = torch.arange(len(sentences)) if generator is None else torch.randperm(len(sentences), generator=generator)
    for idx in order.split(batch_size):
        width = int(lengths[idx].max())
        yield tokens[idx, :width].to(device), tags[idx, :width].to(device)


def tagger_loss(model: torch.nn.Module, batch: tuple) -> torch.Tensor:
    """The training loss of a tagger on one minibatch ``(tokens, tags)``: mean cross-entropy over real tokens.

    Padding carries the tag :data:`~spatialdrop_edu.tagging.corpus.IGNORE_INDEX`, which the loss ignores.

    Examples::

        >>> from spatialdrop_edu.tagging import Tagger
        >>> model = Tagger(20, 4, dim=4, hidden=4)
        >>> tokens, tags = torch.tensor([[3, 5, 0]]), torch.tensor([[1, 2, -100]])
        >>> bool(tagger_loss(model, (tokens, tags)) > 0)
        True
    """
    tokens, tags = batch
    logits = model(tokens)
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), tags.reshape(-1), ignore_index=IGNORE_INDEX)


def _device_of(model: torch.nn.Module) -> torch.device:
    return next(model.parameters()).device


@torch.no_grad()
def _predict(model: torch.nn.Module, sentences: TaggedSentences, batch_size: int) -> tuple[np.ndarray, float]:
    """Predicted tags ``(S, T)`` (``IGNORE_INDEX`` at padding) and the mean cross-entropy over real tokens."""
    device = _device_of(model)
    predictions = np.full(sentences.tags.shape, IGNORE_INDEX, dtype=np.int64)
    total, start = 0.0, 0
    with eval_mode(model):
        for tokens, tags in tagger_batches(sentences, batch_size, device=device):
            logits = model(tokens)
            flat = logits.reshape(-1, logits.shape[-1])
            total += F.cross_entropy(flat, tags.reshape(-1), ignore_index=IGNORE_INDEX, reduction="sum").item()
            rows = slice(start, start + len(tokens))
            predictions[rows, : tokens.shape[1]] = logits.argmax(-1).cpu().numpy()
            start += len(tokens)
    predictions[~sentences.mask] = IGNORE_INDEX
    return predictions, total / sentences.num_tokens


def predict_tags(model: torch.nn.Module, sentences: TaggedSentences, batch_size: int = 512) -> np.ndarray:
    """The tags a tagger predicts for a split, in evaluation mode (modes restored afterwards).

    Args:
        model: maps token ids ``(N, T)`` to logits ``(N, T, K)``.
        sentences: a split of a :class:`~spatialdrop_edu.tagging.corpus.TaggingLanguage`.
        batch_size: sentences per forward pass. Default: 512.

    Returns:
        Tag ids, an ``int64`` array of the split's shape ``(S, T)``, with
        :data:`~spatialdrop_edu.tagging.corpus.IGNORE_INDEX` at padding.

    Examples::

        >>> from spatialdrop_edu.tagging import Tagger, make_tagging_language
        >>> lang = make_tagging_language(vocab_size=200, train_size=10,
        ...                              val_size=5, test_size=5)
        >>> model = Tagger(lang.vocab_size, lang.num_tags)
        >>> predict_tags(model, lang.test).shape
        (5, 20)
    """
    check_instance(sentences, TaggedSentences, "sentences", "a TaggedSentences (a split of a TaggingLanguage)")
    return _predict(model, sentences, check_positive_int(batch_size, "batch_size", "sentences per forward pass"))[0]


def tag_accuracy(model: torch.nn.Module, sentences: TaggedSentences, batch_size: int = 512) -> dict[str, float]:
    """A tagger's accuracy on a split: over all real tokens and by group (ambiguous, rare, the rest).

    The groups are those of :func:`~spatialdrop_edu.tagging.corpus.accuracy_by_group`:
    ``"overall"``, ``"ambiguous"``, ``"rare"`` and ``"unambiguous_frequent"`` (``nan`` for a group with
    no token). The model runs in evaluation mode, its modes restored afterwards.

    Args:
        model: maps token ids ``(N, T)`` to logits ``(N, T, K)``.
        sentences: a split of a :class:`~spatialdrop_edu.tagging.corpus.TaggingLanguage`.
        batch_size: sentences per forward pass. Default: 512.

    Examples::

        >>> from spatialdrop_edu.tagging import Tagger, make_tagging_language
        >>> lang = make_tagging_language(vocab_size=200, train_size=10,
        ...                              val_size=5, test_size=5)
        >>> acc = tag_accuracy(Tagger(lang.vocab_size, lang.num_tags), lang.test)
        >>> sorted(acc) == sorted(GROUPS)
        True
    """
    return accuracy_by_group(predict_tags(model, sentences, batch_size), sentences)


def train_tagger_epoch(
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    sentences: TaggedSentences,
    *,
    batch_size: int,
    generator: torch.Generator,
) -> None:
    """One epoch of a tagger's optimisation steps: every sentence once, in minibatches, cross-entropy.

    :func:`~spatialdrop_edu.training.loop.train_steps` over :func:`tagger_batches`; what
    :func:`train_tagger` runs per epoch, and what a timing of epochs times.

    Examples::

        >>> from spatialdrop_edu.tagging import Tagger, make_tagging_language
        >>> lang = make_tagging_language(vocab_size=200, train_size=20,
        ...                              val_size=5, test_size=5)
        >>> model = Tagger(lang.vocab_size, lang.num_tags)
        >>> optimizer = torch.optim.Adam(model.parameters())
        >>> g = torch.Generator().manual_seed(0)
        >>> train_tagger_epoch(model, optimizer, lang.train, batch_size=8,
        ...                    generator=g)
        >>> model.training
        True
    """
    device = _device_of(model)
    train_steps(model, optimizer, tagger_batches(sentences, batch_size, generator, device), tagger_loss)


#: The training settings of :func:`train_tagger` where none are given: its keywords change them.
TAGGER_TRAINING = TrainSettings(epochs=10, batch_size=32, lr=1e-2)


def train_tagger(
    model: torch.nn.Module,
    data: TaggingLanguage,
    training: TrainSettings | None = None,
    *,
    seed: int = 0,
    device=None,
    progress: bool = True,
    monitor: str = "val_acc",
    desc: str = "tagger",
    **settings,
) -> dict:
    """Train a tagger on ``data.train`` with cross-entropy over real tokens, watching ``data.val``.

    The one loop, :func:`~spatialdrop_edu.training.loop.fit`, with Adam at ``lr``
    (:func:`~spatialdrop_edu.training.prepare.prepare_run`): the minibatch order comes from a
    ``torch.Generator`` seeded with ``seed``, the dropout masks from PyTorch's global generator, seeded
    with ``seed`` here (the model's initial weights are the caller's: seed before building it). After
    each epoch the model is measured in evaluation mode on the validation and the test split; the test
    split chooses nothing, it lets a study re-score the run at another epoch.

    Args:
        model: maps token ids ``(N, T)`` to logits ``(N, T, K)``, such as
            :class:`~spatialdrop_edu.tagging.models.Tagger`; trained in place.
        data: a :class:`~spatialdrop_edu.tagging.corpus.TaggingLanguage`.
        training: the :class:`~spatialdrop_edu.training.settings.TrainSettings` of the run; or leave it
            out and give settings as keywords (``epochs=5, lr=3e-3``), which change
            :data:`TAGGER_TRAINING` (10 epochs, 32 sentences per minibatch, Adam at 1e-2, no early
            stopping). ``patience``: stop after this many epochs without a better ``monitor``.
        seed: seeds the minibatch order and the dropout masks. Default: 0.
        device: where to train; ``None`` picks :func:`~spatialdrop_edu.runtime.get_device`.
        progress: show a bar over epochs. Default: ``True``.
        monitor: ``"val_acc"`` (the default) or ``"val_loss"``: what selects the epoch whose weights
            the model ends with.
        desc: the bar's label.

    Returns:
        The history of :func:`~spatialdrop_edu.training.loop.fit`: the per-epoch lists ``"epoch"``,
        ``"train_loss"`` (the mean minibatch loss of the epoch, with dropout on), ``"val_loss"``,
        ``"val_acc"``, ``"test_acc"``, the groups' accuracies ``"val_acc_ambiguous"``,
        ``"val_acc_rare"``, ``"val_acc_unambiguous_frequent"`` (and the same for ``test``) and
        ``"epoch_time"``; then ``"best_epoch"``, ``"best_<monitor>"``, ``"epochs_run"``,
        ``"kept_epoch"`` and ``"device"``. The model is left in evaluation mode, with the weights
        of the best epoch.

    Examples::

        >>> from spatialdrop_edu.tagging import Tagger, make_tagging_language
        >>> lang = make_tagging_language(vocab_size=200, train_size=64,
        ...                              val_size=16, test_size=16)
        >>> _ = torch.manual_seed(0)
        >>> model = Tagger(lang.vocab_size, lang.num_tags, dropout="feature",
        ...                p=0.2)
        >>> h = train_tagger(model, lang, epochs=2, seed=0, device="cpu",
        ...                  progress=False)
        >>> h["epoch"], 0 <= h["test_acc"][-1] <= 1
        ([1, 2], True)
    """
    check_instance(model, torch.nn.Module, "model", "a torch.nn.Module, such as Tagger(...)")
    check_instance(data, TaggingLanguage, "data", "a TaggingLanguage (make_tagging_language)")
    check_choice(monitor, tuple(MONITORS), "monitor")
    check_bool(progress, "progress", "show a bar over epochs")
    training = training_settings(training, settings, TAGGER_TRAINING)
    device = get_device() if device is None else torch.device(device)
    model.to(device)
    optimizer, order, _ = prepare_run(model, training, seed)
    step_losses: list[torch.Tensor] = []

    def measure() -> dict:
        metrics = {"train_loss": torch.stack(step_losses).mean().item()}
        step_losses.clear()
        for name in ("val", "test"):
            sentences = data.split(name)
            predictions, loss = _predict(model, sentences, 512)
            accuracy = accuracy_by_group(predictions, sentences)
            if name == "val":
                metrics["val_loss"] = loss
            metrics[f"{name}_acc"] = accuracy["overall"]
            metrics.update({f"{name}_acc_{group}": accuracy[group] for group in GROUPS[1:]})
        return metrics

    return fit(
        model,
        optimizer,
        lambda: tagger_batches(data.train, training.batch_size, order, device),
        tagger_loss,
        epochs=training.epochs,
        evaluate=measure,
        monitor=monitor,
        higher_is_better=MONITORS[monitor],
        patience=training.patience,
        device=device,
        on_step=lambda loss, batch: step_losses.append(loss.detach()),
        progress=progress,
        desc=desc,
        show={"val_acc": ".3f"},
    )
