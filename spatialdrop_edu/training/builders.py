"""The data and the untrained model of each kind of run, built from its typed settings.

* the data, ``<kind>_data(run, seed)``: the seed picks the training and validation examples;
* the untrained model, ``<kind>_model(run, seed)``: its weights drawn after seeding everything
  with ``seed``; dropout layers own no weights, so every variant starts from the same weights for
  one seed.

Each takes a typed run (:mod:`~spatialdrop_edu.training.runs`) or its stored dict, read once.
:func:`~spatialdrop_edu.training.experiments.trial` uses them through its table of kinds.
"""

from __future__ import annotations

import functools

from torch import nn

from ..runtime import seed_everything
from ..tagging.corpus import TaggingLanguage
from ..tagging.language import make_tagging_language
from ..tagging.models import Tagger
from .data import Splits, denoising_patches, face_patches, load_mnist1d, per_class_subset, texture_patches
from .fashion_mnist import load_fashion_mnist
from .models import TinyUNet, mnist1d_cnn, patch_cnn
from .runs import DenoisingRun, MNIST1DRun, PatchRun, TaggerRun, run_from_json

__all__ = [
    "mnist1d_data",
    "mnist1d_model",
    "patch_data",
    "patch_model",
    "denoising_data",
    "denoising_model",
    "tagger_data",
    "tagger_model",
]


def _seeded(seed: int | None) -> None:
    if seed is not None:
        seed_everything(seed)


def mnist1d_data(run: MNIST1DRun, seed: int) -> Splits:
    """The sequences of an MNIST-1D run: :func:`~spatialdrop_edu.training.data.load_mnist1d` with its sizes.

    ``data_seed`` draws the dataset itself (the mnist1d package's 4000 + 1000 sequences; 42 is the
    package's own), ``seed`` the run's training and validation sequences from it.
    """
    run = run_from_json(MNIST1DRun, run)
    return load_mnist1d(run.train_size, run.val_size, seed=seed, data_seed=run.data_seed)


def mnist1d_model(run: MNIST1DRun, seed: int | None = None) -> nn.Sequential:
    """The untrained CNN of an MNIST-1D run (:func:`~spatialdrop_edu.training.models.mnist1d_cnn`).

    With a ``seed``, everything is seeded with it first (:func:`~spatialdrop_edu.runtime.seed_everything`).
    """
    run = run_from_json(MNIST1DRun, run)
    _seeded(seed)
    return mnist1d_cnn(run.dropout, placement=run.placement, channels=run.channels)


@functools.lru_cache(maxsize=32)
def _cached(loader, **kwargs) -> Splits:
    """A loader's result, kept: a study loads the same split for every configuration of a seed."""
    return loader(**kwargs)


def patch_data(run: PatchRun, seed: int) -> Splits:
    """The data of a patch run: its dataset, the training set cut to ``train_per_class``.

    ``"patches"``: :func:`~spatialdrop_edu.training.data.texture_patches` (brick, grass, gravel;
    test rows disjoint from training rows); ``"faces"``: scikit-image's ``lfw_subset``;
    ``"fashion_mnist"``: :func:`~spatialdrop_edu.training.fashion_mnist.load_fashion_mnist` from
    ``data_root`` (files the learner downloaded). The seed picks the validation and
    training examples; the test set is the same for every seed. Every set is standardised with the
    training set's mean and standard deviation.
    """
    run = run_from_json(PatchRun, run)
    if run.dataset == "patches":
        data = _cached(texture_patches, patch=run.patch, stride=run.patch, seed=seed)
    elif run.dataset == "faces":
        data = _cached(face_patches, seed=seed)
    else:
        if run.data_root is None:
            raise ValueError(
                "dataset='fashion_mnist' needs data_root, the folder of the four Fashion-MNIST files "
                "(training.fashion_mnist.download_fashion_mnist fetches them)."
            )
        data = load_fashion_mnist(run.data_root, val_size=5000, seed=seed)
    train_set = per_class_subset(data.train, run.train_per_class, seed)
    val_set = per_class_subset(data.val, run.val_per_class, seed)
    mean, std = float(train_set[0].mean()), float(train_set[0].std())  # the training set's statistics
    return Splits(*(((x - mean) / std, y) for x, y in (train_set, val_set, data.test)))


def patch_model(run: PatchRun, classes: int = 3, seed: int | None = None) -> nn.Sequential:
    """The untrained CNN of a patch run (:func:`~spatialdrop_edu.training.models.patch_cnn`) for ``classes`` classes.

    With a ``seed``, everything is seeded with it first (:func:`~spatialdrop_edu.runtime.seed_everything`).
    """
    run = run_from_json(PatchRun, run)
    _seeded(seed)
    return patch_cnn(run.dropout, placement=run.placement, channels=run.channels, num_classes=classes)


def denoising_data(run: DenoisingRun, seed: int):
    """The patches of a denoising run: :func:`~spatialdrop_edu.training.data.denoising_patches` with its settings.

    Examples::

        >>> run = DenoisingRun(photos=("camera",), patch=16, max_train=10)
        >>> denoising_data(run, 0).train.shape
        torch.Size([10, 1, 16, 16])
    """
    run = run_from_json(DenoisingRun, run)
    return denoising_patches(
        run.photos,
        run.patch,
        run.stride,
        sigma=run.sigma,
        max_train=run.max_train,
        max_val=run.max_val,
        max_test=run.max_test,
        seed=seed,
    )


def denoising_model(run: DenoisingRun, seed: int | None = None) -> TinyUNet:
    """The untrained :class:`~spatialdrop_edu.training.models.TinyUNet` of a denoising run.

    With a ``seed``, everything is seeded with it first (:func:`~spatialdrop_edu.runtime.seed_everything`).

    Examples::

        >>> import torch
        >>> a = denoising_model(DenoisingRun(), 3)
        >>> b = denoising_model(DenoisingRun().replace(dropout="spatial", p=0.5), 3)
        >>> all(torch.equal(x, y) for x, y in zip(a.parameters(), b.parameters()))
        True
    """
    run = run_from_json(DenoisingRun, run)
    _seeded(seed)
    return TinyUNet(run.dropout, placement=run.placement, channels=run.channels)


def tagger_data(run: TaggerRun, seed: int) -> TaggingLanguage:
    """The language of a tagger run, :func:`~spatialdrop_edu.tagging.language.make_tagging_language` at a seed.

    Examples::

        >>> lang = tagger_data(TaggerRun(vocab_size=200, train_size=50), seed=0)
        >>> len(lang.train.lengths), lang.num_tags
        (50, 10)
    """
    run = run_from_json(TaggerRun, run)
    return make_tagging_language(
        run.vocab_size,
        run.ambiguous_share,
        min_length=run.min_length,
        max_length=run.max_length,
        zipf_exponent=run.zipf_exponent,
        train_size=run.train_size,
        val_size=run.val_size,
        test_size=run.test_size,
        seed=seed,
    )


def tagger_model(run: TaggerRun, language: TaggingLanguage, seed: int | None = None) -> Tagger:
    """The untrained :class:`~spatialdrop_edu.tagging.models.Tagger` of a tagger run, sized for ``language``.

    With a ``seed``, everything is seeded with it first (:func:`~spatialdrop_edu.runtime.seed_everything`).
    """
    run = run_from_json(TaggerRun, run)
    _seeded(seed)
    return Tagger(
        language.vocab_size,
        language.num_tags,
        dim=run.dim,
        hidden=run.hidden,
        encoder=run.encoder,
        dropout=run.dropout,
        p=run.p,
    )
