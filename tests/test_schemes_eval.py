"""The scheme-catalogue measure of evals/schemes_eval.py, on hand-made rows."""

from __future__ import annotations

from evals.schemes_eval import score

LABELLED = [
    {"source": "aaaa", "name": "Pass Diagnostic Carbone", "aliases": ["Pass Carbone"], "amounts": ["20 000 €", "80 %"],
     "eligibility": ["PME industrielles"]},
    {"source": "aaaa", "name": "Contrat Décarbonation", "aliases": [], "amounts": ["2 M€"], "eligibility": ["ETI"]},
    {"source": "bbbb", "name": "Fonds friches", "aliases": [], "amounts": [], "eligibility": ["communes"]},
]


def test_names_amounts_and_eligibility_are_scored_per_document() -> None:
    catalogue = [
        {"source": "x/u1_aaaa.txt", "name": "Le Pass Diagnostic Carbone", "amount": "20 000 €", "beneficiaries": "PME industrielles de moins de 250 salariés"},
        {"source": "x/u1_aaaa.txt", "name": "Castres — ancien entrepôt", "amount": None, "beneficiaries": None},
        {"source": "x/u2_cccc.txt", "name": "Fonds friches", "amount": None, "beneficiaries": None},  # another document
    ]
    result = score(catalogue, LABELLED)
    assert result["name_precision"] == round(1 / 3, 3) and result["name_recall"] == round(1 / 3, 3)
    assert result["amount_recall"] == round(1 / 3, 3)  # "20 000 €" of the three labelled amounts
    assert result["amount_precision"] == 1.0
    assert result["eligibility_recall"] == round(1 / 3, 3) and result["eligibility_precision"] == 1.0


def test_an_empty_catalogue_has_no_precision_and_no_recall() -> None:
    result = score([], LABELLED)
    assert result["name_precision"] is None and result["name_recall"] == 0.0
