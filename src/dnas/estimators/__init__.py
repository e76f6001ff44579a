"""scikit-learn estimators on the dnas search: :class:`DARTSRegressor` (equation discovery)."""

from dnas.estimators.darts_regressor import DARTSRegressor

__all__ = ["DARTSRegressor"]
