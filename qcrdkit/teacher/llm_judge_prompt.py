"""The LLM judge's prompt (paper appendix Table 4): how a pair of explanations is asked about, and how
such a prompt is read back (the offline synthetic endpoint answers it). A leaf module: both
:mod:`qcrdkit.analysis.llm_judge` (which asks) and :mod:`qcrdkit.teacher.synthetic` (which answers) import it.
"""
from __future__ import annotations

import re

#: the paper's judge prompt (appendix Table 4); ``{taskname}`` is the task's description
JUDGE_INSTRUCTION = ("There is an input pair of a question and an answer of a {taskname} task, and we provide you two "
                     "explanations. You need judge which explanation is better. The better explanation should be more "
                     "accurate and explain the answer better.")
#: what we add so that a reply can be read: the four verdicts the parser knows
REPLY_FORMAT = ('Reply with exactly one of: "Explanation 1 is better", "Explanation 2 is better", '
                '"Both are good", "Both are bad".')
TASK_DESCRIPTIONS = {"svamp": "math word problem", "arith": "math word problem", "cqa": "commonsense question answering",
                     "anli1": "natural language inference", "esnli": "natural language inference"}


def judge_prompt(task_name: str, question: str, answer: str, first: str, second: str) -> str:
    """The judge's message for one ordered pair of explanations."""
    taskname = TASK_DESCRIPTIONS.get(task_name, task_name)
    return (f"{JUDGE_INSTRUCTION.format(taskname=taskname)}\n\n"
            f"Question: {question.strip()}\nAnswer: {answer.strip()}\n"
            f"Explanation 1: {first.strip()}\nExplanation 2: {second.strip()}\n\n{REPLY_FORMAT}")


_PROMPT_RE = re.compile(r"Question: (?P<question>.*?)\nAnswer: (?P<answer>.*?)\nExplanation 1: (?P<first>.*?)\n"
                        r"Explanation 2: (?P<second>.*?)\n\n", re.S)


def read_judge_prompt(prompt: str) -> dict | None:
    """``question``, ``answer``, ``first``, ``second`` of a prompt made by :func:`judge_prompt`; else ``None``."""
    if not prompt.startswith(JUDGE_INSTRUCTION.split("{taskname}")[0]):
        return None
    match = _PROMPT_RE.search(prompt)
    return match.groupdict() if match else None
