"""The regressor's stopping rule: the derived architecture has settled, up to ties."""

import math

import torch

from dnas.estimators.selection import StableArchitecture
from dnas.spaces.expression import ExpressionNetwork


class _Searcher:
    def __init__(self):
        self.history, self.stopped = [], False

    def stop(self):
        self.stopped = True


def _epoch(rule, searcher, net, logits, loss):
    with torch.no_grad():
        net.edges["k1_a_x1"].arch.alpha.copy_(torch.tensor(logits))
    searcher.history.append({"train_loss": loss})
    rule.on_epoch_end(searcher)
    return searcher.stopped


def _net():
    net = ExpressionNetwork(1, primitives=["none", "add", "mult"], node_ops=("add",))
    with torch.no_grad():
        net.edges["k1_a_x1"].arch.alpha.zero_()
    return net


def test_a_flip_between_tied_candidates_is_not_a_change():
    net, searcher = _net(), _Searcher()
    rule = StableArchitecture(net, patience=1, tol=0.0)
    assert not _epoch(rule, searcher, net, [0.0, 0.002, 0.001], 10.0)  # "add" by 0.1%
    assert _epoch(rule, searcher, net, [0.0, 0.001, 0.002], 5.0)  # now "mult" by 0.1%: a tie


def test_a_clear_change_restarts_the_count():
    net, searcher = _net(), _Searcher()
    rule = StableArchitecture(net, patience=1, tol=0.0)
    assert not _epoch(rule, searcher, net, [0.0, 0.5, 0.0], 10.0)
    assert not _epoch(rule, searcher, net, [0.0, 0.0, 0.5], 5.0)  # "mult" wins by 65%
    assert _epoch(rule, searcher, net, [0.0, 0.0, 0.6], 2.0)


def test_drift_past_the_tie_is_a_change():
    """The kept choice is the reference: small steps that add up to a clear lead do count."""
    net, searcher = _net(), _Searcher()
    rule = StableArchitecture(net, patience=2, tol=0.0)
    assert not _epoch(rule, searcher, net, [0.0, 0.004, 0.0], 10.0)
    assert not _epoch(rule, searcher, net, [0.0, 0.0, 0.004], 9.0)  # tie: stable 1
    assert not _epoch(rule, searcher, net, [0.0, 0.0, 0.04], 8.0)  # add now 4% behind: change
    assert not _epoch(rule, searcher, net, [0.0, 0.0, 0.05], 7.0)  # stable 1 of 2
    assert _epoch(rule, searcher, net, [0.0, 0.0, 0.06], 6.0)


def test_a_diverged_loss_stops_at_once():
    net, searcher = _net(), _Searcher()
    rule = StableArchitecture(net, patience=3, tol=0.0)
    assert _epoch(rule, searcher, net, [0.0, 1.0, 0.0], math.nan)
