"""XML core: no Flask, no database. Safe parsing, schemas, signatures, demo PKI."""
