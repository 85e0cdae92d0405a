"""Determinism of the generated source: the same YAML gives byte-identical modules.

- every shipped mapping, and a large generated one (many defines that use each
  other, many rules sharing values, many keys, unicode), compiled by
  `python -m compiler compile ... -o -` in separate processes with different
  PYTHONHASHSEED values, gives byte-identical output, equal to the in-process
  result;
- compiling twice in one process gives the same text (no state leaks between
  compilations), also for hypothesis-generated mappings;
- the header names the mapping file, the compiler version and the sha256 of
  the YAML file's bytes.
"""

from __future__ import annotations

import hashlib
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings

from accoil_map import __version__, check
from accoil_map.codegen import generate
from tests import strategies as S

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = sorted((ROOT / "mappings").glob("*.yaml"))
HASH_SEEDS = ("1", "2", "4242")


def big_mapping(seed: int = 7, defines: int = 40, rules: int = 25) -> str:
    """A large valid custom mapping: define chains, shared values, many keys and rules.

    Built from a seeded random generator, so the text itself is fixed; the point is
    that hash-ordered structures (sets, dict-of-IR counters) inside the compiler must
    not leak into the output.
    """
    rng = random.Random(seed)
    fields = ["user", "ts", "props", "kind", "groups", "group_properties", "a", "b"]
    keys = ["email", "name", "plan", "mrr", "b c", "ключ", "$pathname", "0", "x.y"]
    lines = [
        "version: 1",
        "name: big-determinism",
        "source: custom",
        "description: a large mapping for the determinism tests",
        "define:",
    ]

    def field() -> str:
        return rng.choice(fields)

    def quoted(key: str) -> str:
        return '"' + key + '"'

    for index in range(defines):
        earlier = [f"d{j}" for j in range(index)]
        kind = rng.randrange(7)
        if kind == 0 or not earlier:
            lines.append(f"  d{index}: {{path: '{field()}.{quoted(rng.choice(keys))}'}}")
        elif kind == 1:
            lines.append(f'  d{index}: "{{{{ {rng.choice(earlier)} | default({field()}) }}}}"')
        elif kind == 2:
            a, b = rng.choice(earlier), rng.choice(earlier)
            lines.append(f'  d{index}: "{{{{ {a} }}}}-{{{{ {b} | lower }}}}-é"')
        elif kind == 3:
            a, b = rng.choice(earlier), rng.choice(earlier)
            lines.append(f"  d{index}:")
            lines.append(f'    coalesce: ["{{{{ {a} }}}}", {{path: {field()}}}, "{{{{ {b} }}}}"]')
            lines.append("    as: string")
        elif kind == 4:
            lines.append(f"  d{index}:")
            lines.append("    merge:")
            lines.append(f"      - {{path: {field()}}}")
            for key in rng.sample(keys, 3):
                lines.append(f'      - {{{quoted(key)}: "{{{{ {rng.choice(earlier)} }}}}"}}')
            lines.append("    omit_keys: [ip, geoip]")
        elif kind == 5:
            lines.append(f"  d{index}:")
            lines.append("    groups:")
            lines.append("      ids: groups")
            lines.append("      traits: group_properties")
            order = rng.choice(["ascending", "descending"])
            lines.append(f"      sort: {{by: groupType, order: {order}, compare: numeric}}")
            lines.append(f"      take: {rng.randint(1, 3)}")
            lines.append("      type_trait: group_type")
        else:
            lines.append(f"  d{index}: {{path: {field()}, as: timestamp, default: '{{{{ d0 }}}}'}}")
    lines.append("rules:")
    calls = ["identify", "group", "track", "page", "screen"]
    required = {
        "identify": ("userId", "timestamp"),
        "group": ("groupId", "timestamp"),
        "track": ("event", "userId", "timestamp"),
        "page": ("timestamp",),
        "screen": ("timestamp",),
    }
    extra_keys = ["traits", "properties", "name", "context", "anonymousId", "ünï", "k1", "k2"]
    for index in range(rules):
        call = rng.choice(calls)
        lines.append(f"  - name: rule{index}")
        when = rng.choice([
            f"kind == 'k{index % 4}'",
            f"contains(['a', 'b', 'c{index}'], kind) && {field()}",
            f"!starts_with(kind, '$') || {field()}.email != `null`",
            f"length({field()}) > `1`",
            "a[*].b",
        ])
        lines.append(f'    when: "{when}"')
        lines.append("    emit:")
        lines.append(f"      type: {call}")
        for key in required[call]:
            define = f"d{rng.randrange(defines)}"
            lines.append(f'      {key}: "{{{{ {define} }}}}"')
        for key in rng.sample(extra_keys, rng.randint(1, 4)):
            lines.append(f"      {quoted(key)}:")
            for sub in rng.sample(keys, rng.randint(1, 4)):
                define = f"d{rng.randrange(defines)}"
                lines.append(f'        {quoted(sub)}: "{{{{ {define} }}}}"')
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def big_mapping_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("determinism") / "big.yaml"
    path.write_text(big_mapping(), encoding="utf-8")
    check(path)  # it must be a valid mapping for the test to mean anything
    return path


