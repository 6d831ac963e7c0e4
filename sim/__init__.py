"""migsim: an agent-based simulator of migration routes through the Darién Gap,
Central America and Mexico to the US southern border (Mesa 3.5)."""

__version__ = "0.1.0"
