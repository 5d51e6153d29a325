"""FlatAdam is torch's Adam, bit for bit, with interchangeable state, and loads no compiler."""

from __future__ import annotations

import subprocess
import sys

import pytest
import torch

from fieldlab.training.flat_adam import FlatAdam


def _gradients(n: int, steps: int, seed: int) -> list[torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    return [torch.randn(n, generator=gen, dtype=torch.float64) for _ in range(steps)]


def _run(opt, param: torch.Tensor, grads: list[torch.Tensor], lrs: list[float]) -> None:
    for g, lr in zip(grads, lrs, strict=True):
        opt.param_groups[0]["lr"] = lr
        param.grad = g.clone()
        opt.step()


@pytest.mark.parametrize("weight_decay", [0.0, 1e-3])
def test_matches_torch_adam_exactly(weight_decay: float) -> None:
    start = torch.randn(257, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    grads = _gradients(257, 25, seed=1)
    lrs = [1e-2 * (1 + torch.cos(torch.tensor(k / 25 * torch.pi)).item()) / 2 for k in range(25)]
    ours = start.clone().requires_grad_()
    theirs = start.clone().requires_grad_()
    _run(FlatAdam(ours, lr=1.0, weight_decay=weight_decay), ours, grads, lrs)
    reference = torch.optim.Adam([theirs], lr=1.0, weight_decay=weight_decay, foreach=False)
    _run(reference, theirs, grads, lrs)
    assert torch.equal(ours.detach(), theirs.detach())
    assert not torch.equal(ours.detach(), start)


def test_state_dicts_interchange_with_torch_adam() -> None:
    """Stop after 10 steps, save, restore into the other optimizer, go on: the same weights as
    an uninterrupted run, either way round."""
    start = torch.randn(64, dtype=torch.float64, generator=torch.Generator().manual_seed(2))
    grads = _gradients(64, 20, seed=3)
    lrs = [3e-3] * 20
    whole = start.clone().requires_grad_()
    _run(torch.optim.Adam([whole], lr=1.0, foreach=False), whole, grads, lrs)

    for first, second in ((FlatAdam, torch.optim.Adam), (torch.optim.Adam, FlatAdam)):
        p = start.clone().requires_grad_()
        opt = FlatAdam(p, lr=1.0) if first is FlatAdam else torch.optim.Adam([p], lr=1.0)
        _run(opt, p, grads[:10], lrs[:10])
        saved = opt.state_dict()
        q = p.detach().clone().requires_grad_()
        other = FlatAdam(q, lr=1.0) if second is FlatAdam else torch.optim.Adam([q], lr=1.0)
        other.load_state_dict(saved)
        _run(other, q, grads[10:], lrs[10:])
        assert torch.equal(q.detach(), whole.detach()), (first.__name__, second.__name__)


def test_state_dict_is_a_copy_and_layout_matches() -> None:
    p = torch.zeros(5, requires_grad=True)
    opt = FlatAdam(p, lr=0.1)
    assert opt.state_dict()["state"] == {}
    p.grad = torch.ones(5)
    opt.step()
    saved = opt.state_dict()
    reference = torch.optim.Adam([torch.zeros(5, requires_grad=True)], lr=0.1, foreach=False)
    assert set(saved["param_groups"][0]) == set(reference.state_dict()["param_groups"][0])
    assert set(saved["state"][0]) == {"step", "exp_avg", "exp_avg_sq"}
    saved["state"][0]["exp_avg"].zero_()
    assert opt.state[0]["exp_avg"].abs().sum() > 0


def test_clear_errors() -> None:
    with pytest.raises(ValueError, match="one vector"):
        FlatAdam(torch.zeros(2, 2), lr=0.1)
    opt = FlatAdam(torch.zeros(3, requires_grad=True), lr=0.1)
    with pytest.raises(RuntimeError, match="backward"):
        opt.step()
    amsgrad = torch.optim.Adam([torch.zeros(3, requires_grad=True)], lr=0.1, amsgrad=True)
    with pytest.raises(ValueError, match="AMSGrad"):
        opt.load_state_dict(amsgrad.state_dict())


def test_training_steps_do_not_import_the_compiler() -> None:
    """torch.optim's Optimizer imports torch._dynamo (about 0.8 s) on its first step."""
    code = (
        "import sys, torch\n"
        "from fieldlab.training.flat_adam import FlatAdam\n"
        "p = torch.zeros(4, requires_grad=True)\n"
        "opt = FlatAdam(p, lr=0.1)\n"
        "p.grad = torch.ones(4)\n"
        "opt.step(); opt.load_state_dict(opt.state_dict())\n"
        "print('torch._dynamo' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
