"""Making the course's editions: the notebooks as the course commits them, and the student edition.

* :mod:`~spatialdrop_edu.course.edition.cells`: the one home of nbgrader cell metadata and cell sources
  (release, grading and the lab all read cells through it).
* :mod:`~spatialdrop_edu.course.edition.execute`: run notebooks the way the course commits them (``execute``);
  :mod:`~spatialdrop_edu.course.edition.progress_lines`: finished progress bars stored as their final line.
* :mod:`~spatialdrop_edu.course.edition.release`: student editions of notebooks and of the whole book
  (``release``).
* :mod:`~spatialdrop_edu.course.edition.plan`: the course plan read from the chapters (``exercises``).
"""
