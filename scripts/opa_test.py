#!/usr/bin/env python3
"""Runs the Rego unit tests (rules named test_*) in policies/ with the real OPA engine.

Usage: opa_test.py --lib DIR [POLICY_DIR]     exits 1 when any test fails
"""

import argparse
import pathlib
import re
import sys


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--lib", required=True, help="directory holding the opa_bindings package")
    parser.add_argument("policies", nargs="?", default="policies")
    args = parser.parse_args()
    sys.path.insert(0, args.lib)
    from opa_bindings import OpaEngine, OpaError, OpaUndefinedError

    root = pathlib.Path(args.policies)
    files = sorted(root.rglob("*.rego"))
    tests = []
    engine = OpaEngine()
    for path in files:
        source = path.read_text()
        engine.add_policy(str(path.relative_to(root)), source)
        package = re.search(r"^package\s+([\w.]+)", source, re.M).group(1)
        for name in re.findall(r"^(test_\w+)\b", source, re.M):
            tests.append((package, name, path))
    failed = 0
    for package, name, path in tests:
        try:
            ok = engine.eval_document(f"{package}.{name}") is True
            detail = ""
        except OpaUndefinedError:
            ok, detail = False, " (undefined: a condition did not hold)"
        except OpaError as error:
            ok, detail = False, f" ({error})"
        print(f"{'PASS' if ok else 'FAIL'} {package}.{name}{detail}")
        failed += 0 if ok else 1
    print(f"{len(tests) - failed}/{len(tests)} Rego tests passed in {len(files)} files")
    if not tests:
        print("no Rego tests found", file=sys.stderr)
        return 1
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
