"""The JSON Schemas of accoil-map, shipped inside the package as `accoil_map.schemas` (data only)."""
