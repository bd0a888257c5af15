"""The native dataset format: writer, reader, schema, and the Ego4View export profile."""
