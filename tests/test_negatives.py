"""The snapshot ring returns the student from j iterations back, and survives a checkpoint."""
import pytest
import torch

from qcrdkit.training.negatives import GumbelTopK, SnapshotRing, generator_age, generator_snapshot, load_generator


def weights(value: float) -> dict:
    return {"w": torch.full((2, 2), value), "b": torch.tensor([value])}


def test_returns_the_snapshot_j_iterations_back():
    ring = SnapshotRing(j=3)
    with pytest.raises(LookupError):
        ring.generator_weights()
    for it in range(1, 9):                                      # snapshots at the ends of iterations 1, 2, ...
        ring.push(it, weights(float(it)))
        expected = max(1, it - 3)                               # never the random initialisation
        got_it, got = ring.generator_weights()
        assert got_it == expected and got["w"][0, 0].item() == expected
        assert got_it == generator_snapshot(it * 10, 10, 3)     # the ring follows the formula
    assert len(ring) == 4                                       # j + 1 copies kept


def test_generator_snapshot_and_age_at_several_steps():
    S, j = 50, 3                                                # iterations of 50 steps, 3 back
    assert [generator_snapshot(t, S, j) for t in (0, 49)] == [None, None]     # first iteration: no negatives
    assert [generator_snapshot(t, S, j) for t in (50, 99, 100, 199, 200, 249, 250, 999)] == [1, 1, 1, 1, 1, 1, 2, 16]
    assert generator_age(0, S, j) is None
    assert [generator_age(t, S, j) for t in (50, 120, 199, 200, 249, 250, 999)] == [0, 70, 149, 150, 199, 150, 199]
    # once j iterations have passed the age is between j·S and (j + 1)·S − 1 steps
    assert all(j * S <= generator_age(t, S, j) < (j + 1) * S for t in range(j * S + S, 2000))


def test_snapshots_are_copies_and_resume_round_trips():
    model = torch.nn.Linear(2, 2)
    ring = SnapshotRing(j=2)
    ring.push(0, model.state_dict())
    before = model.weight.detach().clone()
    with torch.no_grad():
        model.weight.add_(1.0)                                  # training moves on
    ring.push(1, model.state_dict())
    assert torch.equal(ring.generator_weights()[1]["weight"], before)
    restored = SnapshotRing(j=5)
    restored.load_state_dict(ring.state_dict())
    assert restored.j == 2 and restored.generator_weights()[0] == 0
    gen = load_generator(torch.nn.Linear(2, 2), restored.generator_weights()[1])
    assert torch.equal(gen.weight, before) and not gen.training
    with pytest.raises(ValueError, match="pushed after"):
        ring.push(1, model.state_dict())
    with pytest.raises(ValueError, match="j"):
        SnapshotRing(0)


@pytest.mark.parametrize("top_k", [3, 0])
def test_gumbel_top_k_draws_from_the_tempered_top_k_distribution(top_k):
    """argmax of GumbelTopK's output is a sample of softmax(top-k logits / τ): frequencies of 40 000
    draws within 0.01 of those probabilities; tokens outside the top k never drawn."""
    torch.manual_seed(0)
    logits = torch.tensor([[2.0, 0.5, 1.5, -1.0, 1.0, 0.0]])
    tau, n = 1.5, 40_000
    expected = logits[0] / tau
    if top_k:
        expected = expected.masked_fill(expected < expected.topk(top_k).values[-1], float("-inf"))
    expected = expected.softmax(-1)
    out = GumbelTopK(tau, top_k)(torch.zeros(n, 1, dtype=torch.long), logits.expand(n, -1).clone())
    counts = torch.bincount(out.argmax(-1), minlength=6).float() / n
    assert torch.allclose(counts, expected, atol=0.01), (counts, expected)
    if top_k:
        assert counts[expected == 0].sum() == 0


def test_gumbel_top_k_rejects_a_zero_temperature():
    with pytest.raises(ValueError, match="temperature"):
        GumbelTopK(0.0, 20)
