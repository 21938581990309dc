"""Pure analysis: mobility consistency, merging sessions, linking runs to exposure."""
