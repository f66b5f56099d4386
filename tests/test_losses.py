"""Pure loss functions against hand-computed values."""
import math

import pytest
import torch

from qcrdkit.training.losses import (contrastive_loss, dss_loss, mi_loss, negative_margin, select_rationales,
                            sequence_cross_entropy)

# two questions; question 0: positives CE 1.0, 2.0, 0.5 (scores .9 .8 .6), negatives CE 1.0, 4.0 (scores .3 .1)
# question 1: positives CE 3.0, (pad) (scores .5), negatives CE 2.5, 2.0 (scores .2 .4)
POS_CE = torch.tensor([[1.0, 2.0, 0.5], [3.0, 9.0, 9.0]])
POS_S = torch.tensor([[0.9, 0.8, 0.6], [0.5, 0.0, 0.0]])
POS_M = torch.tensor([[True, True, True], [True, False, False]])
NEG_CE = torch.tensor([[1.0, 4.0], [2.5, 2.0]])
NEG_S = torch.tensor([[0.3, 0.1], [0.2, 0.4]])
BETA, DELTA = 0.2, 3.0


def cl(scheme, **kw):
    return contrastive_loss(POS_CE, NEG_CE, POS_S, NEG_S, POS_M, None, scheme=scheme, beta=BETA, delta=DELTA, **kw).item()


def test_margin_cut():
    assert negative_margin(torch.tensor([1.0, 3.0, 4.5]), 3.0).tolist() == [-2.0, 0.0, 0.0]


def test_minmax_by_hand():
    # q0: min positive CE 0.5 (s .6); max negative CE 4.0 (s .1) -> margin min(4-3, 0) = 0
    q0 = 0.6 * 0.5 - BETA * (1 - 0.1) * 0.0
    # q1: only positive CE 3.0 (s .5); max negative CE 2.5 (s .2) -> margin -0.5
    q1 = 0.5 * 3.0 - BETA * (1 - 0.2) * (-0.5)
    assert cl("minmax") == pytest.approx((q0 + q1) / 2)


def test_maxmin_by_hand():
    q0 = 0.8 * 2.0 - BETA * (1 - 0.3) * (1.0 - 3.0)      # max positive 2.0; min negative 1.0
    q1 = 0.5 * 3.0 - BETA * (1 - 0.4) * (2.0 - 3.0)      # min negative 2.0
    assert cl("maxmin") == pytest.approx((q0 + q1) / 2)


def test_mean_and_wmean_by_hand():
    """§5.1: Mean averages the loss of every rationale (no quality scores); W-mean weights each rationale's
    loss by its quality score, then averages."""
    m0 = (1 + 2 + 0.5) / 3 - BETA * (-2.0 + 0.0) / 2
    m1 = 3.0 - BETA * (-0.5 + -1.0) / 2
    assert cl("mean") == pytest.approx((m0 + m1) / 2)
    w0 = (0.9 * 1 + 0.8 * 2 + 0.6 * 0.5) / 3 - BETA * ((1 - 0.3) * -2.0 + (1 - 0.1) * 0.0) / 2
    w1 = 0.5 * 3.0 - BETA * ((1 - 0.2) * -0.5 + (1 - 0.4) * -1.0) / 2
    assert cl("wmean") == pytest.approx((w0 + w1) / 2)
    # Mean ignores the scores; W-mean with unit scores (w/o QJ) is Mean
    unit = dict(pos_scores=torch.ones_like(POS_CE), neg_scores=torch.zeros_like(NEG_CE))
    assert float(contrastive_loss(POS_CE, NEG_CE, pos_mask=POS_M, scheme="wmean", beta=BETA, delta=3.0, **unit)) \
        == pytest.approx(cl("mean"))


def test_sampling_picks_valid_entries_reproducibly():
    for seed in range(20):
        jp, jn = select_rationales(POS_CE, NEG_CE, POS_M, torch.ones_like(NEG_CE, dtype=torch.bool), "sampling",
                                   torch.Generator().manual_seed(seed))
        assert jp[1].item() == 0                             # question 1 has one real positive
    a = cl("sampling", generator=torch.Generator().manual_seed(3))
    b = cl("sampling", generator=torch.Generator().manual_seed(3))
    assert a == b
    values = {round(cl("sampling", generator=torch.Generator().manual_seed(s)), 6) for s in range(30)}
    assert len(values) > 1


