"""The mappings shipped with accoil-map, inside the package as `accoil_map.mappings` (data
only): `accoil-map init SOURCE` copies them."""
