"""Training toolkit of the course's part III: data, models, one loop, run settings, studies, their figures.

One concept per module; read them in this order:

1. :mod:`~spatialdrop_edu.training.data`: MNIST-1D built offline; image patches and denoising
   patches cut from the bundled photos, training and test from disjoint regions.
2. :mod:`~spatialdrop_edu.training.augment`: mirror images, flips and rotations (the eight symmetries of a
   square), drawn per image.
3. :mod:`~spatialdrop_edu.training.models`: small CNNs and a tiny U-Net whose dropout variant,
   rate and placement are arguments.
4. :mod:`~spatialdrop_edu.training.loop`: the one training loop (:func:`~spatialdrop_edu.training.loop.fit`,
   with hooks), and its use for classifiers, :func:`~spatialdrop_edu.training.loop.train` (Adam with an L2
   penalty or AdamW with decoupled weight decay).
5. :mod:`~spatialdrop_edu.training.denoising`: chapter 8's denoiser: its training (the same loop),
   its score (PSNR) and how much of its input it copies.
6. :mod:`~spatialdrop_edu.training.mc_dropout`: Monte Carlo dropout, for any model with dropout layers.
7. :mod:`~spatialdrop_edu.training.settings`: what a run depends on, with defaults and checks.
8. :mod:`~spatialdrop_edu.training.experiments`: the runs the chapters study, each a function of
   ``(config, seed)``.
9. :mod:`~spatialdrop_edu.training.study`: seeds, saved and resumed runs;
   :mod:`~spatialdrop_edu.training.workers`: the same runs side by side, on this machine or a cluster;
   :mod:`~spatialdrop_edu.training.tables`: the runs read as tables, one row per configuration;
   :mod:`~spatialdrop_edu.training.stats`: their 95% intervals, paired comparisons and verdicts;
   :mod:`~spatialdrop_edu.training.results`: where studies live (shipped, your own, cached).
10. :mod:`~spatialdrop_edu.training.epochs`: what an epoch costs, the configurations timed against
    each other with the course's timing helper (:mod:`spatialdrop_edu.timing`).
11. :mod:`~spatialdrop_edu.training.plots`: learning curves and comparisons (imports matplotlib
    when called).
12. :mod:`~spatialdrop_edu.training.chapter_studies`: each training chapter's studies, described once at
    either scale, run in one call (:func:`~spatialdrop_edu.training.chapter_studies.run_chapter_study`) and read
    back.
"""

from . import (
    augment,
    chapter_studies,
    data,
    denoising,
    epochs,
    experiments,
    loop,
    mc_dropout,
    models,
    plots,
    results,
    settings,
    stats,
    study,
    tables,
    workers,
)
from .augment import *
from .chapter_studies import *
from .data import *
from .denoising import *
from .epochs import *
from .experiments import *
from .loop import *
from .mc_dropout import *
from .models import *
from .plots import *
from .results import *
from .settings import *
from .stats import *
from .study import *
from .tables import *
from .workers import *

#: Every module's public names (its ``__all__``), offered here too: ``training.mnist1d_trial``.
__all__ = [
    "augment",
    "chapter_studies",
    "data",
    "denoising",
    "epochs",
    "experiments",
    "loop",
    "mc_dropout",
    "models",
    "plots",
    "results",
    "settings",
    "stats",
    "study",
    "tables",
    "workers",
    *augment.__all__,
    *data.__all__,
    *models.__all__,
    *loop.__all__,
    *denoising.__all__,
    *mc_dropout.__all__,
    *settings.__all__,
    *experiments.__all__,
    *study.__all__,
    *workers.__all__,
    *tables.__all__,
    *stats.__all__,
    *results.__all__,
    *epochs.__all__,
    *plots.__all__,
    *chapter_studies.__all__,
]
