"""What the operator chose, pure: the answers model, its checks, dom0 memory's rule, TOML file."""
