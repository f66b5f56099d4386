"""Interactive views for notebooks (ipywidgets). Thin: the work is in :mod:`qcrdkit.casestudy`.

:func:`temperature_widget` is the paper's Fig. 5 as a widget: pick a question, move the
temperature slider, and the trained student's rationales at that temperature appear with their
answers, correctness and discriminator scores. The view is an ``HTML`` widget, so its last state
is saved with an executed notebook and shows in a rendered copy.
"""
from __future__ import annotations

import html
from typing import Sequence

from .casestudy import TemperatureStudy, temperature_label


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
