"""MDX and Docusaurus pages: components unwrapped, ESM dropped, admonitions labelled, slugs used."""

from __future__ import annotations

from pathlib import Path

from ingest.documents import Document, read_document
from ingest.pipeline import chunk_document
from ingest.plumbing import plumbing

PAGE = """---
id: install-guide
slug: /setup/install
description: How to install the widget
sidebar_label: Install
---

import Tabs from '@theme/Tabs';
import TabItem from '@theme/TabItem';
import Shared from './_shared.mdx';
export const Box = ({children}) => <div>{children}</div>;

# Installing the widget {#install}

{/* a comment for editors */}

<DocCardList />

```mdx-code-block
<Tabs groupId="pm">
  <TabItem value="npm" label="With npm">
```

Run the npm installer from the project folder.

```mdx-code-block
  </TabItem>
  <TabItem value="yarn" label="With yarn">
```

Run the yarn installer instead.

```mdx-code-block
  </TabItem>
</Tabs>
```

:::warning[Old releases]

Releases before 2.0 need a manual step.

:::

<Shared />

```jsx
import Tabs from '@theme/Tabs';
<Tabs><TabItem value="x">shown as code</TabItem></Tabs>
```
"""

PARTIAL = "The shared paragraph says the widget runs offline.\n"


def _read(tmp_path: Path) -> Document:
    (tmp_path / "guide").mkdir()
    (tmp_path / "guide" / "install.mdx").write_text(PAGE)
    (tmp_path / "guide" / "_shared.mdx").write_text(PARTIAL)
    doc = read_document(tmp_path / "guide" / "install.mdx", tmp_path, "https://docs.example.com")
    assert isinstance(doc, Document)
    return doc


def test_mdx_components_unwrapped_text_kept(tmp_path: Path) -> None:
    """Tab labels and their text stay, imports/exports/comments/self-closing components go."""
    doc = _read(tmp_path)
    assert doc.kind == "mdx"
    assert "**With npm**" in doc.body and "Run the npm installer" in doc.body
    assert "**With yarn**" in doc.body and "Run the yarn installer" in doc.body
    assert "import Tabs" not in doc.body.split("```jsx")[0]
    assert "export const" not in doc.body and "DocCardList" not in doc.body and "comment for editors" not in doc.body
    assert "mdx-code-block" not in doc.body


def test_mdx_admonition_labelled_and_partial_inlined(tmp_path: Path) -> None:
    """`:::warning[Title]` becomes a labelled line; an imported partial is rendered in place."""
    doc = _read(tmp_path)
    assert "**Warning: Old releases**" in doc.body and ":::" not in doc.body
    assert "runs offline" in doc.body


def test_mdx_code_fences_stay_code(tmp_path: Path) -> None:
    """A jsx code fence keeps its imports and tags verbatim: it documents the syntax."""
    doc = _read(tmp_path)
    assert "```jsx\nimport Tabs from '@theme/Tabs';\n<Tabs><TabItem value=\"x\">" in doc.body


def test_mdx_front_matter_slug_and_title(tmp_path: Path) -> None:
    """An absolute slug sets the URL; the H1 is the title and its {#id} the anchor."""
    doc = _read(tmp_path)
    assert doc.url == "https://docs.example.com/setup/install"
    assert doc.title == "Installing the widget"
    chunks = list(chunk_document(doc).values())
    assert chunks and all(not plumbing(c.text) for c in chunks), [plumbing(c.text) for c in chunks]
    assert {c.anchor for c in chunks} == {"install"}


def test_mdx_id_without_slug_names_the_page(tmp_path: Path) -> None:
    """Without a slug, the front matter id replaces the file name in the URL."""
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "file-name.mdx").write_text("---\nid: nicer\nsidebar_label: Nicer page\n---\nSome text.\n")
    doc = read_document(tmp_path / "a" / "file-name.mdx", tmp_path, "https://d.example")
    assert isinstance(doc, Document)
    assert doc.url == "https://d.example/a/nicer" and doc.title == "Nicer page"


def test_mdx_indented_component_children_are_text_not_code(tmp_path: Path) -> None:
    """MDX has no indented code: the indented children of an unwrapped component are prose."""
    (tmp_path / "tabs.mdx").write_text(
        "# Fruit\n\n<Tabs>\n  <TabItem value=\"apple\" label=\"Apple\">\n\n"
        "        An apple a day keeps the support queue short.\n\n  </TabItem>\n</Tabs>\n")
    doc = read_document(tmp_path / "tabs.mdx", tmp_path, "https://docs.example.com")
    assert isinstance(doc, Document)
    texts = [chunk.text for chunk in chunk_document(doc).values()]
    assert any("An apple a day" in text for text in texts)
    assert not any("```" in text for text in texts)
