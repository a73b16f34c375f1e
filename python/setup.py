"""setup.py: only what pyproject.toml cannot say. The wheel carries a
compiled library (lesion/liblesion.so), so it is marked as binary (tagged
for this platform, not "any"), and building without the library fails
with the command that makes it."""
import os

from setuptools import setup
from setuptools.dist import Distribution

HERE = os.path.dirname(os.path.abspath(__file__))
if not os.path.isfile(os.path.join(HERE, "lesion", "liblesion.so")):
    raise SystemExit("lesion/liblesion.so is missing: run `make python` in the repository first")


class BinaryDistribution(Distribution):
    def has_ext_modules(self):
        return True


setup(distclass=BinaryDistribution)
