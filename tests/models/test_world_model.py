import pytest
import torch

from jepalab.config import preset
from jepalab.models import WorldModel


@pytest.fixture(params=["vector", "spatial"])
def model(request):
    """One latent vector per frame, and a grid of cell tokens (model.spatial): the same surface."""
    torch.manual_seed(0)
    cfg = preset("debug")
    cfg.model.spatial = request.param == "spatial"
    return WorldModel(cfg.validate().model).eval()


def test_shapes(model):
    cfg = model.cfg
    frames = torch.randint(0, 255, (3, 4, 64, 64, 3), dtype=torch.uint8)
    z = model.encode(frames)
    assert z.shape == (3, 4, cfg.latent_dim)
    acts = torch.randn(3, cfg.history, model.model_action_dim)
    assert model.predict(z[:, : cfg.history], acts).shape == (3, cfg.history, cfg.latent_dim)
    out = model.rollout(z[:, :1], torch.zeros(3, 0, model.model_action_dim), torch.randn(3, 5, model.model_action_dim))
    assert out.shape == (3, 5, cfg.latent_dim)


def test_rollout_feeds_predictions_back(model):
    A = model.model_action_dim
    z0 = torch.randn(2, 1, model.cfg.latent_dim)
    acts = torch.randn(2, 2, A)
    with torch.no_grad():
        out = model.rollout(z0, torch.zeros(2, 0, A), acts)
        first = model.predict(z0, acts[:, :1])[:, -1]
        second = model.predict(torch.stack([z0[:, 0], first], 1), acts)[:, -1]
    assert torch.allclose(out[:, 0], first, atol=1e-5) and torch.allclose(out[:, 1], second, atol=1e-5)


def test_predictor_is_causal(model):
    torch.manual_seed(1)
    z = torch.randn(2, model.cfg.history, model.cfg.latent_dim)
    a = torch.randn(2, model.cfg.history, model.model_action_dim)
    # make the action conditioning non-trivial (AdaLN-zero starts as identity)
    for block in model.predictor.blocks:
        torch.nn.init.normal_(block.ada.weight, std=0.1)
    with torch.no_grad():
        base = model.predict(z, a)
        z2, a2 = z.clone(), a.clone()
        z2[:, -1] += 1.0
        a2[:, -1] += 1.0
        changed = model.predict(z2, a2)
    assert torch.allclose(base[:, :-1], changed[:, :-1], atol=1e-6)
    assert not torch.allclose(base[:, -1], changed[:, -1])


def test_actions_change_predictions_once_trained_weights_are_nonzero(model):
    for block in model.predictor.blocks:
        torch.nn.init.normal_(block.ada.weight, std=0.1)
    z = torch.randn(4, 1, model.cfg.latent_dim)
    with torch.no_grad():
        a = model.predict(z, torch.zeros(4, 1, model.model_action_dim))
        b = model.predict(z, torch.ones(4, 1, model.model_action_dim))
    assert (a - b).abs().max() > 1e-3


def test_wrong_image_size_is_refused(model):
    with pytest.raises(ValueError, match=r"expects frames of shape \(\.\.\., 64, 64, 3\), got \(2, 32, 32, 3\)"):
        model.encode(torch.zeros(2, 32, 32, 3, dtype=torch.uint8))


def test_vit_encoder_builds_and_runs():
    cfg = preset("debug").model
    cfg.encoder = "vit"
    m = WorldModel(cfg).eval()
    assert m.encode(torch.zeros(2, 64, 64, 3, dtype=torch.uint8)).shape == (2, cfg.latent_dim)


def test_single_token_shortcut_matches_attention(model):
    torch.manual_seed(2)
    for block in model.predictor.blocks:
        torch.nn.init.normal_(block.ada.weight, std=0.1)
    z, a = torch.randn(3, 1, model.cfg.latent_dim), torch.randn(3, 1, model.model_action_dim)
    with torch.no_grad():
        fast = model.predict(z, a)
        z2 = torch.cat([z, torch.randn_like(z)], 1)  # two tokens take the attention path; token 0 sees only itself
        slow = model.predict(z2, torch.cat([a, a], 1))[:, :1]
    assert torch.allclose(fast, slow, atol=1e-5)


def test_spatial_latent_keeps_a_cells_content_in_that_cells_token():
    """A change in one corner of the frame moves that corner's token more than the opposite one's."""
    torch.manual_seed(0)
    cfg = preset("debug")
    cfg.model.spatial = True
    m = WorldModel(cfg.validate().model).eval()
    frames = torch.full((2, 64, 64, 3), 40, dtype=torch.uint8)
    frames[1, :16, :16] = 230  # top-left cell
    z = m.encode(frames).reshape(2, m.cfg.cells, -1)
    moved = (z[1] - z[0]).norm(dim=-1)
    assert moved[0] > 3 * moved[-1], moved


def test_spatial_needs_the_cnn_and_whole_cells():
    from jepalab.config import override
    for bad, why in ((["model.spatial=true", "model.encoder=vit"], "cnn encoder"),
                     (["model.spatial=true", "model.senses=proprio", "model.proprio_dim=2"], "frames only"),
                     (["model.spatial=true", "model.latent_dim=60"], "multiple of the 16 cells")):
        with pytest.raises(ValueError, match=why):
            override(preset("debug"), bad).validate()
