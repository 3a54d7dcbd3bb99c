"""Local stand-ins for the vendors Firebreak talks to, for drills and tests: each speaks the
vendor's documented API and records what it receives."""
