"""Connectors shipped with cargohold (registered through the `cargohold.connectors` entry points)."""
