"""docs/playbook.md and the code cannot drift: same rules table, runnable examples."""

import doctest
from pathlib import Path

from coach_app.playbook import rules_markdown_table

DOCS = Path(__file__).parents[2] / "docs" / "playbook.md"


def test_docs_contain_the_generated_rules_table():
    text = DOCS.read_text(encoding="utf-8")
    assert rules_markdown_table() in text
    assert text.count("| id | the client does |") == 1


def test_table_has_one_row_per_rule_and_no_stray_pipes():
    rows = rules_markdown_table().splitlines()
    assert len(rows) == 2 + 11
    assert all(row.count("|") == 6 for row in rows)


def test_docs_examples_run():
    result = doctest.testfile(
        str(DOCS),
        module_relative=False,
        optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE,
        verbose=False,
    )
    assert result.attempted > 0
    assert result.failed == 0
