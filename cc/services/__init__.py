"""Use cases. Services own transactions and depend on ports (protocols), never on frameworks."""
