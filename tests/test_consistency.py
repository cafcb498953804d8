"Fast checks of the consistency-regularisation pieces (no training; the notebook trains)"
import math, warnings
warnings.filterwarnings('ignore', category=FutureWarning)
import pytest, torch
from semicompact.consistency import (RA_OPS, weak_augment, rand_augment, cutout, strong_augment, sharpen_probs, mixup_weight,
                                     linear_rampup, fixmatch_unlabelled_loss, FixMatchCallback, MixMatchCallback, FixMatch,
                                     MixMatch, fixmatch, mixmatch)

def test_views_shape_range_and_difference():
    torch.manual_seed(0)
    x = torch.rand(8, 3, 16, 16)
    w, s = weak_augment(x, flip=False), strong_augment(x, flip=False)
    assert w.shape == s.shape == x.shape
    assert 0 <= s.min() and s.max() <= 1
    assert (w - s).abs().mean() > 0.05
    assert torch.allclose(weak_augment(x, flip=False, translate=0), x, atol=1e-5)

@pytest.mark.parametrize('op', RA_OPS[1:])
def test_each_randaugment_op_changes_images(op):
    torch.manual_seed(0)
    x = torch.rand(16, 3, 16, 16)
    y = rand_augment(x, n_ops=1, ops=(op,))
    assert not torch.allclose(y, x) and 0 <= y.min() and y.max() <= 1

def test_mask_rate_follows_tau():
    lw = torch.tensor([[10., 0, 0], [2., 1, 0], [0, 0, 0], [0, 5., 0]])
    rates = [float(fixmatch_unlabelled_loss(lw, lw, t)[1]) for t in (0.3, 0.5, 0.95, 0.99, 1.01)]
    assert rates == [1., 0.75, 0.5, 0.25, 0.]

def test_sharpen_mixup_rampup():
    p = torch.softmax(torch.randn(32, 5), 1)
    q = sharpen_probs(p, 0.5)
    assert torch.allclose(q.sum(1), torch.ones(32))
    ent = lambda p: -(p*p.log()).sum(1)
    assert (ent(q) <= ent(p) + 1e-6).all()
    assert (mixup_weight(0.75, 5000) >= 0.5).all()
    assert [linear_rampup(t, 0.5) for t in (0, 0.25, 0.5, 1)] == [0, 0.5, 1, 1]

def test_aliases_and_validation():
    assert FixMatch is fixmatch and MixMatch is mixmatch
    with pytest.raises(ValueError, match='mu must be'): FixMatchCallback(mu=0)
    with pytest.raises(ValueError, match='ema must be'): FixMatchCallback(ema=1.5)
    with pytest.raises(ValueError, match='k must be'): MixMatchCallback(k=0)
    x = torch.zeros(2, 3, 8, 8)
    with pytest.raises(ValueError, match='Unknown RandAugment'): rand_augment(x, ops=('mirror',))
