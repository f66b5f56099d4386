"""Interactive views for notebooks (ipywidgets). Thin: the work is in :mod:`qcrdkit.casestudy` and
:mod:`qcrdkit.explorer`.

:func:`temperature_widget` is the paper's Fig. 5 as a widget: pick a question, move the
temperature slider, and the trained student's rationales at that temperature appear with their
answers, correctness and judge scores. The view is an ``HTML`` widget, so its last state
is saved with an executed notebook and shows in a rendered copy.
"""
from __future__ import annotations

import html
from pathlib import Path
from typing import Sequence

from qcrdkit.analysis.casestudy import TemperatureStudy, temperature_label


def render_samples_html(question: str, gold: str, temperature: float, samples: Sequence[dict]) -> str:
    """One question's samples at one temperature as an HTML table (pure; the widget shows it)."""
    rows = []
    for s in samples:
        mark = "✓" if s["correct"] else "✗"
        colour = "#1a7f37" if s["correct"] else "#cf222e"
        score = "–" if s.get("score") is None else f"{s['score']:.3f}"
        answer = "–" if s["answer"] is None else html.escape(str(s["answer"]))
        rows.append(f"<tr><td>{s['index'] + 1}</td><td class='qcrd-rationale' style='text-align:left'>"
                    f"{html.escape(s['rationale']) or '<i>(empty)</i>'}</td><td>{answer}</td>"
                    f"<td style='color:{colour}'>{mark}</td><td>{score}</td></tr>")
    return (f"<div class='qcrd-case' data-temperature='{temperature:g}'>"
            f"<p><b>Question.</b> {html.escape(question)}<br><b>Gold answer:</b> {html.escape(gold)} · "
            f"<b class='qcrd-temperature'>{temperature_label(temperature)}</b></p>"
            "<table><thead><tr><th>#</th><th style='text-align:left'>student rationale</th><th>answer</th>"
            "<th>correct</th><th>judge score</th></tr></thead><tbody>" + "".join(rows) + "</tbody></table></div>")


class TemperatureWidget:
    """Question dropdown + temperature slider + HTML view over a :class:`TemperatureStudy`.

    ``widget.box`` is what a notebook displays; ``question``, ``slider`` and ``view`` are its parts
    (tests drive them directly: setting ``slider.value`` re-renders ``view.value``).
    """

    def __init__(self, study: TemperatureStudy, *, temperature: float = 0.7, max_temperature: float = 2.5,
                 step: float = 0.1, question_ids: Sequence[str] | None = None):
        import ipywidgets as w

        self.study = study
        ids = list(question_ids or study.question_ids)
        self.question = w.Dropdown(options=[(f"{q}: {study.examples[q].input[:60]}", q) for q in ids], value=ids[0],
                                   description="question", layout=w.Layout(width="95%"))
        self.slider = w.FloatSlider(value=temperature, min=0.0, max=max_temperature, step=step, description="τ",
                                    continuous_update=False, readout_format=".1f")
        self.view = w.HTML()
        self.question.observe(self._changed, names="value")
        self.slider.observe(self._changed, names="value")
        self.box = w.VBox([self.question, self.slider, self.view])
        self.render()

    def _changed(self, change) -> None:
        self.render()

    def render(self) -> None:
        ex = self.study.examples[self.question.value]
        temperature = round(float(self.slider.value), 4)
        samples = self.study.samples(ex.id, temperature)
        self.view.value = render_samples_html(ex.input, self.study.task.answer_to_text(ex.answer), temperature, samples)

    def _ipython_display_(self):
        from IPython.display import display

        display(self.box)


def temperature_widget(study: TemperatureStudy, **kwargs) -> TemperatureWidget:
    """The temperature case-study widget over ``study`` (display the returned object)."""
    return TemperatureWidget(study, **kwargs)


def histogram_html(scores: Sequence[float], title: str = "judge scores of the selection") -> str:
    """A score histogram as an inline PNG (an ``<img>``: it survives in a saved notebook and in Voilà)."""
    import base64
    import io

    import matplotlib
    import matplotlib.pyplot as plt
    import numpy as np

    values = np.asarray([s for s in scores if s is not None and not np.isnan(s)], dtype=float)
    with matplotlib.rc_context({"figure.max_open_warning": 0}):
        fig, ax = plt.subplots(figsize=(4.2, 2.2))
        ax.hist(values, bins=20, range=(0, 1), color="tab:blue")
        ax.set(xlabel="judge score", ylabel="rationales", title=f"{title} (n={len(values)})")
        ax.title.set_fontsize(9)
        fig.tight_layout()
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=90)
        plt.close(fig)
    return f"<img class='qcrd-histogram' src='data:image/png;base64,{base64.b64encode(buf.getvalue()).decode()}'/>"


