"""Fixtures of the regimes tests (defined in tests/regimes/simulated.py so other test packages can
import them too): a simulated 2-regime series, its spec and one robust fit of it."""

from tests.regimes.simulated import fit2, sim2, spec2  # noqa: F401
