"""NASLib's step-level optimiser interface (``adapt_search_space`` / ``new_epoch`` / ``step`` /
``get_final_architecture``) over dnas' search engine: :class:`DARTSOptimizer`,
:class:`DrNASOptimizer`, :class:`GDASOptimizer`."""

from dnas.naslib.optimizers import DARTSOptimizer, DrNASOptimizer, GDASOptimizer

__all__ = ["DARTSOptimizer", "DrNASOptimizer", "GDASOptimizer"]
