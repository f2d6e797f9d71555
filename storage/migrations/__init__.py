"""A package only so that setuptools ships env.py and the revisions with twoway."""
