import pytest
import torch

from jepalab.config import preset
from jepalab.models import WorldModel, build


@pytest.fixture(params=["vector", "spatial"])
def model(request):
    """One latent vector per frame, and a grid of cell tokens (model.variant=spatial): the same surface."""
    torch.manual_seed(0)
    cfg = preset("debug")
    cfg.model.variant = "spatial" if request.param == "spatial" else "base"
    return build(cfg.validate().model).eval()


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


def test_vit_heads_is_a_setting_and_must_divide_the_token_width():
    from jepalab.config import override

    base = override(preset("debug"), ["model.encoder=vit", "model.width=32"])  # tokens 128 wide
    width = 4 * base.model.width
    default = WorldModel(base.model).encoder.backbone.blocks.layers[0].self_attn
    assert default.num_heads == max(1, width // 32)  # 0: one head per 32 channels, as before the setting
    wide = override(base, [f"model.vit_heads={width // 64}"])
    m = WorldModel(wide.model).eval()
    assert m.encoder.backbone.blocks.layers[0].self_attn.head_dim == 64
    assert m.encode(torch.zeros(2, 64, 64, 3, dtype=torch.uint8)).shape == (2, wide.model.latent_dim)
    with pytest.raises(ValueError, match="vit_heads must divide"):
        override(base, [f"model.vit_heads={width - 1}"])


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
    cfg.model.variant = "spatial"
    m = build(cfg.validate().model).eval()
    frames = torch.full((2, 64, 64, 3), 40, dtype=torch.uint8)
    frames[1, :16, :16] = 230  # top-left cell
    z = m.encode(frames).reshape(2, m.cfg.cells, -1)
    moved = (z[1] - z[0]).norm(dim=-1)
    assert moved[0] > 3 * moved[-1], moved


def test_spatial_needs_the_cnn_and_whole_cells():
    from jepalab.config import override

    for bad, why in (
        (["model.variant=spatial", "model.encoder=vit"], "cnn encoder"),
        (["model.variant=spatial", "model.senses=proprio", "model.proprio_dim=2"], "goes with model.variant=senses"),
        (["model.variant=spatial", "model.latent_dim=60"], "multiple of the 16 cells"),
    ):
        with pytest.raises(ValueError, match=why):
            override(preset("debug"), bad).validate()


def _appearance_model() -> WorldModel:
    from jepalab.config import override

    torch.manual_seed(0)
    return build(override(preset("debug"), ["model.variant=appearance"]).validate().model).eval()


def _scene(x: int, color=(230, 80, 60)) -> torch.Tensor:
    frame = torch.full((64, 64, 3), 40, dtype=torch.uint8)
    frame[20:28, x : x + 8] = torch.tensor(color, dtype=torch.uint8)
    return frame


def test_appearance_part_holds_what_shows_not_where():
    """Moving an object (by the pathway's stride) leaves the appearance part as it was; recolouring or
    reshaping it, or hiding it, moves the part; the frame's own part sees the move."""
    m = _appearance_model()
    K = m.cfg.latent_dim // 8
    box, moved, recoloured = _scene(12), _scene(36), _scene(12, (70, 170, 240))
    ball = _scene(12)
    ball[20:22, 12:14] = ball[20:22, 18:20] = ball[26:28, 12:14] = ball[26:28, 18:20] = 40  # corners cut off
    hidden = torch.full((64, 64, 3), 40, dtype=torch.uint8)
    z = m.encode(torch.stack([box, moved, recoloured, ball, hidden]))
    look, place = z[:, -K:], z[:, :-K]
    assert torch.allclose(look[0], look[1], atol=1e-5)
    assert (place[0] - place[1]).norm() > 0.1
    for other in (2, 3, 4):
        assert (look[0] - look[other]).norm() > 1e-3, other


def test_predictor_expects_what_went_out_of_sight_back():
    """With its readout at zero the predictor's forecast is its base: the newest latent for the frame's
    part and the most of each pattern over the context for the appearance part, so an object hidden in
    the newest frame is still expected to look as it did."""
    m = _appearance_model()
    K, H = m.cfg.latent_dim // 8, m.cfg.history
    torch.nn.init.zeros_(m.predictor.out.weight)
    torch.nn.init.zeros_(m.predictor.out.bias)
    hidden = torch.full((64, 64, 3), 40, dtype=torch.uint8)
    frames = torch.stack([_scene(8 + 4 * t) for t in range(H - 1)] + [hidden])[None]
    with torch.no_grad():
        z = m.encode(frames)
        pred = m.predict(z, torch.zeros(1, H, m.model_action_dim))[0, -1]
    assert torch.equal(pred[:-K], z[0, -1, :-K])
    assert torch.equal(pred[-K:], z[0, :, -K:].amax(0))
    assert not torch.equal(pred[-K:], z[0, -1, -K:])


def test_one_named_variant_and_the_settings_it_takes():
    """model.variant is one setting (it replaced three flags; a config written with them still loads, and
    --set with an old flag says what it is now)."""
    from jepalab.config import RunConfig, override

    with pytest.raises(ValueError, match="goes with model.variant=senses .*the preset's variant is appearance"):
        override(preset("bounce"), ["model.senses=audio"]).validate()
    assert override(preset("bounce"), ["model.senses=audio", "model.variant=senses"]).model.variant == "senses"
    with pytest.raises(ValueError, match="model.appearance is now model.variant=appearance"):
        override(preset("debug"), ["model.appearance=true"])
    old = preset("debug").to_dict()
    old["model"] = {k: v for k, v in old["model"].items() if k != "variant"}
    flags = {**old["model"], "appearance": True, "spatial": False}
    assert RunConfig.from_dict({**old, "model": flags}).model.variant == "appearance"
    senses = {**old["model"], "senses": "proprio", "proprio_dim": 2}
    assert RunConfig.from_dict({**old, "model": senses}).model.variant == "senses"
    with pytest.raises(ValueError, match="is not a WorldModel: build it with jepalab.models.build"):
        WorldModel(override(preset("debug"), ["model.variant=spatial"]).model)


def test_memory_bridges_an_occlusion_longer_than_the_history():
    """The appearance part remembers a look over the whole clip when the caller hands the rollout its
    memory: an object hidden for longer than the history is expected back as it was, so coming back
    unchanged costs that part nothing and coming back recoloured does."""
    m = _appearance_model()
    K, H = m.cfg.latent_dim // 8, m.cfg.history
    torch.nn.init.zeros_(m.predictor.out.weight)
    torch.nn.init.zeros_(m.predictor.out.bias)
    hidden = torch.full((64, 64, 3), 40, dtype=torch.uint8)
    with torch.no_grad():
        seen, back, recoloured = m.encode(torch.stack([_scene(8), _scene(40), _scene(40, (70, 170, 240))]))
        ctx = m.encode(torch.stack([hidden] * H))[None]  # every frame of the window hides it
        zeros = torch.zeros(1, H - 1, m.model_action_dim), torch.zeros(1, 1, m.model_action_dim)
        forgetful = m.rollout(ctx, *zeros)[0, 0, -K:]
        remembering = m.rollout(ctx, *zeros, memory=seen[None, -K:])[0, 0, -K:]
    assert torch.equal(forgetful, ctx[0, -1, -K:])
    assert torch.allclose(remembering, torch.maximum(seen[-K:], ctx[0, -1, -K:]))
    assert (remembering - back[-K:]).pow(2).mean() < 1e-10
    assert (remembering - recoloured[-K:]).pow(2).mean() > 1e-3


def test_a_config_builds_its_variant_around_the_base():
    """Optional parts are subclasses in modules of their own; models.build(cfg) picks the one
    model.variant names, and each keeps the base's parts under the base's names (checkpoints load across
    versions)."""
    import copy

    from jepalab.config import override
    from jepalab.models.appearance import AppearanceWorldModel
    from jepalab.models.senses import SensesWorldModel
    from jepalab.models.spatial import SpatialWorldModel

    base = set(WorldModel(preset("debug").model).state_dict())
    for sets, kind in (
        (["model.variant=appearance"], AppearanceWorldModel),
        (["model.variant=spatial"], SpatialWorldModel),
        (["model.variant=senses", "model.senses=proprio", "model.proprio_dim=3"], SensesWorldModel),
    ):
        m = build(override(preset("debug"), sets).validate().model)
        assert type(m) is kind and base <= set(m.state_dict()), sets
        twin = copy.deepcopy(m)  # copies and pickles rebuild the variant, not the base
        assert type(twin) is kind and all(torch.equal(a, b) for a, b in zip(m.parameters(), twin.parameters()))
    assert type(build(preset("debug").model)) is WorldModel


def test_the_untrained_twin_keeps_only_what_training_never_changes():
    from jepalab.config import override

    torch.manual_seed(0)
    m = WorldModel(override(preset("debug"), ["model.freeze_encoder=true"]).validate().model)
    twin = m.fresh_copy()
    mine, theirs = m.state_dict(), twin.state_dict()
    assert all(torch.equal(mine[k], theirs[k]) for k in mine if k.startswith("encoder."))  # frozen: kept
    assert not all(torch.equal(mine[k], theirs[k]) for k in mine if k.startswith("predictor."))  # trained: new


def test_frames_in_every_convention_are_converted_by_rule_or_refused():
    """uint8 0-255 as is; float 0-1 (LeRobot, torchvision) converted; numpy and channels-first taken;
    float 0-255 refused rather than rescaled by guess; a wrong action size named."""
    import numpy as np

    from jepalab.config import preset

    model = WorldModel(preset("debug").model).eval()
    frames = torch.randint(0, 256, (2, 64, 64, 3), dtype=torch.uint8)
    frames[0, 0, 0] = torch.tensor([0, 255, 7], dtype=torch.uint8)
    with torch.no_grad():
        z = model.encode(frames)
        assert torch.equal(model.encode(frames.numpy()), z)
        assert torch.equal(model.encode(frames.permute(0, 3, 1, 2)), z)  # channels first
        assert torch.equal(model.encode(frames.float() / 255), z)  # 0-1 floats, exactly the same frames
        assert torch.equal(model.encode({"pixels": frames.numpy().astype(np.float32) / 255}), z)
    with pytest.raises(
        ValueError,
        match=r"float frames are read as 0-1.*values in \[0, 255\]: pass 0-255 frames as "
        r"uint8",
    ):
        model.encode(frames.float())  # 0-255 floats: refused, not rescaled by guess
    with pytest.raises(ValueError, match="must be uint8 .* got torch.int64"):
        model.encode(frames.long())
    with pytest.raises(TypeError, match="numpy array or a torch tensor, got list"):
        model.encode([[1, 2, 3]])
    z_hist = z[:, None]
    with pytest.raises(
        ValueError,
        match=r"actions have 3 numbers per model step; this model takes 4 "
        r"\(model.action_dim 2 x model.frameskip 2",
    ):
        model.predict(z_hist, torch.zeros(2, 1, 3))
