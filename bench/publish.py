#!/usr/bin/env python3
"""Copies the measured tables of bench/RESULTS.md (its ratios and targets)
into docs/performance.md, between the markers, so the two cannot disagree
(tests/cli/docs.rs checks it). bench/run.sh runs it after each run."""
import pathlib
import re
import sys

root = pathlib.Path(__file__).resolve().parent.parent
results = (root / "bench" / "RESULTS.md").read_text()
begin = "<!-- measured: copied from bench/RESULTS.md by bench/publish.py -->"
end = "<!-- end of what bench/RESULTS.md measured -->"

# The header line (date, machine), then the Ratios and Targets sections.
head = next(l for l in results.splitlines() if l.startswith("Run on "))
sections = re.findall(r"^## (Ratios|Targets[^\n]*)\n(.*?)(?=^## |^<!-- notes)", results, re.S | re.M)
parts = [head, ""]
for title, body in sections:
    parts += [f"### {title}", "", body.strip(), ""]
block = "\n".join([begin, *parts, end])

doc_path = root / "docs" / "performance.md"
doc = doc_path.read_text()
if begin in doc and end in doc:
    doc = doc[: doc.index(begin)] + block + doc[doc.index(end) + len(end):]
else:
    sys.exit(f"{doc_path}: the markers are missing")
doc_path.write_text(doc)
