"""The learner's JupyterLab: ``make lab`` (``python -m spatialdrop_edu lab``).

* :mod:`~spatialdrop_edu.course.lab.start`: the student edition in a working copy, and the course's JupyterLab
  started on it (its settings, kernel and extension; widget state kept on save).
* :mod:`~spatialdrop_edu.course.lab.notebooks`: the working copy's notebooks as the website reads, and a
  landing notebook; :mod:`~spatialdrop_edu.course.lab.references`: the book's cross-references resolved.
* :mod:`~spatialdrop_edu.course.lab.kernel`: the course's Python kernel.
* ``settings/``: JupyterLab's settings (``overrides.json5``); ``data/``: the kernelspec and the course's
  JupyterLab extension, first on the lab's ``JUPYTER_PATH``.
"""
