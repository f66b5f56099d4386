"""``<run>/report/``: what notebook 04 shows, as files.

```
<run>/report/tables.md       every table, in the order shown, each under its heading
<run>/report/summary.json    the same numbers as data (plus what produced them)
<run>/report/*.png           the figures
```
Each addition rewrites the files, so an interrupted analysis keeps what it had shown; ``summary.json``'s
``"complete"`` stays ``false`` until :meth:`Report.finish` (the dashboard shows such a report as partial).
"""
from __future__ import annotations

from pathlib import Path

from qcrdkit.core.io import atomic_write_text, write_json


def markdown_table(table) -> str:
    """A DataFrame (or what makes one) as a markdown table, cells as written (no number reformatting);
    the index is kept when it is named or not the default range."""
    import pandas as pd

    df = table if isinstance(table, pd.DataFrame) else pd.DataFrame(table)
    return df.to_markdown(index=df.index.name is not None or not isinstance(df.index, pd.RangeIndex), disable_numparse=True)


class Report:
    """Collects tables, figures and numbers for ``<run>/report/``."""

    def __init__(self, folder: str | Path, title: str):
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.title = title
        self.sections: list[str] = []
        self.summary: dict = {"complete": False}

    def table(self, heading: str, table, note: str | None = None) -> None:
        self.sections.append(f"## {heading}\n\n" + (f"{note}\n\n" if note else "") + markdown_table(table))
        self.save()

    def text(self, heading: str, body: str) -> None:
        self.sections.append(f"## {heading}\n\n{body}")
        self.save()

    def figure(self, name: str, fig, caption: str) -> Path:
        path = self.folder / name
        fig.savefig(path, dpi=120, bbox_inches="tight")
        self.sections.append(f"![{caption}]({name})\n\n*{caption}*")
        self.save()
        return path

    def data(self, key: str, value) -> None:
        self.summary[key] = value
        self.save()

    def finish(self) -> None:
        """Every section is in: the report is complete."""
        self.summary["complete"] = True
        self.save()

    def save(self) -> None:
        atomic_write_text(self.folder / "tables.md", f"# {self.title}\n\n" + "\n\n".join(self.sections) + "\n",
                          fsync=False)
        write_json(self.folder / "summary.json", self.summary)
