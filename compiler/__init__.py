"""accoil-map: compile YAML mappings of analytics events into Accoil API calls."""

__version__ = "0.1.0"
