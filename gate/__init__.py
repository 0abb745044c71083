"""Gate controller: card and PIN always work; face is an optional, consented, 1:1 credential."""

__version__ = "0.1.0"
