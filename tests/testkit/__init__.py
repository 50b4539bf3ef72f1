"""Helpers shared by every test suite, imported as a package (``from testkit.paths import CHART``)."""