def _compile_in_subprocess(paths: list[Path], hash_seed: str) -> bytes:
    env = dict(os.environ, PYTHONHASHSEED=hash_seed)
    result = subprocess.run(
        [sys.executable, "-m", "accoil_map", "compile", *map(str, paths), "-o", "-"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr.decode(errors="replace")
    return result.stdout


def test_compile_is_identical_across_hash_seeds(big_mapping_file):
    paths = [*SHIPPED, big_mapping_file]
    outputs = {seed: _compile_in_subprocess(paths, seed) for seed in HASH_SEEDS}
    first = outputs[HASH_SEEDS[0]]
    assert first, "compile wrote nothing"
    for seed, output in outputs.items():
        assert output == first, f"PYTHONHASHSEED={seed} gives different source"
    in_process = "".join(generate(check(path).mapping) for path in paths).encode("utf-8")
    assert first == in_process, "the command line and the library produce different source"


@pytest.mark.parametrize("path", SHIPPED, ids=[p.stem for p in SHIPPED])
def test_compile_twice_in_process(path):
    assert generate(check(path).mapping) == generate(check(path).mapping)


def test_big_mapping_compiles_twice_in_process(big_mapping_file):
    first = generate(check(big_mapping_file).mapping)
    generate(check(SHIPPED[0]).mapping)  # something else in between
    assert generate(check(big_mapping_file).mapping) == first


@settings(max_examples=40, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(case=S.mappings())
def test_generated_mappings_compile_twice_in_process(tmp_path, case):
    text, _ = case
    path = tmp_path / "generated.yaml"
    path.write_text(text, encoding="utf-8")
    first = generate(check(path).mapping)
    path.write_text(text, encoding="utf-8")
    assert generate(check(path).mapping) == first


@pytest.mark.parametrize("path", [*SHIPPED, None], ids=[*(p.stem for p in SHIPPED), "big"])
def test_header_names_file_version_and_sha256(path, big_mapping_file):
    path = path or big_mapping_file
    source = generate(check(path).mapping)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    header = source.splitlines()[:6]
    assert header[0].startswith(f"# Generated by accoil-map {__version__}. Do not edit"), header
    assert f"# mapping file: {path.name!a}" in header, header
    assert f"# sha256 of the mapping file: {digest}" in header, header
    assert f"MAPPING_SHA256 = \"{digest}\"" in source
    assert f"COMPILER_VERSION = \"{__version__}\"" in source
    assert f"MAPPING_FILE = \"{path.name}\"" in source


def test_sha256_changes_with_the_bytes(tmp_path):
    """One changed byte (even a comment) changes the recorded sha256, and only that line."""
    original = SHIPPED[0].read_bytes()
    copy_path = tmp_path / SHIPPED[0].name
    copy_path.write_bytes(original)
    before = generate(check(copy_path).mapping)
    copy_path.write_bytes(original + b"# trailing comment\n")
    after = generate(check(copy_path).mapping)
    changed = [
        (a, b) for a, b in zip(before.splitlines(), after.splitlines(), strict=True) if a != b
    ]
    digest = hashlib.sha256(copy_path.read_bytes()).hexdigest()
    assert changed and all(digest in b for _, b in changed), changed
