"""Adam on the flat parameter vector is Adam on each parameter, with gradients zeroed, not None."""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn

from fieldlab.errors import TrainingError
from fieldlab.models import GraphSpec, build_graph, build_model
from fieldlab.training.flat_parameters import FlatParameters


def _egnn_and_batches(seed: int = 0) -> tuple[nn.Module, list[tuple[torch.Tensor, ...]]]:
    torch.manual_seed(seed)
    model = build_model("egnn", dim=3, node_features=1, hidden=16, layers=2)
    gen = torch.Generator().manual_seed(seed)
    batches = []
    for _ in range(6):
        x, v = torch.randn(8, 5, 3, generator=gen), torch.randn(8, 5, 3, generator=gen)
        q = torch.sign(torch.randn(8, 5, generator=gen))
        batches.append((x, v, q, x + 0.1 * v))
    return model, batches


def _loss(model: nn.Module, x, v, q, y) -> torch.Tensor:
    # position only: the velocity head gets no gradient, which the flat update must handle too
    return ((model(build_graph(x, v, q, GraphSpec())).position - y.reshape(-1, 3)) ** 2).mean()


def _train_reference(model: nn.Module, batches, opt: torch.optim.Optimizer) -> None:
    """torch's Adam on the separate tensors, every gradient zeroed rather than None."""
    for p in model.parameters():
        if p.grad is None:
            p.grad = torch.zeros_like(p)
    for batch in batches:
        opt.zero_grad(set_to_none=False)
        _loss(model, *batch).backward()
        opt.step()


def _train_flat(model: nn.Module, batches, flat: FlatParameters, opt) -> None:
    for batch in batches:
        flat.zero_grad()
        _loss(model, *batch).backward()
        opt.step()


def _adam(params) -> torch.optim.Adam:
    return torch.optim.Adam(params, lr=1e-2, weight_decay=1e-3)


def test_flat_adam_matches_per_parameter_adam_on_an_egnn() -> None:
    model, batches = _egnn_and_batches()
    twin = copy.deepcopy(model)
    _train_reference(twin, batches, _adam(twin.parameters()))

    flat = FlatParameters(model)
    _train_flat(model, batches, flat, _adam([flat.data]))

    for (name, p), q in zip(model.named_parameters(), twin.parameters(), strict=True):
        torch.testing.assert_close(p, q, rtol=1e-5, atol=1e-6, msg=name)
    # every weight moved, so the comparison is not between two untouched copies; those without
    # a gradient (the velocity head) moved by weight decay alone, as with zeroed gradients
    untouched, _ = _egnn_and_batches()
    for p, q in zip(model.parameters(), untouched.parameters(), strict=True):
        assert not torch.equal(p, q)


def test_parameters_and_gradients_stay_views_of_the_flat_buffers() -> None:
    model, batches = _egnn_and_batches()
    flat = FlatParameters(model)
    opt = _adam([flat.data])
    _train_flat(model, batches, flat, opt)
    start, end = flat.data.data_ptr(), flat.data.data_ptr() + flat.data.numel() * 4
    for p in model.parameters():
        assert start <= p.data_ptr() < end
        assert p.grad is not None
        assert p.grad.untyped_storage().data_ptr() == flat.grad.data_ptr()
    # the flat gradient is the concatenation of the parameters' gradients of the last step
    torch.testing.assert_close(
        flat.grad, torch.cat([p.grad.reshape(-1) for p in model.parameters()]), rtol=0, atol=0
    )
    # load_state_dict writes into the views and keeps the sharing
    state = {k: torch.zeros_like(v) for k, v in model.state_dict().items()}
    model.load_state_dict(state)
    assert float(flat.data.abs().sum()) == 0.0


def test_a_per_parameter_adam_checkpoint_resumes_on_the_flat_vector() -> None:
    model, batches = _egnn_and_batches()
    twin = copy.deepcopy(model)
    ref_opt = _adam(twin.parameters())
    _train_reference(twin, batches[:3], ref_opt)
    saved_weights, saved_opt = copy.deepcopy(twin.state_dict()), copy.deepcopy(ref_opt.state_dict())
    _train_reference(twin, batches[3:], ref_opt)

    model.load_state_dict(saved_weights)
    flat = FlatParameters(model)
    opt = _adam([flat.data])
    opt.load_state_dict(flat.flatten_optimizer_state(saved_opt))
    _train_flat(model, batches[3:], flat, opt)
    for p, q in zip(model.parameters(), twin.parameters(), strict=True):
        torch.testing.assert_close(p, q, rtol=1e-5, atol=1e-6)


def test_an_optimizer_state_of_another_model_is_refused() -> None:
    model, _ = _egnn_and_batches()
    other = nn.Linear(3, 3)
    state = _adam(other.parameters()).state_dict()
    n = len(list(model.parameters()))
    with pytest.raises(TrainingError, match=f"has 2 parameters, the model {n}: it belongs to"):
        FlatParameters(model).flatten_optimizer_state(state)


def test_mixed_dtypes_are_refused_with_the_fix() -> None:
    model = nn.Sequential(nn.Linear(2, 2), nn.Linear(2, 2).double())
    with pytest.raises(TrainingError, match="cast the model to one dtype"):
        FlatParameters(model)


def test_parameters_without_optimizer_state_get_zero_moments_at_their_offsets() -> None:
    used, unused = nn.Linear(2, 3), nn.Linear(4, 1)
    model = nn.ModuleList([unused, used])
    opt = _adam(model.parameters())
    used(torch.randn(5, 2)).square().sum().backward()  # unused gets no gradient, hence no state
    opt.step()
    state = opt.state_dict()
    moments = [opt.state[p]["exp_avg"].reshape(-1) for p in used.parameters()]

    flat = FlatParameters(model).flatten_optimizer_state(state)
    exp_avg = flat["state"][0]["exp_avg"]
    assert exp_avg.shape == (5 + 9,)
    assert torch.equal(exp_avg[:5], torch.zeros(5))  # unused: weight (1, 4), bias (1,)
    assert torch.equal(exp_avg[5:], torch.cat(moments))
    assert flat["param_groups"][0]["params"] == [0]
