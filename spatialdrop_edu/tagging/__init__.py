"""Chapter 9's toolkit: SpatialDropout1D in a sequence tagger, against dropping values, tokens or word types.

One concept per module; read them in this order:

1. :mod:`~spatialdrop_edu.tagging.corpus`: a tagged corpus (splits of padded sentences), its accuracy on
   ambiguous, rare and other tokens, and the most-frequent-tag baseline;
   :mod:`~spatialdrop_edu.tagging.language`: a part-of-speech tagging language generated offline
   (ambiguous words, rare words, sentence lengths as parameters).
2. :mod:`~spatialdrop_edu.tagging.masks`: the four masks of an embedded batch ``(N, T, C)`` (element,
   feature, token, word type) and :class:`~spatialdrop_edu.tagging.masks.EmbeddingDropout`, which applies
   one of them.
3. :mod:`~spatialdrop_edu.tagging.models`: the tagger in PyTorch (a bidirectional GRU or a stack of
   convolutions) and the same model in Keras.
4. :mod:`~spatialdrop_edu.tagging.train`: one tagger's training with the course's one loop, and its
   accuracy on ambiguous, rare and other tokens.
"""

from . import corpus, language, masks, models, train
from .corpus import *  # noqa: F403
from .language import *  # noqa: F403
from .masks import *  # noqa: F403
from .models import *  # noqa: F403
from .train import *  # noqa: F403

__all__ = [*corpus.__all__, *language.__all__, *masks.__all__, *models.__all__, *train.__all__]
