package io.countersign.wire.spi;

/**
 * How an agent proves who it is to Countersign. Passwords are kept as verifiers where the
 * mechanism allows it, never in clear text.
 */
public sealed interface AgentCredential {

    /** SCRAM-SHA-256 verifier (RFC 7677), as PostgreSQL stores it in pg_authid. */
    record ScramSha256(byte[] salt, int iterations, byte[] storedKey, byte[] serverKey) implements AgentCredential {}

    /**
     * A clear password from the config, usable for every mechanism (SCRAM-SHA-256, MD5, cleartext
     * over TLS, MySQL caching_sha2_password and mysql_native_password). Which mechanisms are offered
     * is the listener's configuration, not the credential's.
     */
    record Password(String password) implements AgentCredential {}
}
