"""Training toolkit of the course's part III: data, models, one loop, run settings, studies, their figures.

One concept per module; read them in this order:

1. :mod:`~spatialdrop_edu.training.data`: MNIST-1D built offline; image patches and denoising
   patches cut from the bundled photos, training and test from disjoint regions
   (:mod:`~spatialdrop_edu.training.fashion_mnist`: the one dataset read from downloaded files).
2. :mod:`~spatialdrop_edu.training.augment`: mirror images, flips and rotations (the eight symmetries of a
   square), drawn per image.
3. :mod:`~spatialdrop_edu.training.models`: small CNNs and a tiny U-Net whose dropout variant,
   rate and placement are arguments.
4. :mod:`~spatialdrop_edu.training.settings`: the typed settings every run shares, how it trains
   (:class:`~spatialdrop_edu.training.settings.TrainSettings`) and which dropout it carries
   (:class:`~spatialdrop_edu.training.settings.DropoutSettings`); :mod:`~spatialdrop_edu.training.prepare`:
   what a run sets up from them before its first step (optimizer, generators, the masks' seed).
5. :mod:`~spatialdrop_edu.training.measure`: a model's outputs and a classifier's loss and accuracy;
   :mod:`~spatialdrop_edu.training.loop`: the one training loop (:func:`~spatialdrop_edu.training.loop.fit`,
   with hooks); :mod:`~spatialdrop_edu.training.classifier`: its use for classifiers,
   :func:`~spatialdrop_edu.training.classifier.train` (Adam with an L2 penalty or AdamW with decoupled weight
   decay).
6. :mod:`~spatialdrop_edu.training.denoising`: chapter 8's denoiser: its training (the same loop),
   its score (PSNR) and how much of its input it copies;
   :mod:`~spatialdrop_edu.training.mc_dropout`: Monte Carlo dropout, for any model with dropout layers.
7. :mod:`~spatialdrop_edu.training.runs`: the kinds of run the chapters study, typed, and their stored JSON;
   :mod:`~spatialdrop_edu.training.builders`: each kind's data and untrained model.
8. :mod:`~spatialdrop_edu.training.experiments`: one :func:`~spatialdrop_edu.training.experiments.trial`
   over a table of the kinds (data, model, training, measurement).
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
    back; what every chapter's study is (:mod:`~spatialdrop_edu.training.study_plan`), chapter 7's procedure
    (:mod:`~spatialdrop_edu.training.patch_study`) and chapter 9's tagger study
    (:mod:`~spatialdrop_edu.training.tagger_study`).
"""

from . import (
    augment,
    builders,
    chapter_studies,
    classifier,
    data,
    denoising,
    epochs,
    experiments,
    fashion_mnist,
    loop,
    mc_dropout,
    measure,
    models,
    patch_study,
    plots,
    prepare,
    results,
    runs,
    settings,
    stats,
    study,
    study_plan,
    tables,
    tagger_study,
    workers,
)
from .augment import *
from .builders import *
from .chapter_studies import *
from .classifier import *
from .data import *
from .denoising import *
from .epochs import *
from .experiments import *
from .fashion_mnist import *
from .loop import *
from .mc_dropout import *
from .measure import *
from .models import *
from .patch_study import *
from .plots import *
from .prepare import *
from .results import *
from .runs import *
from .settings import *
from .stats import *
from .study import *
from .study_plan import *
from .tables import *
from .tagger_study import *
from .workers import *

#: Every module's public names (its ``__all__``), offered here too: ``training.mnist1d_trial``.
__all__ = [
    "augment",
    "builders",
    "chapter_studies",
    "classifier",
    "data",
    "denoising",
    "epochs",
    "experiments",
    "fashion_mnist",
    "loop",
    "mc_dropout",
    "measure",
    "models",
    "patch_study",
    "plots",
    "prepare",
    "results",
    "runs",
    "settings",
    "stats",
    "study",
    "study_plan",
    "tables",
    "tagger_study",
    "workers",
    *augment.__all__,
    *data.__all__,
    *fashion_mnist.__all__,
    *settings.__all__,
    *prepare.__all__,
    *models.__all__,
    *measure.__all__,
    *loop.__all__,
    *classifier.__all__,
    *denoising.__all__,
    *mc_dropout.__all__,
    *runs.__all__,
    *builders.__all__,
    *experiments.__all__,
    *study.__all__,
    *workers.__all__,
    *tables.__all__,
    *tagger_study.__all__,
    *stats.__all__,
    *results.__all__,
    *epochs.__all__,
    *plots.__all__,
    *study_plan.__all__,
    *chapter_studies.__all__,
    *patch_study.__all__,
]
