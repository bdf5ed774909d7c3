"""Counting RECORD messages on their way from tap to target, whatever the chunking."""

from __future__ import annotations

import json
import random

from lockstitch.runner.pipeline import RecordCounter


def _messages() -> bytes:
    lines = [json.dumps({"type": "SCHEMA", "stream": "a", "schema": {}, "key_properties": []})]
    lines += [json.dumps({"type": "RECORD", "stream": "a", "record": {"id": i}}) for i in range(500)]
    # singer-sdk's compact form, another stream, a record holding the word RECORD, a state line
    lines += [
        json.dumps({"type": "RECORD", "stream": "b-c", "record": {"RECORD": "RECORD"}}, separators=(",", ":"))
    ] * 7
    lines += [json.dumps({"type": "STATE", "value": {"bookmarks": {"a": {"x": "RECORD"}}}})]
    # a writer with another key order
    lines += [json.dumps({"stream": "d", "type": "RECORD", "record": {"id": 1}})] * 3
    lines += [json.dumps({"type": "RECORD", "stream": 'q"uote', "record": {}})] * 2
    return ("\n".join(lines) + "\n").encode()


def test_counts_per_stream_across_any_chunking() -> None:
    data = _messages()
    expected = {"a": 500, "b-c": 7, "d": 3, 'q"uote': 2}
    for seed in range(20):
        rng = random.Random(seed)
        counter = RecordCounter()
        position = 0
        while position < len(data):
            size = rng.choice([1, 7, 64, 1000, 65536])
            counter.feed(data[position : position + size])
            position += size
        assert dict(counter.counts) == expected, seed


def test_a_line_is_counted_once_its_newline_arrives() -> None:
    counter = RecordCounter()
    counter.feed(b'{"type":"RECORD","stream":"a","record":{}}')
    assert dict(counter.counts) == {}
    counter.feed(b"\n")
    assert dict(counter.counts) == {"a": 1}
