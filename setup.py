# For tools of the `python setup.py` era: all metadata lives in pyproject.toml ([project] and [tool.nbdev]).
from setuptools import setup
setup()
