"""Stitch's own documents, vendored under tests/fixtures/stitch/, as Python objects."""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).parent / "fixtures" / "stitch"


@cache
def reference_cards() -> dict[str, dict[str, Any]]:
    """Stitch's real `GET /v4/source-types` response, by type."""
    cards = json.loads((FIXTURES / "source-types.json").read_text())
    return {card["type"]: card for card in cards}


@cache
def doc_examples() -> dict[str, Any]:
    return dict(json.loads((FIXTURES / "doc-examples.json").read_text()))


def doc_example(key: str, label: str | None = None) -> Any:
    """An example's JSON body. A few examples show the whole HTTP answer (status line and
    headers, then a blank line): the body is what follows."""
    for example in doc_examples()[key]["examples"]:
        if label is None or example["label"] == label:
            body = example["body"].strip().strip("'")
            if body.startswith("HTTP/"):
                body = body.split("\n\n", 1)[1]
            return json.loads(body)
    raise KeyError((key, label))


@cache
def guide_blocks() -> list[Any]:
    """The JSON code blocks of the configure-OAuth guide, in order:
    [GA report card, GA oauth step, PUT request body, PUT response (Source object)]."""
    text = (FIXTURES / "configure-oauth-guide.txt").read_text()
    blocks = re.findall(r"\{% capture code %\}(.*?)\{% endcapture %\}", text, re.S)
    return [json.loads(block.strip().strip("'")) for block in blocks]
