"""reStructuredText and Sphinx through docutils: headings with anchors, labels, code, roles, no crash."""

from __future__ import annotations

from pathlib import Path

from ingest.documents import Document, read_document
from ingest.pipeline import chunk_document
from ingest.plumbing import plumbing

PAGE = """
.. _queue-page:

Queue Guide
===========

.. toctree::
   :maxdepth: 2

   other

The :class:`~acme.queue.Queue` object and :meth:`acme.Queue.push` are described in
:doc:`/reference`; see :ref:`the limits <queue-limits>` and :unknownrole:`odd text`.

Limits
------

.. note::
   The queue holds at most fifty jobs.

.. warning:: Jobs over the limit are dropped.

.. versionadded:: 2.1
   The limit became configurable.

.. code-block:: python
   :emphasize-lines: 1

   queue.push(job)

A literal block::

    $ acme run

.. sphinxfancy:: some argument
   :option: value

   Text inside an unknown directive.

.. tabs::

   .. tab:: Linux

      Use systemd.

.. autoclass:: acme.Queue
   :members:

.. include:: ../../outside.rst
"""


def _read(tmp_path: Path) -> Document:
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "queue.rst").write_text(PAGE)
    (tmp_path / "outside.rst").write_text("SECRET\n")
    doc = read_document(tmp_path / "docs" / "queue.rst", tmp_path / "docs", "https://docs.example.com")
    assert isinstance(doc, Document), doc
    return doc


def test_rst_sections_become_anchored_headings(tmp_path: Path) -> None:
    """Section titles become headings with docutils' section ids as anchors; the first is the title."""
    doc = _read(tmp_path)
    assert doc.kind == "rst" and doc.title == "Queue Guide" and doc.url == "https://docs.example.com/queue"
    assert "# Queue Guide {#queue-guide}" in doc.body and "## Limits {#limits}" in doc.body
    anchors = {c.anchor for c in chunk_document(doc).values()}
    assert anchors == {"queue-guide", "limits"}


def test_rst_admonitions_code_and_roles(tmp_path: Path) -> None:
    """Notes and warnings are labelled, code-block and :: are fences, roles are their text."""
    body = _read(tmp_path).body
    assert "**Note:** The queue holds at most fifty jobs." in body
    assert "**Warning:** Jobs over the limit are dropped." in body
    assert "**Added in version 2.1:** The limit became configurable." in body
    assert "```python\nqueue.push(job)\n```" in body and "```\n$ acme run\n```" in body
    assert "The `Queue` object and `acme.Queue.push()` are described in reference; see the limits" in body
    assert "odd text" in body


def test_rst_unknown_directives_kept_sphinx_ones_handled(tmp_path: Path) -> None:
    """An unknown directive keeps its text; toctree is dropped; tabs keep labels; outside includes drop."""
    doc = _read(tmp_path)
    assert "Text inside an unknown directive." in doc.body and "some argument" in doc.body
    assert "maxdepth" not in doc.body and "other" not in doc.body.split("Limits")[0].split("described")[0]
    assert "**Linux**" in doc.body and "Use systemd." in doc.body
    assert "SECRET" not in doc.body and any("outside.rst" in w for w in doc.warnings)
    assert all(not plumbing(c.text) for c in chunk_document(doc).values())


def test_rst_garbage_never_raises(tmp_path: Path) -> None:
    """Broken markup (unclosed roles, bad tables, stray directives) still gives a document."""
    (tmp_path / "bad.rst").write_text("Title\n=\n\n:ref:`unclosed\n\n+---+\n| x\n\n.. ::\n\n.. code-block::\n")
    doc = read_document(tmp_path / "bad.rst", tmp_path, "https://d.example")
    assert isinstance(doc, Document)
