"""The course tools instructors run (``python -m spatialdrop_edu ...``); they need the ``instructor`` extra.

Three concerns, one folder each:

* :mod:`~spatialdrop_edu.course.edition`: making the course's editions: notebooks executed as the course
  commits them, the student edition (solutions out), the course plan (``execute``, ``release``, ``exercises``).
* :mod:`~spatialdrop_edu.course.grading`: grading a class's submissions (``grade``): reading, scoring and
  reporting; running the untrusted code, each submission in a sandbox of its own, is
  :mod:`~spatialdrop_edu.course.grading.isolation`.
* :mod:`~spatialdrop_edu.course.lab`: the learner's JupyterLab (``lab``, ``make lab``).

Both the website and the learner's JupyterLab list the book's sources in one style:
:mod:`~spatialdrop_edu.course.bibliography`.

A training chapter's full study (``study``) is a training command: ``spatialdrop_edu.training.full_study``.
"""
