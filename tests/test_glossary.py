"""One glossary: docs/glossary.md says exactly what surveyor.i18n.glossary holds, in both languages."""

from __future__ import annotations

from pathlib import Path

import pytest

from surveyor.i18n import glossary

DOC = Path(__file__).resolve().parent.parent / "docs" / "glossary.md"


@pytest.mark.parametrize("term", glossary.TERMS, ids=lambda t: t.key)
def test_every_term_is_documented_with_the_same_words(term):
    rows = [line for line in DOC.read_text(encoding="utf-8").splitlines() if line.startswith(f"| `{term.key}` |")]
    assert len(rows) == 1, term.key
    cells = [c.strip() for c in rows[0].strip("|").split("|")]
    assert cells[1:] == [f"**{term.id}**", f"**{term.en}**", term.meaning_id, term.meaning_en]


def test_classes_and_reasons_are_in_the_glossary():
    assert set(glossary.CLASS_KEYS) | set(glossary.REASON_KEYS) <= set(glossary.BY_KEY)
    assert glossary.label("dead", "id") != glossary.label("no_service", "id")  # "no signal" only for no service
    with pytest.raises(ValueError):
        glossary.label("dead", "fr")
