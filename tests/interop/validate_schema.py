"""Validates a JSON document against a JSON Schema (draft 2020-12) with the jsonschema package.
Usage: validate_schema.py SCHEMA DOCUMENT; exit 1 listing every error."""
import json
import sys

from jsonschema import Draft202012Validator

schema = json.load(open(sys.argv[1]))
Draft202012Validator.check_schema(schema)
errors = list(Draft202012Validator(schema).iter_errors(json.load(open(sys.argv[2]))))
for e in errors:
    print(f"{'/'.join(map(str, e.absolute_path))}: {e.message}")
sys.exit(1 if errors else 0)
