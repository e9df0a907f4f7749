"""One function per workflow rule: what the rule's script calls between reading and writing.

``rules/<stage>.smk`` -> ``scripts/<rule>.py`` -> ``moflow.tasks.<stage>.<rule>``. Every function
takes in-memory objects (sheets and matrices as read by :mod:`moflow.io`, the
:class:`~moflow.settings.Settings`) and returns what the rule writes; each declares the settings
sections it reads (``fn.reads``), and ``rules/common.smk`` hands the rule exactly those.

Modules are imported by their scripts one at a time (``from moflow.tasks.evaluate import
cv_fold``); this package imports none of them, so a job loads only its stage.
"""
