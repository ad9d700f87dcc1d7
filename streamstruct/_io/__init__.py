"""The I/O shell: body decoding, streams, the client, the connection pool, the sync shim."""
