"""Markers are validated in code: invalid ones removed, valid ones renumbered, gaps flagged."""

from __future__ import annotations

from service.citations import check, split_sentences


def test_check_removes_marker_pointing_at_no_source() -> None:
    """[7] with three sources is dropped and reported."""
    out = check("The port is 7400 [7]. Use TLS [2].", 3)
    assert "[7]" not in out.text and out.removed_markers == [7]
    assert out.text == "The port is 7400. Use TLS [1]."


def test_check_renumbers_in_order_of_first_use() -> None:
    """The first cited source becomes [1], matching citations[0]."""
    out = check("Alpha works [3]. Beta too [1]. Gamma again [3].", 3)
    assert out.cited == [3, 1]
    assert out.text == "Alpha works [1]. Beta too [2]. Gamma again [1]."


def test_check_flags_uncited_sentences() -> None:
    """A claim without a marker is listed; short connectives are not."""
    out = check("The agent listens on port 7400 [1]. It also restarts itself every night at two. Done.", 1)
    assert out.uncited_sentences == ["It also restarts itself every night at two."]


def test_check_normalises_source_word_and_lists() -> None:
    """"[Source 2]" and "[1, 2]" forms are understood."""
    out = check("Set it [Source 2]. Both say so [1, 2].", 2)
    assert out.text == "Set it [1]. Both say so [1][2]."
    assert out.cited == [2, 1]


def test_check_no_valid_marker_cites_nothing() -> None:
    """An answer citing only missing sources ends with nothing cited."""
    out = check("Invented fact [9].", 2)
    assert out.cited == [] and out.removed_markers == [9]


def test_split_sentences_keeps_code_blocks_whole() -> None:
    """Code fences are one unit, not split at periods."""
    parts = split_sentences("Run this [1].\n```bash\npylon start. --now\n```\nThen check it [2].")
    assert "```bash\npylon start. --now\n```" in parts


SOURCES = ["To keep the password out of pylon.yaml, put it in a file and set proxy.password_file to its path. "
           "The file must be owned by root:pylon with mode 0640 or stricter; otherwise the agent refuses to read it.",
           "Free plan retention is 14 days from version 3.1."]


def test_attribute_marks_a_sentence_its_source_supports() -> None:
    from service.citations import attribute

    text = ("The file must be owned by root:pylon with mode 0640 or stricter, otherwise the agent refuses to read it. "
            "Retention on the Free plan is 14 days since 3.1.")
    assert attribute(text, SOURCES) == (
        "The file must be owned by root:pylon with mode 0640 or stricter, otherwise the agent refuses to read it [1]. "
        "Retention on the Free plan is 14 days since 3.1 [2].")


def test_attribute_leaves_unsupported_and_already_marked_sentences_alone() -> None:
    from service.citations import attribute

    # A specific token the source lacks (0600, SOCKS5) blocks attribution even when most words match.
    wrong_value = "The file must be owned by root:pylon with mode 0600 or stricter."
    invented = "You can also set PYLON_PROXY_PASSWORD in the environment instead of a file."
    marked = "Put the password in a file [2]."
    for text in (wrong_value, invented, marked, "Yes."):
        assert attribute(text, SOURCES) == text
