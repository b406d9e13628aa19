"""Verifies a piitrail DSSE envelope with securesystemslib, an independent implementation.

Usage: verify_dsse.py ENVELOPE PUBLIC_KEY_PEM EXPECTED_KEYID
Exit 0 when the signature verifies with the key whose keyid securesystemslib computes itself
(and it equals EXPECTED_KEYID); exit 1 with the reason otherwise.
"""
import json
import sys

from cryptography.hazmat.primitives.serialization import load_pem_public_key
from securesystemslib.dsse import Envelope
from securesystemslib.signer import SSlibKey


def main() -> int:
    envelope_path, pem_path, expected_keyid = sys.argv[1:4]
    with open(pem_path, "rb") as f:
        key = SSlibKey.from_crypto(load_pem_public_key(f.read()), scheme="ed25519")
    if key.keyid != expected_keyid:
        print(f"keyid differs: securesystemslib computes {key.keyid}, piitrail said {expected_keyid}")
        return 1
    with open(envelope_path, "rb") as f:
        envelope = Envelope.from_dict(json.load(f))
    try:
        accepted = envelope.verify([key], 1)
    except Exception as e:  # VerificationError and decoding errors alike
        print(f"verification failed: {type(e).__name__}: {e}")
        return 1
    statement = json.loads(envelope.payload)
    print(f"verified by {sorted(accepted)}; {len(statement['subject'])} subjects; {statement['predicateType']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
