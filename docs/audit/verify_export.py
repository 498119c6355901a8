#!/usr/bin/env python3
"""Checks an IMI event export (NDJSON) without the IMI code: python3 verify_export.py FILE."""
import hashlib, json, sys

chains, events, last, whole, n = {}, 0, 0, True, 0
for n, text in enumerate(open(sys.argv[1], encoding="utf-8"), 1):
    line = json.loads(text)
    fail = lambda why: sys.exit(f"line {n}: {why}")
    if n == 1:
        if line.get("kind") != "header" or line["format"] != "imi-event-export/1": fail("no header")
        whole = (line["since"] or 0) <= 0
    elif line["kind"] == "event":
        key = line["aggregate_type"] + "/" + line["aggregate_id"]
        if line["position"] <= last: fail("lines were reordered")
        last, seq, prev = line["position"], line["sequence"], line["prev_hash"]
        if key in chains and (seq, prev) != (chains[key][0] + 1, chains[key][1]): fail(f"{key} broken at {seq}")
        if key not in chains and (whole or seq == 1) and (seq, prev) != (1, None): fail(f"{key} starts at {seq}")
        parts = [line[k] if isinstance(line[k], str) else str(line[k]) for k in
                 ("aggregate_type", "aggregate_id", "sequence", "event_type", "event_version", "payload", "metadata")]
        digest = hashlib.sha256(bytes.fromhex(prev or "") + "\x1f".join(parts).encode()).hexdigest()
        if digest != line["hash"]: fail(f"{key} sequence {seq}: hash does not match")
        chains[key], events = (seq, digest), events + 1
    elif line["kind"] == "trailer":
        heads = {k: (h["sequence"], h["hash"]) for k, h in line["heads"].items()}
        if line["events"] != events or heads != chains: fail("trailer does not match the events")
        sys.exit(print(f"ok: {events} events in {len(chains)} chains"))
sys.exit(f"line {n + 1}: the trailer is missing")