class RationaleExplorer:
    """Every rationale of a run (:func:`qcrdkit.explorer.load_rationales`) with filters (split,
    source, right/wrong, self-consistency side, score range, text), a sort (score; judge against
    the evidence, its mistakes first), the selection's first rows and score histogram, a question
    view with all of its rationales side by side, and the selection as a JSONL/CSV download in the browser.

    ``explorer.box`` is what a notebook displays; the controls are attributes (tests set them)."""

    ALL = "(all)"

    def __init__(self, table, *, limit: int = 20, export_name: str = "selection.jsonl", max_questions: int = 300):
        """``export_name``: the download's file name (``.jsonl`` or ``.csv``)."""
        import ipywidgets as w

        from qcrdkit.analysis import explorer as X

        self.X, self.table, self.limit, self.max_questions = X, table, limit, max_questions
        layout = w.Layout(width="auto")
        choices = lambda col: [self.ALL] + sorted(str(v) for v in table[col].dropna().unique())  # noqa: E731
        self.split = w.Dropdown(options=choices("split"), description="split", layout=layout)
        self.source = w.Dropdown(options=choices("source"), description="source", layout=layout)
        self.correct = w.Dropdown(options=[self.ALL, "right", "wrong", "unread"], description="answer", layout=layout)
        self.side = w.Dropdown(options=[self.ALL, "positive", "negative"], description="SC side", layout=layout)
        self.score = w.FloatRangeSlider(value=(0.0, 1.0), min=0.0, max=1.0, step=0.01, description="score",
                                        continuous_update=False, readout_format=".2f")
        self.text = w.Text(placeholder="words or numbers", description="search", continuous_update=False)
        self.sort = w.Dropdown(options=list(X.SORTS), value="judge vs evidence (mistakes first)", description="sort",
                               layout=w.Layout(width="380px"))
        self.rows = w.HTML()
        self.histogram = w.HTML()
        self.question = w.Dropdown(options=[], description="question", layout=w.Layout(width="95%"))
        self.question_view = w.HTML()
        self.export_name = w.Text(value=export_name, description="file name")
        self.export_button = w.Button(description="export selection", icon="download")
        self.export_status = w.HTML()
        filters = {"split": self.split, "source": self.source, "correct": self.correct, "side": self.side,
                   "score": self.score, "text": self.text, "sort": self.sort}
        for name, control in filters.items():
            control.add_class(f"qcrd-{name}")                  # CSS hooks (the browser test finds them)
            control.observe(self._changed, names="value")
        self.question.add_class("qcrd-open-question")
        self.question.observe(lambda _: self.show_question(), names="value")
        self.export_button.add_class("qcrd-export")
        self.export_button.on_click(lambda _: self.export())
        self.box = w.VBox([w.HBox([self.split, self.source, self.correct, self.side]),
                           w.HBox([self.score, self.text, self.sort]),
                           w.HBox([self.rows, self.histogram]),
                           self.question, self.question_view,
                           w.HBox([self.export_name, self.export_button, self.export_status])])
        self.refresh()

    def selection(self):
        """The rows the filters select, sorted."""
        pick = lambda v: None if v == self.ALL else v  # noqa: E731
        low, high = self.score.value
        score_range = None if (low, high) == (0.0, 1.0) else (low, high)
        chosen = self.X.select(self.table, split=pick(self.split.value), source=pick(self.source.value),
                               correct={"right": True, "wrong": False}.get(self.correct.value),
                               unread=True if self.correct.value == "unread" else None,
                               side=pick(self.side.value), score_range=score_range, text=self.text.value.strip() or None)
        return self.X.sort_rows(chosen, self.sort.value)

    def _changed(self, change) -> None:
        self.refresh()

    def refresh(self) -> None:
        chosen = self.selection()
        self.rows.value = self.X.rows_html(chosen, self.limit)
        self.histogram.value = histogram_html(chosen["score"].tolist())
        ids = list(dict.fromkeys(chosen["question_id"].tolist()))[: self.max_questions]
        current = self.question.value
        self.question.options = [(f"{q}: {self.table.loc[self.table['question_id'] == q, 'question'].iloc[0][:70]}", q)
                                 for q in ids]
        self.question.value = current if current in ids else (ids[0] if ids else None)
        self.show_question()

    def show_question(self) -> None:
        q = self.question.value
        self.question_view.value = "" if q is None else self.X.question_html(self.table, q)

    def export(self) -> str:
        """Offer the selection as a download in the browser (a link under the button; ``.jsonl`` or ``.csv``
        by the file name); nothing is written on the server. Returns the link's HTML."""
        name = Path(self.export_name.value.strip() or "selection.jsonl").name
        if not name.lower().endswith((".jsonl", ".csv")):
            self.export_status.value = "<span class='qcrd-exported'>name the file .jsonl or .csv</span>"
            return self.export_status.value
        self.export_status.value = self.X.download_link(self.selection(), name)
        return self.export_status.value

    def _ipython_display_(self):
        from IPython.display import display

        display(self.box)


def rationale_explorer(run_dir_or_table, **kwargs) -> RationaleExplorer:
    """The explorer over a run directory's rationales (or a table from :mod:`qcrdkit.explorer`)."""
    from qcrdkit.analysis.explorer import load_rationales

    table = load_rationales(run_dir_or_table) if isinstance(run_dir_or_table, (str, Path)) else run_dir_or_table
    return RationaleExplorer(table, **kwargs)
