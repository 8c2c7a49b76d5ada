import torch

from jepalab.training.objectives import latent_stats, make_regularizer, sigreg, vicreg


def test_sigreg_is_near_zero_for_gaussian_and_large_when_collapsed():
    torch.manual_seed(0)
    gauss = sigreg(torch.randn(2048, 64))
    collapsed = sigreg(torch.zeros(2048, 64))
    line = sigreg(torch.randn(2048, 1).expand(2048, 64).contiguous())
    wrong_scale = sigreg(4 * torch.randn(2048, 64))
    assert gauss < 2e-3
    assert collapsed > 100 * gauss and line > 30 * gauss and wrong_scale > 30 * gauss


def test_sigreg_gradient_pushes_collapsed_latents_apart():
    torch.manual_seed(0)
    z = (0.01 * torch.randn(512, 16)).requires_grad_()
    opt = torch.optim.Adam([z], lr=0.02)
    before = z.detach().std(0).mean()
    for _ in range(150):
        opt.zero_grad()
        sigreg(z, projections=64).backward()
        opt.step()
    after = z.detach().std(0).mean()
    assert after > 30 * before and 0.5 < after < 1.5  # spread out towards unit variance


def test_vicreg_and_registry():
    torch.manual_seed(0)
    assert vicreg(torch.randn(1024, 32)) < 0.2 < vicreg(torch.zeros(1024, 32))
    for name in ("sigreg", "vicreg"):
        assert make_regularizer(name)(torch.randn(64, 8)).ndim == 0


def test_latent_stats_detect_collapse():
    torch.manual_seed(0)
    spread = latent_stats(torch.randn(1024, 32))
    flat = latent_stats(torch.randn(1024, 1) @ torch.randn(1, 32))
    assert spread["effective_rank"] > 28 and flat["effective_rank"] < 1.1


def test_ema_update_is_exact_and_copies_buffers():
    from jepalab.training.objectives import ema_update

    torch.manual_seed(0)
    online = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.BatchNorm1d(3))
    target = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.BatchNorm1d(3))
    online[1].running_mean.fill_(2.0)
    before = [p.clone() for p in target.parameters()]
    ema_update(target, online, 0.9)
    for b, t, o in zip(before, target.parameters(), online.parameters()):
        assert torch.allclose(t, 0.9 * b + 0.1 * o, atol=1e-7)
    assert torch.equal(target[1].running_mean, online[1].running_mean)
    ema_update(target, online, 0.0)
    assert all(torch.equal(t, o) for t, o in zip(target.parameters(), online.parameters()))
    import pytest

    with pytest.raises(ValueError, match="momentum"):
        ema_update(target, online, 1.5)
