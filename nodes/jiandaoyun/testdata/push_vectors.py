#!/usr/bin/env python3
"""Writes push_vectors.json: Jiandaoyun data push deliveries signed the way Jiandaoyun's data push guide
(https://hc.jiandaoyun.com/open/11507) computes X-JDY-Signature, independently of the Go code under test:

    content = ':'.join([nonce, payload, secret, timestamp]).encode('utf-8')
    hashlib.sha1(content).hexdigest()

Run: python3 push_vectors.py > push_vectors.json
"""
import hashlib
import json

SECRET = "test-secret"
OTHER = "another-secret"


def sign(nonce, payload, secret, timestamp):
    return hashlib.sha1(":".join([nonce, payload, secret, timestamp]).encode("utf-8")).hexdigest()


body = json.dumps({
    "op": "data_update",
    "opTime": 1796688000123,
    "data": {
        "_id": "5f7a1c2b3d4e5f6a7b8c9d0e",
        "appId": "59264073a2a60c0c08e20bfb",
        "entryId": "59264073a2a60c0c08e20bfd",
        "_widget_1432728651402": "简道云",
        "amount": 100,
        "updateTime": "2026-12-07T22:00:00.000Z",
    },
}, ensure_ascii=False, separators=(",", ":"))
ts, nonce = "1796688000", "0f5ade"

vectors = [
    {"name": "valid", "body": body, "nonce": nonce, "timestamp": ts, "signature": sign(nonce, body, SECRET, ts), "want": "ok"},
    {"name": "tampered body", "body": body.replace("100", "999"), "nonce": nonce, "timestamp": ts,
     "signature": sign(nonce, body, SECRET, ts), "want": "jiandaoyun_signature_invalid"},
    {"name": "tampered nonce", "body": body, "nonce": "0f5adf", "timestamp": ts,
     "signature": sign(nonce, body, SECRET, ts), "want": "jiandaoyun_signature_invalid"},
    {"name": "wrong secret", "body": body, "nonce": nonce, "timestamp": ts, "signature": sign(nonce, body, OTHER, ts),
     "want": "jiandaoyun_signature_invalid"},
    {"name": "stale", "body": body, "nonce": nonce, "timestamp": "1796687000",
     "signature": sign(nonce, body, SECRET, "1796687000"), "want": "jiandaoyun_timestamp_stale"},
]
print(json.dumps({"secret": SECRET, "now": int(ts), "vectors": vectors}, ensure_ascii=False, indent=2))
