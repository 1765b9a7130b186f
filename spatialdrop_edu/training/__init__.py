"""Training toolkit of the course's part III: data, models, one loop, studies, their figures.

Read it in this order:

1. :mod:`~spatialdrop_edu.training.data`: MNIST-1D built offline, image patches from bundled photos.
2. :mod:`~spatialdrop_edu.training.models`: small CNNs whose dropout variant, rate and placement
   are arguments.
3. :mod:`~spatialdrop_edu.training.loop`: :func:`~spatialdrop_edu.training.loop.train`, with early stopping and per-epoch metrics.
4. :mod:`~spatialdrop_edu.training.study`: seeds, saved and resumed runs, 95% intervals;
   :mod:`~spatialdrop_edu.training.workers`: the same runs side by side, on this machine or a cluster;
   :mod:`~spatialdrop_edu.training.results`: where studies live (shipped, your own, cached).
5. :mod:`~spatialdrop_edu.training.experiments`: the runs the chapters study.
6. :mod:`~spatialdrop_edu.training.images` and :mod:`~spatialdrop_edu.training.denoising`: what
   chapters 7 and 8 add, augmentation and a U-Net denoiser.
7. :mod:`~spatialdrop_edu.training.epochs`: what an epoch costs, the configurations timed against
   each other with the course's timing helper (:mod:`spatialdrop_edu.timing`).
8. :mod:`~spatialdrop_edu.training.plots`: learning curves and comparisons (imports matplotlib
   when called).
"""

from . import denoising, images
from .data import Splits, face_patches, load_fashion_mnist, load_mnist1d, read_idx, texture_patches
from .epochs import epoch_times
from .experiments import MNIST1D_DEFAULTS, mnist1d_config, mnist1d_trial
from .loop import evaluate, train, train_epoch
from .models import PLACEMENTS, VARIANTS, dropout_layers, make_dropout, mnist1d_cnn, patch_cnn
from .plots import plot_comparison, plot_learning_curves
from .results import full_results, local_results, shipped_results, study_cache, study_meta, write_meta
from .study import (load_runs, markdown_table, mean_ci, paired_differences, run_study, select_best, summarize,
                    t_quantile)
from .workers import study_executor, usable_cores

__all__ = [
    "denoising",
    "images",
    "MNIST1D_DEFAULTS",
    "PLACEMENTS",
    "Splits",
    "VARIANTS",
    "dropout_layers",
    "epoch_times",
    "evaluate",
    "face_patches",
    "full_results",
    "load_fashion_mnist",
    "load_mnist1d",
    "load_runs",
    "local_results",
    "make_dropout",
    "markdown_table",
    "mean_ci",
    "mnist1d_cnn",
    "mnist1d_config",
    "mnist1d_trial",
    "paired_differences",
    "patch_cnn",
    "plot_comparison",
    "plot_learning_curves",
    "read_idx",
    "run_study",
    "select_best",
    "shipped_results",
    "study_cache",
    "study_executor",
    "study_meta",
    "summarize",
    "t_quantile",
    "texture_patches",
    "train",
    "train_epoch",
    "usable_cores",
    "write_meta",
]
