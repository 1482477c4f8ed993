"""Interface strings in French (default) and English.

Only the interface is translated: the assistant answers in the language of the
question, whatever the interface language.

>>> t("en", "send")
'Ask'
>>> t("fr", "upload_too_big", name="a.pdf", size=31.5, limit=20)
'a.pdf : fichier trop volumineux (31.5 Mo ; 20 Mo au plus)'
"""

from __future__ import annotations

from typing import Literal

__all__ = ["LANGUAGES", "Lang", "t", "lang_of"]

Lang = Literal["fr", "en"]
LANGUAGES: dict[str, str] = {"Français": "fr", "English": "en"}

_STRINGS: dict[str, dict[str, str]] = {
    "fr": {
        "title": "Territoires d'industrie : l'assistant",
        "intro": (
            "Posez une question sur le programme Territoires d'industrie. "
            "Chaque réponse cite ses sources, à droite (ou en dessous sur un téléphone)."
        ),
        "language": "Langue de l'interface",
        "tab_chat": "Questions",
        "tab_docs": "Documents",
        "chat_label": "Conversation",
        "placeholder": "**Bonjour !** Posez votre question ci-dessous, ou choisissez un exemple.",
        "question": "Votre question",
        "question_ph": "Par exemple : quelles aides pour une usine à Issoudun ?",
        "send": "Demander",
        "new_chat": "Nouvelle conversation",
        "filters": "Affiner la recherche (facultatif)",
        "regions": "Régions",
        "date_from": "Documents datés à partir de (AAAA ou AAAA-MM-JJ)",
        "date_to": "Documents datés jusqu'à (AAAA ou AAAA-MM-JJ)",
        "only_docs": "Seulement ces documents",
        "bad_date": "Date ignorée, format attendu AAAA, AAAA-MM ou AAAA-MM-JJ : {value}",
        "sources": "Sources",
        "sources_empty": "Les sources de chaque réponse apparaîtront ici.",
        "answer_n": "Réponse {n}",
        "page": "page {page}",
        "no_date": "sans date",
        "open_doc": "Ouvrir le document à cet endroit",
        "no_sources": "Aucune source : l'assistant n'a rien trouvé d'assez sûr dans les documents.",
        "copy": "Copier la dernière réponse avec ses sources",
        "copy_label": "Réponse et sources (texte à copier)",
        "feedback": "Cette réponse vous a-t-elle été utile ?",
        "useful": "Utile",
        "not_useful": "Pas utile",
        "comment": "Commentaire (facultatif)",
        "comment_ph": "Ce qui manquait, ce qui était faux…",
        "thanks": "Merci, votre avis est enregistré.",
        "nothing_to_rate": "Posez d'abord une question.",
        "empty_question": "Écrivez une question.",
        "error": "Désolé, une erreur est survenue : {error}",
        "docs_intro": "Les documents dans lesquels l'assistant cherche ses réponses.",
        "docs_table": "Documents enregistrés",
        "col_title": "Titre",
        "col_date": "Date",
        "col_type": "Type",
        "col_chunks": "Passages",
        "col_file": "Fichier",
        "upload": "Ajouter des documents (txt, md, html, pdf ; {limit} Mo au plus chacun)",
        "upload_btn": "Ajouter ces documents",
        "no_files": "Choisissez d'abord un ou plusieurs fichiers.",
        "upload_too_big": "{name} : fichier trop volumineux ({size} Mo ; {limit} Mo au plus)",
        "upload_bad_type": "{name} : type de fichier non pris en charge (txt, md, html ou pdf)",
        "upload_not_a_file": "{name} : pas un fichier ordinaire (dossier, tube ou lien)",
        "status_added": "ajouté",
        "status_unchanged": "inchangé",
        "status_replaced": "remplacé",
        "status_failed": "échec",
        "remove_choice": "Document à retirer",
        "remove_btn": "Retirer ce document…",
        "remove_confirm": "Retirer définitivement « {title} » ? Ses passages ne seront plus utilisés.",
        "remove_yes": "Oui, retirer",
        "remove_no": "Annuler",
        "removed": "Retiré : {title}",
        "choose_doc": "Choisissez d'abord un document.",
        "bundled_btn": "Charger les documents fournis avec tia",
        "no_documents": "Aucun document pour l'instant : ajoutez-en ou chargez les documents fournis.",
    },
    "en": {
        "title": "Territoires d'industrie: the assistant",
        "intro": (
            "Ask a question about the Territoires d'industrie programme. "
            "Every answer cites its sources, on the right (or below on a phone)."
        ),
        "language": "Interface language",
        "tab_chat": "Questions",
        "tab_docs": "Documents",
        "chat_label": "Conversation",
        "placeholder": "**Hello!** Ask your question below, or pick an example.",
        "question": "Your question",
        "question_ph": "For example: what support for a factory in Issoudun?",
        "send": "Ask",
        "new_chat": "New conversation",
        "filters": "Narrow the search (optional)",
        "regions": "Regions",
        "date_from": "Documents dated from (YYYY or YYYY-MM-DD)",
        "date_to": "Documents dated until (YYYY or YYYY-MM-DD)",
        "only_docs": "Only these documents",
        "bad_date": "Date ignored, expected YYYY, YYYY-MM or YYYY-MM-DD: {value}",
        "sources": "Sources",
        "sources_empty": "The sources of each answer will appear here.",
        "answer_n": "Answer {n}",
        "page": "page {page}",
        "no_date": "undated",
        "open_doc": "Open the document at this place",
        "no_sources": "No sources: the assistant found nothing reliable enough in the documents.",
        "copy": "Copy the last answer with its sources",
        "copy_label": "Answer and sources (text to copy)",
        "feedback": "Was this answer useful?",
        "useful": "Useful",
        "not_useful": "Not useful",
        "comment": "Comment (optional)",
        "comment_ph": "What was missing, what was wrong…",
        "thanks": "Thank you, your feedback is saved.",
        "nothing_to_rate": "Ask a question first.",
        "empty_question": "Write a question.",
        "error": "Sorry, something went wrong: {error}",
        "docs_intro": "The documents the assistant searches for its answers.",
        "docs_table": "Stored documents",
        "col_title": "Title",
        "col_date": "Date",
        "col_type": "Type",
        "col_chunks": "Passages",
        "col_file": "File",
        "upload": "Add documents (txt, md, html, pdf; at most {limit} MB each)",
        "upload_btn": "Add these documents",
        "no_files": "Choose one or more files first.",
        "upload_too_big": "{name}: file too large ({size} MB; at most {limit} MB)",
        "upload_bad_type": "{name}: unsupported file type (txt, md, html or pdf)",
        "upload_not_a_file": "{name}: not a regular file (a folder, a pipe or a link)",
        "status_added": "added",
        "status_unchanged": "unchanged",
        "status_replaced": "replaced",
        "status_failed": "failed",
        "remove_choice": "Document to remove",
        "remove_btn": "Remove this document…",
        "remove_confirm": "Remove “{title}” for good? Its passages will no longer be used.",
        "remove_yes": "Yes, remove",
        "remove_no": "Cancel",
        "removed": "Removed: {title}",
        "choose_doc": "Choose a document first.",
        "bundled_btn": "Load the documents bundled with tia",
        "no_documents": "No documents yet: add some or load the bundled ones.",
    },
}


def lang_of(value: str | None) -> Lang:
    """'fr' or 'en' from a language code or a switch label; French by default."""
    if value in ("en", "English"):
        return "en"
    return "fr"


def t(lang: str, key: str, **values: object) -> str:
    """The interface string `key` in `lang` (French when unknown), formatted with `values`."""
    text = _STRINGS[lang_of(lang)][key]
    return text.format(**values) if values else text
