"""Operations over a board and its state: validate, reconcile, status, report. Typed results, no rendering."""
