"""Alert intake: payload parsers, signature checks, routing and the receiver service."""
