"""The wizard's pages (Textual screens), one module per kind; `state` is textual-free."""
