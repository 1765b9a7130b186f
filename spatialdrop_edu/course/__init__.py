"""The course tools instructors run (``python -m spatialdrop_edu ...``); they need the ``instructor`` extra.

* :mod:`~spatialdrop_edu.course.cells`: the one home of nbgrader cell metadata and cell sources.
* :mod:`~spatialdrop_edu.course.execute`: run notebooks the way the course commits them.
* :mod:`~spatialdrop_edu.course.release`: student editions of notebooks and of the whole book.
* :mod:`~spatialdrop_edu.course.grading` and ``grade_runner.py``: check
  a class's submissions.
* :mod:`~spatialdrop_edu.course.plan`: the course plan read from the chapters.
* :mod:`~spatialdrop_edu.course.lab`: the learner's JupyterLab (``make lab``): the student edition in a
  working copy, the course's JupyterLab settings, widget state kept on save.
"""
