"""How well the scheme catalogue reads documents it has never seen: its schemes against the
hand-labelled list of `evals/unseen/schemes.jsonl`.

A catalogue scheme matches a labelled one of the same document when their names (or an alias)
contain one another once folded; a scheme the catalogue keeps once for several documents
(`also`) counts for each of them. Precision and recall are reported for the names, and for the
amounts and eligibility of the matched schemes (a labelled amount or eligibility span is
found when the catalogue's field contains it, or it contains the field, folded).

    python -m evals.schemes_eval [--corpus evals/unseen/corpus] [--labels evals/unseen/schemes.jsonl]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

from evals.metrics import fold

HERE = Path(__file__).parent / "unseen"


def _folded(text: str | None) -> str:
    return fold(text or "")  # evals.metrics.fold also collapses whitespace


def _same_name(scheme_name: str, labels: list[str]) -> bool:
    name = _folded(scheme_name)
    return any(n and (n in name or name in n) for n in map(_folded, labels)) if name else False


def _found(span: str, field: str | None) -> bool:
    a, b = _folded(span), _folded(field)
    return bool(a and b) and (a in b or b in a)


def score(catalogue: list[dict[str, Any]], labelled: list[dict[str, Any]]) -> dict[str, Any]:
    """Precision and recall of names, amounts and eligibility; `catalogue` rows have source (the document's
    path, which holds the labels' source id), name, amount and beneficiaries."""
    matched: dict[int, dict[str, Any]] = {}
    correct = 0
    for s in catalogue:
        hit = next(
            (i for i, lab in enumerate(labelled)
             if lab["source"] in s["source"] and _same_name(s["name"], [lab["name"], *lab["aliases"]])),
            None,
        )
        if hit is not None:
            correct += 1
            matched.setdefault(hit, s)
    amounts = [(a, matched.get(i)) for i, lab in enumerate(labelled) for a in lab["amounts"]]
    eligibility = [(e, matched.get(i)) for i, lab in enumerate(labelled) for e in lab["eligibility"]]
    with_amount = [s for s in matched.values() if s.get("amount")]
    with_elig = [s for s in matched.values() if s.get("beneficiaries")]

    def labelled_of(s: dict[str, Any]) -> dict[str, Any]:
        return labelled[next(i for i, m in matched.items() if m is s)]

    def rate(n: int, d: int) -> float | None:
        return round(n / d, 3) if d else None

    return {
        "catalogue_schemes": len(catalogue),
        "labelled_schemes": len(labelled),
        "name_precision": rate(correct, len(catalogue)),
        "name_recall": rate(len(matched), len(labelled)),
        "amount_recall": rate(sum(1 for a, s in amounts if s and _found(a, s.get("amount"))), len(amounts)),
        "amount_precision": rate(
            sum(1 for s in with_amount if any(_found(a, s["amount"]) for a in labelled_of(s)["amounts"])), len(with_amount)
        ),
        "eligibility_recall": rate(
            sum(1 for e, s in eligibility if s and _found(e, s.get("beneficiaries"))), len(eligibility)
        ),
        "eligibility_precision": rate(
            sum(1 for s in with_elig if any(_found(e, s["beneficiaries"]) for e in labelled_of(s)["eligibility"])),
            len(with_elig),
        ),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m evals.schemes_eval", description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, default=HERE / "corpus")
    parser.add_argument("--labels", type=Path, default=HERE / "schemes.jsonl")
    args = parser.parse_args(argv)
    from assistant.service import Assistant
    from ingest.schemes import scheme_catalogue
    from knowledge.settings import load_settings

    labelled = [json.loads(line) for line in args.labels.read_text(encoding="utf-8").splitlines() if line.strip()]
    with tempfile.TemporaryDirectory() as tmp:
        service = Assistant(load_settings(data_dir=Path(tmp) / "data"))
        service.ingest([args.corpus])
        schemes = scheme_catalogue(service.kb).all()
    # A scheme reported by several documents is kept once, with the others in `also`: it counts for each.
    rows = [
        {"source": source, "name": s.name, "amount": s.amount, "beneficiaries": s.beneficiaries}
        for s in schemes
        for source in (s.source, *(a["source"] for a in s.also))
    ]
    print(json.dumps(score(rows, labelled), indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
