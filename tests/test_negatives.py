"""The snapshot ring returns the student from j iterations back, and survives a checkpoint."""
import pytest
import torch

from qcrdkit.negatives import SnapshotRing, load_generator


def weights(value: float) -> dict:
    return {"w": torch.full((2, 2), value), "b": torch.tensor([value])}


def test_returns_the_snapshot_j_iterations_back():
    ring = SnapshotRing(j=3)
    with pytest.raises(LookupError):
        ring.generator_weights()
    ring.push(0, weights(0.0))                                  # the initial model
    assert ring.generator_weights()[0] == 0
    for it in range(1, 8):
        ring.push(it, weights(float(it)))
        expected = max(0, it - 3)
        got_it, got = ring.generator_weights()
        assert got_it == expected and got["w"][0, 0].item() == expected
    assert len(ring) == 4                                       # j + 1 copies kept


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
