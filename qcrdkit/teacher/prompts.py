"""Few-shot chain-of-thought prompts (the paper's Fig. 3 style), kept as editable text templates.

The templates live in ``qcrdkit/teacher/prompts/*.txt``; ``{question}`` marks where the
formatted question goes. Pass ``template_path`` to use your own file instead.
"""
from __future__ import annotations

from pathlib import Path

from qcrdkit.core.errors import ConfigError

PROMPT_DIR = Path(__file__).parent / "prompts"
TEMPLATE_FOR_TASK = {"svamp": "math.txt", "arith": "math.txt", "cqa": "cqa.txt", "anli1": "nli.txt", "esnli": "nli.txt",
                     "jsonl": "generic.txt"}
#: where a completion model would start writing the next few-shot example
STOP_SEQUENCES = ["\n\nQ:", "\n\nPremise:"]


def load_template(task_name: str, template_path: str | Path | None = None) -> str:
    if template_path is not None:
        path = Path(template_path)
    elif task_name in TEMPLATE_FOR_TASK:
        path = PROMPT_DIR / TEMPLATE_FOR_TASK[task_name]
    else:
        raise ConfigError(f"no prompt template for task {task_name!r}; pass prompt_template=<file with {{question}}>")
    text = path.read_text(encoding="utf-8")
    if "{question}" not in text:
        raise ConfigError(f"{path}: a prompt template must contain the placeholder {{question}}")
    return text


def build_messages(template: str, question: str) -> list[dict]:
    """Chat messages for one question: the whole few-shot prompt as one user turn."""
    return [{"role": "user", "content": template.replace("{question}", question).rstrip() }]


def question_from_prompt(prompt: str) -> str:
    """The question of the last few-shot slot of a prompt built by :func:`build_messages`."""
    body = prompt.rstrip()
    if body.endswith("A:"):
        body = body[:-2].rstrip()
    last_block = body.split("\n\n")[-1]
    return last_block[3:].strip() if last_block.startswith("Q: ") else last_block.strip()
