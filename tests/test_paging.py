"""The pager's page numbers."""

import pytest

from coach_app.paging import page_window


@pytest.mark.parametrize(
    ("page", "pages", "expected"),
    [
        (1, 1, [1]),
        (1, 2, [1, 2]),
        (1, 10, [1, 2, 3, None, 10]),
        (4, 10, [1, 2, 3, 4, 5, 6, None, 10]),
        (5, 10, [1, None, 3, 4, 5, 6, 7, None, 10]),
        (10, 10, [1, None, 8, 9, 10]),
        (4, 7, [1, 2, 3, 4, 5, 6, 7]),
    ],
)
def test_page_window_shows_ends_neighbours_and_gaps(page, pages, expected):
    assert page_window(page, pages) == expected


def test_page_window_does_not_grow_with_the_number_of_pages():
    assert len(page_window(1000, 2000)) == 9
