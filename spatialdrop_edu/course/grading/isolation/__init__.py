"""Running untrusted code: each submission in a throwaway sandbox of its own, within the batch's limits.

* :mod:`~spatialdrop_edu.course.grading.isolation.policy`: how a batch runs: the sandbox or why not, the limits,
  the kernels' environment.
* :mod:`~spatialdrop_edu.course.grading.isolation.launch` runs one submission: its cgroups
  (:mod:`~spatialdrop_edu.course.grading.isolation.cgroups`), user id
  (:mod:`~spatialdrop_edu.course.grading.isolation.uids`) and bubblewrap sandbox
  (:mod:`~spatialdrop_edu.course.grading.isolation.sandbox`); without a sandbox
  :mod:`~spatialdrop_edu.course.grading.isolation.unsandboxed`.
* Run by file path, each beside the sibling it imports:
  :mod:`~spatialdrop_edu.course.grading.isolation.grade_runner` (the runner that talks to the kernel, with
  :mod:`~spatialdrop_edu.course.grading.isolation.wakeful_client`) and
  :mod:`~spatialdrop_edu.course.grading.isolation.sandbox_entry` (rlimits, user and the filter of
  :mod:`~spatialdrop_edu.course.grading.isolation.seccomp`, inside the sandbox).
"""
