package io.countersign.wire.spi;

/**
 * One parameter value bound to an extended-protocol statement (PostgreSQL Bind, MySQL COM_STMT_EXECUTE).
 *
 * @param typeOid the protocol's type identifier (PostgreSQL type OID, MySQL field type), 0 when unspecified
 * @param binary  whether {@code value} is in the protocol's binary format
 * @param value   the raw value bytes, or {@code null} for SQL NULL; a copy, safe to keep
 * @param text    a human-readable rendering for reviewers and the audit, or {@code null} for SQL NULL
 */
public record BoundParameter(int typeOid, boolean binary, byte[] value, String text) {}
