"""Sample events of the shipped sources, inside the package as `accoil_map.samples` (data
only): `accoil-map init SOURCE` takes its first golden cases from them."""
