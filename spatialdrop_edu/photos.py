"""Real photographs that ship with installed packages, as grayscale arrays: no download, ever.

matplotlib ships ``grace_hopper.jpg``; scikit-image ships a few photos and textures in
``skimage.data`` (the ones listed in :data:`PHOTOS`; others would be fetched from the internet, so
they are not offered). The teaching aids measure pixel correlations on them and the training toolkit
cuts its patches from them, so they live beside both, here.
"""

from __future__ import annotations

import numpy as np

from ._validation import check_choice

#: name -> (package, file or skimage.data function, what it shows)
PHOTOS = {
    "grace_hopper": ("matplotlib", "grace_hopper.jpg", "portrait of Grace Hopper"),
    "camera": ("skimage", "camera", "man with a camera, outdoors"),
    "astronaut": ("skimage", "astronaut", "astronaut Eileen Collins"),
    "coffee": ("skimage", "coffee", "a cup of coffee"),
    "chelsea": ("skimage", "chelsea", "a cat"),
    "rocket": ("skimage", "rocket", "a rocket on its launch pad"),
    "brick": ("skimage", "brick", "texture: a brick wall"),
    "grass": ("skimage", "grass", "texture: grass"),
    "gravel": ("skimage", "gravel", "texture: gravel"),
}


def load_photo(name: str = "grace_hopper") -> np.ndarray:
    """A bundled photograph as a grayscale ``float64`` array with values in ``[0, 1]``.

    Args:
        name: one of :data:`PHOTOS`.

    Returns:
        An array of shape ``(H, W)``. Colour photos are converted with the ITU-R BT.601 luma
        weights (0.299, 0.587, 0.114).

    Examples::

        >>> img = load_photo("grace_hopper")
        >>> img.ndim, bool(0.0 <= img.min() <= img.max() <= 1.0)
        (2, True)
    """
    check_choice(name, tuple(PHOTOS), "name")
    package, item, _ = PHOTOS[name]
    if package == "matplotlib":
        import matplotlib.cbook
        import matplotlib.image

        with matplotlib.cbook.get_sample_data(item) as handle:
            image = np.asarray(matplotlib.image.imread(handle, format=item.rsplit(".", 1)[1]))
    else:
        import skimage.data

        image = np.asarray(getattr(skimage.data, item)())
    image = image.astype(np.float64)
    if image.max() > 1.0:
        image = image / 255.0
    if image.ndim == 3:
        image = image[..., :3] @ np.array([0.299, 0.587, 0.114])
    return np.clip(image, 0.0, 1.0)
