"""The course tools instructors run (``python -m spatialdrop_edu ...``); they need the ``instructor`` extra.

* :mod:`~spatialdrop_edu.course.cells`: the one home of nbgrader cell metadata and cell sources.
* :mod:`~spatialdrop_edu.course.execute`: run notebooks the way the course commits them.
* :mod:`~spatialdrop_edu.course.progress_lines`: finished progress bars stored as their final line of text.
* :mod:`~spatialdrop_edu.course.release`: student editions of notebooks and of the whole book.
* :mod:`~spatialdrop_edu.course.grading`: check a class's submissions, each in a sandbox of its own:
  :mod:`~spatialdrop_edu.course.restore` and :mod:`~spatialdrop_edu.course.scan` read a submission,
  :mod:`~spatialdrop_edu.course.launch` runs it (:mod:`~spatialdrop_edu.course.sandbox`,
  :mod:`~spatialdrop_edu.course.uids`, :mod:`~spatialdrop_edu.course.cgroups`,
  :mod:`~spatialdrop_edu.course.sandbox_entry`, ``grade_runner.py``; without a sandbox
  :mod:`~spatialdrop_edu.course.unsandboxed`), :mod:`~spatialdrop_edu.course.scoring` scores it, and
  :mod:`~spatialdrop_edu.course.records` and :mod:`~spatialdrop_edu.course.reports` hold and write the results.
* :mod:`~spatialdrop_edu.course.plan`: the course plan read from the chapters.
* :mod:`~spatialdrop_edu.course.lab`: the learner's JupyterLab (``make lab``): the student edition in a
  working copy, the course's JupyterLab settings, widget state kept on save; the copy's notebooks as the
  website reads (:mod:`~spatialdrop_edu.course.lab_copy`, :mod:`~spatialdrop_edu.course.lab_references`) and
  the course's kernel (:mod:`~spatialdrop_edu.course.lab_kernel`).
"""
