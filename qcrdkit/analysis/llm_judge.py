"""Rationale quality by an LLM judge (paper §5.4, Table 7; prompt of appendix Table 4).

Two students' rationales for the same test question go to an LLM side by side with the paper's
prompt; the judge says which explanation is better. Each question is asked in **both orders**
(A first, then B first) so that a judge that prefers a position cancels out:

* both orders pick the same student          → that student is better;
* both orders say "both are good" / "both
  are bad"                                   → both good / both bad;
* anything else (the orders disagree, an
  unreadable reply)                          → undecided (counted, never dropped).

The judge is any OpenAI-compatible endpoint through :class:`~qcrdkit.teacher.TeacherClient`
(cached and resumable like teacher sampling; the key from the environment). Offline, the
synthetic endpoint judges ``arith`` rationales by checking their arithmetic
(:func:`~qcrdkit.teacher.synthetic.judge_arith_reply`).

Pure parts (:func:`judge_prompt`, :func:`parse_verdict`, :func:`combine_orders`,
:func:`count_outcomes`, :func:`preference_over_seeds`) are separate from :func:`judge_pairs`, which does the requests.
"""
from __future__ import annotations

import contextlib
import re
from collections import Counter
from typing import Sequence

from qcrdkit.core.errors import ConfigError
from qcrdkit.teacher.llm_judge_prompt import JUDGE_INSTRUCTION, REPLY_FORMAT, TASK_DESCRIPTIONS, judge_prompt, read_judge_prompt  # noqa: F401

VERDICTS = ("first", "second", "both_good", "both_bad")
OUTCOMES = ("a_better", "both_good", "b_better", "both_bad", "undecided")


_WINNER = re.compile(r"(?:explanation|option)?\s*\(?([12])\)?\s+is\s+(?:the\s+|much\s+|slightly\s+)?better|"
                     r"better\s+(?:explanation|one)\s+is\s+(?:explanation\s*)?\(?([12])\)?|"
                     r"\b(first|second)\s+(?:explanation|one)\s+is\s+(?:the\s+)?better", re.I)
_BOTH_GOOD = re.compile(r"\bboth\b[^.\n]*\b(good|fine|correct|equally)\b", re.I)
_BOTH_BAD = re.compile(r"\bboth\b[^.\n]*\b(bad|wrong|incorrect|poor)\b|\bneither\b", re.I)
_BARE = re.compile(r"^\W*(?:explanation\s*)?\(?([12])\)?\W*$", re.I)


def parse_verdict(reply: str) -> str | None:
    """``"first"``, ``"second"``, ``"both_good"``, ``"both_bad"``, or ``None`` when the reply names
    no verdict or contradicts itself. A named winner ("Explanation 2 is better", "The better
    explanation is 1") comes before "both ..."; a bare ``1`` / ``2`` is read as the winner."""
    text = reply.strip()
    winners = {"first" if tok.lower() in ("1", "first") else "second"
               for match in _WINNER.finditer(text) for tok in match.groups() if tok}
    if len(winners) > 1:
        return None
    if winners:
        return winners.pop()
    if _BOTH_BAD.search(text):
        return "both_bad"
    if _BOTH_GOOD.search(text):
        return "both_good"
    bare = _BARE.match(text)
    return None if bare is None else ("first" if bare.group(1) == "1" else "second")


def combine_orders(a_first: str | None, b_first: str | None) -> str:
    """One question's outcome from the verdicts of both orders (module doc)."""
    as_a = {"first": "a", "second": "b"}      # order 1: A is explanation 1
    as_b = {"first": "b", "second": "a"}      # order 2: B is explanation 1
    winner_1, winner_2 = as_a.get(a_first or ""), as_b.get(b_first or "")
    if winner_1 and winner_1 == winner_2:
        return f"{winner_1}_better"
    if a_first == b_first and a_first in ("both_good", "both_bad"):
        return a_first
    return "undecided"


def count_outcomes(outcomes: Sequence[str]) -> dict[str, int]:
    counts = Counter(outcomes)
    unknown = set(counts) - set(OUTCOMES)
    if unknown:
        raise ValueError(f"unknown outcome(s) {sorted(unknown)}; outcomes are {OUTCOMES}")
    return {o: counts.get(o, 0) for o in OUTCOMES}


