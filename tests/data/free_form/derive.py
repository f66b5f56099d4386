"""Writes rationales.jsonl from the hand-written rows (written_*.py) and three kinds of variants made from them:

* ``long/…``: a number rationale after a long restatement of a problem (numbers and all), as chat models open
  their answers; the reading is unchanged;
* ``noise``: a number rationale's words shuffled (seeded), as a sampled student writes at high temperature; a
  careful reader reads nothing from it;
* ``crlf/…``: a choice or label rationale with Windows line ends and a trailing space; the reading is unchanged.

    python tests/data/free_form/derive.py      # rewrites tests/data/free_form/rationales.jsonl
"""
import json
import random
from pathlib import Path

HERE = Path(__file__).parent
PREAMBLE = ("Let's read the problem carefully. The store had 120 items on Monday, sold 35 of them, and then got a "
            "delivery of 48 more on Tuesday; 7 of the items were returned. We have to keep track of every number "
            "that matters and ignore the ones that do not.\n\n")


def load(name):
    scope = {}
    exec((HERE / name).read_text(), scope)
    return scope["ROWS"]


def main():
    rows = []
    numbers = load("written_number.py")
    for style, text, gold, expected in numbers:
        rows.append({"type": "number", "style": style, "text": text, "gold": gold, "expected": expected})
    for style, text, options, gold, expected in load("written_choice.py"):
        rows.append({"type": "choice", "style": style, "text": text, "options": options, "gold": gold, "expected": expected})
    for style, text, gold, expected in load("written_label.py"):
        rows.append({"type": "label", "style": style, "text": text, "gold": gold, "expected": expected})
    stated = [r for r in rows if r["type"] == "number" and r["expected"] is not None and r["style"] != "explicit"]
    for row in stated[:70]:
        rows.append({**row, "style": "long/" + row["style"], "text": PREAMBLE + row["text"]})
    rng = random.Random(0)
    for row in [r for r in rows if r["type"] == "number" and len(r["text"].split()) >= 8][:40]:
        words = row["text"].split()
        rng.shuffle(words)
        rows.append({**row, "style": "noise", "text": " ".join(words).lower(), "expected": None})
    for row in [r for r in rows if r["type"] in ("choice", "label") and r["expected"] is not None][:40]:
        rows.append({**row, "style": "crlf/" + row["style"], "text": row["text"].replace("\n", "\r\n") + " \r\n"})
    with (HERE / "rationales.jsonl").open("w") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    print(len(rows), "rows")


if __name__ == "__main__":
    main()
