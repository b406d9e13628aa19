"""Trains the churn model on the feature table and the support tickets (a stand-in: `piitrail demo`
writes the same kind of model file itself). The last line records the training step in piitrail's
ledger, so the model inherits every category of personal data it was trained on."""
import json
import subprocess

with open("models/churn.json", "w") as f:
    json.dump({"model": "churn-baseline", "threshold": 0.5}, f)

subprocess.run(["piitrail", "record", "--kind", "training", "--input", "out/features.parquet", "data/tickets.csv", "--output", "models/churn.json", "--code", __file__], check=True)
