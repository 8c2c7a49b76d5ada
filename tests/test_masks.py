import pytest
import torch

from jepalab.masks import VJEPA_SPECS, MaskSpec, multiblock_masks, sample_block, sample_target_mask


def test_context_and_target_never_overlap_and_stay_in_range():
    grid = (8, 8, 8)
    ctx, tgt = multiblock_masks(16, grid, generator=torch.Generator().manual_seed(0))
    assert ctx.shape[0] == tgt.shape[0] == 16
    n = 8 * 8 * 8
    for c, t in zip(ctx, tgt):
        assert len(set(c.tolist()) & set(t.tolist())) == 0
        assert c.min() >= 0 and t.max() < n
        assert torch.equal(c, c.sort().values) and len(set(c.tolist())) == len(c)


def test_blocks_have_the_configured_size_and_span_time():
    g = torch.Generator().manual_seed(1)
    grid = (4, 16, 16)
    for scale in (0.1, 0.3, 0.6):
        spec = MaskSpec(1, (scale, scale), aspect_ratio=(1.0, 1.0))
        for _ in range(20):
            block = sample_block(grid, spec, g)
            assert block.any(0).equal(block.all(0))  # every frame masks the same rows and columns
            frac = block[0].float().mean().item()
            side = round((scale * 256) ** 0.5)
            assert frac == pytest.approx(side * side / 256)


def test_masked_ratio_matches_vjepa_recipe():
    g = torch.Generator().manual_seed(2)
    ratios = [sample_target_mask((8, 8, 8), VJEPA_SPECS, g).float().mean().item() for _ in range(200)]
    mean = sum(ratios) / len(ratios)
    # two 70% blocks and eight 15% blocks overlap to mask most of the clip, as in V-JEPA (~90%)
    assert 0.75 < mean < 0.97 and min(ratios) > 0.6


def test_short_range_only_masks_less_and_temporal_blocks_are_partial():
    g = torch.Generator().manual_seed(3)
    short = [sample_target_mask((8, 8, 8), (MaskSpec(2, (0.15, 0.15)),), g).float().mean() for _ in range(100)]
    assert 0.1 < sum(short) / 100 < 0.35
    spec = MaskSpec(1, (0.2, 0.2), temporal_scale=(0.5, 0.5))
    block = sample_block((8, 8, 8), spec, g)
    assert block.any((1, 2)).sum() == 4


def test_impossible_specs_are_refused():
    with pytest.raises(ValueError, match="fewer than"):
        sample_target_mask((2, 2, 2), (MaskSpec(4, (1.0, 1.0)),), torch.Generator(), min_context=1)


def test_future_masks_split_time_and_refuse_empty_sides():
    from jepalab.masks import future_masks

    ctx, tgt = future_masks(3, (4, 2, 2), context_steps=1)
    assert ctx.shape == (3, 4) and tgt.shape == (3, 12)
    assert ctx.max() < tgt.min() and torch.equal(torch.cat([ctx[0], tgt[0]]), torch.arange(16))
    for bad in (0, 4):
        with pytest.raises(ValueError, match="context_steps"):
            future_masks(1, (4, 2, 2), bad)
