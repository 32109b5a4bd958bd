"""stresswatch: an economic-stress monitor for the ruble, policy rates and China–Russia trade."""

__version__ = "0.1.0"
