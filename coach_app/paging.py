"""Which page numbers a pager shows."""


def page_window(page: int, pages: int, radius: int = 2) -> list[int | None]:
    """The first and last page, the pages within `radius` of `page`, None for each gap.

    Computed here rather than by looping over every page in the template: an organisation
    with thousands of pages would otherwise pay for each of them on every load.
    """
    shown = sorted({1, pages, *range(max(1, page - radius), min(pages, page + radius) + 1)})
    window: list[int | None] = []
    for number in shown:
        if window and number - window[-1] > 1:
            window.append(None)
        window.append(number)
    return window
