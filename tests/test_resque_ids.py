"""The stable-id rule of jobctl.backends.resque.ids (pure: no server needed)."""

from __future__ import annotations

from jobctl.backends.resque.ids import IdAssigner, entry_hash, format_id, looks_like_id, split_id


def _ids(entries: list[bytes], horizon: int, only: set[int] | None = None) -> dict[int, str]:
    a = IdAssigner("resque:failed", horizon=horizon)
    out = {}
    for i in range(len(entries) - 1, -1, -1):  # newest first
        if only is None or i in only:
            out[i] = format_id(*a.occurrence(entries[i], i))
    return out


def test_copies_are_numbered_from_the_tail_within_the_horizon() -> None:
    x, y = b'{"a":1}', b'{"b":2}'
    entries = [x, y, x, y, y, x]
    h = entry_hash("resque:failed", x)
    ids = _ids(entries, horizon=100)
    assert [ids[5], ids[2], ids[0]] == [h, f"{h}-2", f"{h}-3"]
    # copies further apart than the horizon are numbered as if unique (they share an id)
    far = _ids([x] + [y] * 5 + [x], horizon=3)
    assert far[0] == far[6] == h


def test_feeding_only_selected_entries_gives_the_same_ids() -> None:
    x, y, z = b"x", b"y", b"z"
    entries = [x, z, y, x, z, x, y]
    full = _ids(entries, horizon=4)
    selected = {i for i, e in enumerate(entries) if e == x}  # a filter selects identical copies alike
    assert _ids(entries, horizon=4, only=selected) == {i: full[i] for i in selected}


def test_call_form_and_helpers() -> None:
    a = IdAssigner(b"k")
    first, second = a(b"same"), a(b"same")
    assert second == f"{first}-2" and looks_like_id(first) and looks_like_id(second)
    assert split_id(second) == (first, 2) and split_id(first) == (first, 1)
    assert not looks_like_id("low@3") and not looks_like_id("xyz")
