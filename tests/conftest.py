"""Test-wide settings: one thread (two threads on two busy cores are slower), no progress bars."""

import pytest
import torch


@pytest.fixture(autouse=True, scope="session")
def _single_thread():
    torch.set_num_threads(1)
    yield
