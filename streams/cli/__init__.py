"""The ``wirestream`` command line: the click group (:mod:`.main`) and the commands that need more
than a few lines (``demo``, ``ingest``, ``replay``)."""
