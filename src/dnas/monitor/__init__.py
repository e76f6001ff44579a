"""Watching a run: :class:`TensorBoard` writes a search's or a retraining's scalars, α
distributions and cell diagrams for TensorBoard (``pip install 'dnas[tensorboard]'``)."""

from dnas.monitor.board import TensorBoard, entropy

__all__ = ["TensorBoard", "entropy"]
