"""The pure part of the migration: schema model, type map, T-SQL reader, DDL writer, values."""
