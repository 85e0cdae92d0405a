"""Benchmarks of accoil-map: generated modules against hand-written, interpreted and naive
transforms of the same mappings, plus end-to-end `run` throughput and memory.

Run with `python -m bench` (see `python -m bench --help`).
"""
