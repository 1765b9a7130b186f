"""The contenders the cost appendix times: the paper's DropBlock, and the references compared or skipped."""

import torch

from spatialdrop_edu.analysis.contenders import contenders, dropblock_paper


def test_paper_dropblock_zeroes_whole_blocks_and_keeps_the_mean():
    torch.manual_seed(0)
    x = torch.ones(8, 4, 20, 20)
    y = dropblock_paper(x, 0.2, block_size=3)
    dropped = (y == 0).float()
    # every zero lies in a 3x3 block of zeros: eroding then dilating the zero mask gives it back
    eroded = -torch.nn.functional.max_pool2d(-dropped, 3, 1, 1)
    opened = torch.nn.functional.max_pool2d(eroded, 3, 1, 1)
    assert torch.equal(opened * dropped, dropped) and dropped.any()
    assert abs(float(y.mean()) - 1.0) < 1e-5  # rescaled by count / count_ones over the whole batch


def test_dropblock_references_are_compared_or_skipped_with_a_reason():
    fns, refs, skipped = contenders("DropBlock2d", 0.1)
    assert "paper (Algorithm 1)" in refs
    for name in ("torchvision", "timm"):
        assert (name in refs) != (name in skipped)
        if name in skipped:
            assert skipped[name]
