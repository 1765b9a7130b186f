"""Grading a class's submissions: ``python -m spatialdrop_edu grade``.

* :mod:`~spatialdrop_edu.course.grading.batch`: the command: every submission read, run and scored, ``jobs`` at
  a time, and the reports written.
* :mod:`~spatialdrop_edu.course.grading.restore` and :mod:`~spatialdrop_edu.course.grading.scan` read a
  submission: the instructor's cells put back, what was changed or added flagged.
* :mod:`~spatialdrop_edu.course.grading.scoring` scores what its run reported;
  :mod:`~spatialdrop_edu.course.grading.records` and :mod:`~spatialdrop_edu.course.grading.reports` hold and
  write the results.
* :mod:`~spatialdrop_edu.course.grading.isolation`: running the untrusted code, each submission in a sandbox.
"""
