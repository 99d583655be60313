"""MSSQL -> PostgreSQL migration (`stratus migrate`): schema, full load, delta, verify."""
