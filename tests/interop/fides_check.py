"""Validates piitrail's fideslang dataset manifests with the real `fideslang` package: each
file loads as YAML, each dataset validates as a fideslang Dataset, and every data category of
every field is a category of fideslang's default taxonomy. Exit 1 with the reason otherwise."""
import glob
import sys

import yaml
from fideslang.default_taxonomy import DEFAULT_TAXONOMY
from fideslang.models import Dataset

known = {c.fides_key for c in DEFAULT_TAXONOMY.data_category}
files = sorted(glob.glob(sys.argv[1] + "/*.yml"))
if not files:
    sys.exit("no manifests")
fields = 0
for f in files:
    with open(f, encoding="utf-8") as fh:
        doc = yaml.safe_load(fh)
    for d in doc["dataset"]:
        ds = Dataset.model_validate(d)
        for coll in ds.collections:
            for field in coll.fields:
                fields += 1
                for cat in field.data_categories or []:
                    if cat not in known:
                        sys.exit(f"{f}: {field.name}: {cat} is not a fideslang data category")
print(f"ok {len(files)} manifests {fields} fields")