def preference_over_seeds(outcomes_by_seed: dict[int, Sequence[str]], confidence: float = 0.95) -> dict:
    """The judge's net preference for the second student of a pair, seed by seed: ``(b_better − a_better) / pairs``
    of each seed's students (A and B trained with that seed), and over seeds their mean with a Student t interval
    (``low``/``high``/``p``: at least two seeds; a single pair of students is one draw of each method, and an
    interval over its questions would say nothing about the methods)."""
    from qcrdkit.analysis.statistics import seed_t_interval

    per_seed = {}
    for seed, outcomes in sorted(outcomes_by_seed.items()):
        counts = count_outcomes(outcomes)
        per_seed[seed] = (counts["b_better"] - counts["a_better"]) / max(len(outcomes), 1)
    values = list(per_seed.values())
    out = {"per_seed": per_seed, "seeds": len(values), "mean": sum(values) / len(values) if values else None}
    if len(values) >= 2:
        out["low"], out["high"], out["p"] = seed_t_interval(values, confidence)
    return out


def pairwise_items(task, examples: Sequence, rationales_a: dict[str, str], rationales_b: dict[str, str]) -> list[dict]:
    """The items :func:`judge_pairs` takes: per question its text, gold answer and both rationales."""
    return [{"id": ex.id, "question": ex.input, "answer": task.answer_to_text(ex.answer), "a": rationales_a[ex.id],
             "b": rationales_b[ex.id]} for ex in examples]


@contextlib.contextmanager
def judge_client(endpoint_name: str, task_name: str, *, model: str, base_url: str | None = None,
                 api_key_env: str | None = "OPENAI_API_KEY", cache_dir=None, progress: bool = True):
    """A :class:`~qcrdkit.teacher.TeacherClient` for judging (one reply per prompt, temperature 0),
    on ``"openai"`` (any OpenAI-compatible ``base_url``) or the offline ``"synthetic"`` judge."""
    from qcrdkit.teacher import CompletionCache, TeacherClient, TeacherConfig
    from qcrdkit.teacher.collect import endpoint

    if endpoint_name == "synthetic" and task_name != "arith":
        raise ConfigError(f"the synthetic judge checks arithmetic of 'arith' rationales only, not {task_name!r}; "
                          "use judge='openai' with llm_judge_base_url / llm_judge_model")
    with endpoint(endpoint_name, base_url, api_key_env) as (url, namespace, key_env):
        config = TeacherConfig(model=model, base_url=url, temperature=0.0, k=1, max_tokens=64, api_key_env=key_env,
                               cache_namespace=namespace)
        yield TeacherClient(config, CompletionCache(cache_dir) if cache_dir else None, progress=progress)


def judge_pairs(client, task_name: str, items: Sequence[dict]) -> list[dict]:
    """Judge ``items`` (``id``, ``question``, ``answer``, ``a``, ``b``: the two rationales) in both orders.

    ``client`` is a :class:`~qcrdkit.teacher.TeacherClient` (``k=1``, temperature 0 recommended).
    Returns one row per item with both replies, both verdicts and the outcome.
    """
    if not items:
        raise ConfigError("judge_pairs: no items to judge")
    if client.config.k != 1:
        raise ConfigError(f"the LLM judge takes one reply per prompt: set k=1 (got k={client.config.k})")
    prompts = {}
    for it in items:
        prompts[f"{it['id']}|ab"] = [{"role": "user", "content": judge_prompt(task_name, it["question"], it["answer"],
                                                                              it["a"], it["b"])}]
        prompts[f"{it['id']}|ba"] = [{"role": "user", "content": judge_prompt(task_name, it["question"], it["answer"],
                                                                              it["b"], it["a"])}]
    replies = client.sample(prompts, desc="LLM judge")
    rows = []
    for it in items:
        reply_ab, reply_ba = replies[f"{it['id']}|ab"][0]["text"], replies[f"{it['id']}|ba"][0]["text"]
        v_ab, v_ba = parse_verdict(reply_ab), parse_verdict(reply_ba)
        rows.append({**it, "reply_a_first": reply_ab, "reply_b_first": reply_ba, "verdict_a_first": v_ab,
                     "verdict_b_first": v_ba, "outcome": combine_orders(v_ab, v_ba)})
    return rows