def test_score_weighting_scales_the_terms():
    ones, zeros = torch.ones_like(POS_S), torch.zeros_like(NEG_S)
    unweighted = contrastive_loss(POS_CE, NEG_CE, ones, zeros, POS_M, scheme="minmax", beta=BETA, delta=DELTA)
    assert unweighted.item() == pytest.approx(((0.5 - 0) + (3.0 - BETA * -0.5)) / 2)   # eq. 3-5, unit weights
    # a negative the judge thinks is good (s_neg = 1) is not pushed away at all
    no_push = contrastive_loss(POS_CE, NEG_CE, ones, torch.ones_like(NEG_S), POS_M, scheme="minmax", beta=BETA,
                               delta=DELTA)
    assert no_push.item() == pytest.approx((0.5 + 3.0) / 2)


def test_minmax_gives_gradient_only_to_the_selected_positive():
    pos = POS_CE.clone().requires_grad_(True)
    neg = NEG_CE.clone().requires_grad_(True)
    contrastive_loss(pos, neg, POS_S, NEG_S, POS_M, scheme="minmax", beta=BETA, delta=DELTA).backward()
    assert torch.allclose(pos.grad, torch.tensor([[0, 0, 0.6 / 2], [0.5 / 2, 0, 0]]))
    # q1's max negative (2.5, below the margin) is pushed up; q0's (4.0, beyond the margin) is not
    assert torch.allclose(neg.grad, torch.tensor([[0, 0], [-BETA * 0.8 / 2, 0]]))


def test_questions_without_negatives():
    loss = contrastive_loss(POS_CE, torch.zeros(2, 0), POS_S, torch.zeros(2, 0), POS_M, scheme="minmax")
    assert loss.item() == pytest.approx((0.6 * 0.5 + 0.5 * 3.0) / 2)
    with pytest.raises(ValueError, match="scheme"):
        contrastive_loss(POS_CE, NEG_CE, POS_S, NEG_S, scheme="best")


def test_sequence_cross_entropy_ignores_padding():
    logits = torch.log(torch.tensor([[[0.5, 0.25, 0.25], [0.1, 0.8, 0.1], [0.3, 0.3, 0.4]]]))
    labels = torch.tensor([[0, 1, -100]])
    assert sequence_cross_entropy(logits, labels).item() == pytest.approx((-math.log(0.5) - math.log(0.8)) / 2)


def test_dss_and_mi_by_hand():
    assert dss_loss(torch.tensor(2.0), torch.tensor(4.0), 0.5).item() == 3.0
    assert dss_loss(torch.tensor(2.0), torch.tensor(4.0), 0.25).item() == 3.5
    # one sequence, vocab 2: pred softmax rows (.5,.5) and (.9,.1) -> P = (.9,.5);
    # expl rows (.2,.8), (.6,.4), last position padding -> Q = (.6,.8)
    pred = torch.log(torch.tensor([[[0.5, 0.5], [0.9, 0.1]]]))
    expl = torch.log(torch.tensor([[[0.2, 0.8], [0.6, 0.4], [0.99, 0.01]]]))
    expl_mask = torch.tensor([[1, 1, 0]])
    q = torch.tensor([0.6, 0.8])
    expected = -(0.9 * torch.log_softmax(q, 0)[0] + 0.5 * torch.log_softmax(q, 0)[1]).item()
    assert mi_loss(pred, expl, None, expl_mask).item() == pytest.approx(expected, abs=1e-6)
    expl_g = expl.clone().requires_grad_(True)
    pred_g = pred.clone().requires_grad_(True)
    mi_loss(pred_g, expl_g, None, expl_mask).backward()
    assert pred_g.grad is None and expl_g.grad.abs().sum() > 0        # the predict pass is detached


def test_eq8_student_terms_and_alpha3_schedule_by_hand():
    import torch

    from qcrdkit.training.losses import alpha3_schedule, qcrd_objective

    # α1 = 0.5, α2 = 2: 0.5 · 1.2 + 2 · 0.3 = 1.2
    assert float(qcrd_objective(torch.tensor(1.2), torch.tensor(0.3), 0.5, 2.0)) == pytest.approx(1.2)
    assert float(qcrd_objective(torch.tensor(1.2), torch.tensor(0.3), 0.5, 0.5)) == pytest.approx(0.75)   # the defaults
    # the paper's α3 = 0.5 decayed by 0.9 per iteration: 0.5, 0.45, 0.405, ..., 0.5 · 0.9^10 = 0.17434
    assert [alpha3_schedule(0.5, 0.9, t) for t in range(3)] == pytest.approx([0.5, 0.45, 0.405])
    assert alpha3_schedule(0.5, 0.9, 10) == pytest.approx(0.174339, abs=1e-6)
    assert alpha3_schedule(0.5, 1.0, 7) == 0.5
