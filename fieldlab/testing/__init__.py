"""Test helpers shipped with the library, used by every model test."""

from fieldlab.testing.equivariance import (
    EquivarianceError,
    assert_equivariant,
    equivariance_error,
    random_orthogonal,
)

__all__ = ["EquivarianceError", "assert_equivariant", "equivariance_error", "random_orthogonal"]
