"""The bundled photographs, under the name chapters 3, 4, 5 and 7 import: :mod:`spatialdrop_edu.photos`.

The photos are data shared by the teaching aids and the training toolkit, so they live in
:mod:`spatialdrop_edu.photos`; this module only keeps ``from spatialdrop_edu.analysis.photos import
load_photo`` working in those chapters until they import from there.
"""

from .. import photos

__all__ = ["PHOTOS", "load_photo"]

#: The bundled photographs by name (the same dict as :data:`spatialdrop_edu.photos.PHOTOS`).
PHOTOS = photos.PHOTOS
load_photo = photos.load_photo
