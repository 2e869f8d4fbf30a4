"""The fault campaign (``lead-scoring faults``): kill the nightly run inside each stage, rerun
the date, and compare the marts and the CRM with a clean run of the same date and data.

``stages`` runs the nightly stages as child processes that can be killed at a point,
``pause`` holds a child at an exact place in a library's code for the kill, ``points`` is
the catalogue of kill points, ``compare`` judges equality and duplicates, ``campaign`` ties
them together. See docs/faults.md.
"""
