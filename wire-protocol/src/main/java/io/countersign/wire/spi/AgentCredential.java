package io.countersign.wire.spi;

/**
 * How an agent proves who it is to Countersign. Passwords are kept as verifiers where the
 * mechanism allows it, never in clear text.
 */
public sealed interface AgentCredential {

    /** SCRAM-SHA-256 verifier (RFC 7677), as PostgreSQL stores it in pg_authid. */
    record ScramSha256(byte[] salt, int iterations, byte[] storedKey, byte[] serverKey) implements AgentCredential {

        /**
         * Parses a verifier in PostgreSQL's text form, as in pg_authid.rolpassword:
         * {@code SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>} (base64 parts).
         *
         * @throws IllegalArgumentException naming what is wrong with the text
         */
        public static ScramSha256 parse(String verifier) {
            java.util.regex.Matcher m = java.util.regex.Pattern
                    .compile("SCRAM-SHA-256\\$(\\d+):([A-Za-z0-9+/=]+)\\$([A-Za-z0-9+/=]+):([A-Za-z0-9+/=]+)")
                    .matcher(verifier == null ? "" : verifier.trim());
            if (!m.matches()) {
                throw new IllegalArgumentException("not a SCRAM-SHA-256 verifier: expected "
                        + "SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey> as PostgreSQL stores it in pg_authid");
            }
            java.util.Base64.Decoder b64 = java.util.Base64.getDecoder();
            byte[] stored = b64.decode(m.group(3));
            byte[] server = b64.decode(m.group(4));
            if (stored.length != 32 || server.length != 32) {
                throw new IllegalArgumentException("SCRAM-SHA-256 verifier keys must be 32 bytes, got "
                        + stored.length + " and " + server.length);
            }
            return new ScramSha256(b64.decode(m.group(2)), Integer.parseInt(m.group(1)), stored, server);
        }
    }

    /**
     * A clear password from the config, usable for every mechanism (SCRAM-SHA-256, MD5, cleartext
     * over TLS, MySQL caching_sha2_password and mysql_native_password). Which mechanisms are offered
     * is the listener's configuration, not the credential's.
     */
    record Password(String password) implements AgentCredential {}

    /**
     * The agent authenticates with a bearer token (a JWT from the company's identity provider) sent
     * where a password would go; {@code verifier} decides. The session asks the client for the
     * token in clear (PostgreSQL AuthenticationCleartextPassword, MySQL mysql_clear_password), so
     * listeners require TLS for such agents unless configured otherwise.
     */
    record BearerToken(TokenVerifier verifier, boolean plaintextOnLoopback) implements AgentCredential {

        /**
         * Whether the token may be sent by a client on {@code remote} over a connection with or
         * without TLS: always with TLS; without it only from a loopback address, and only when
         * {@code plaintextOnLoopback} (a token in clear on a network is a stolen token).
         */
        public boolean acceptsTransport(boolean tls, java.net.SocketAddress remote) {
            return tls || plaintextOnLoopback && remote instanceof java.net.InetSocketAddress a
                    && a.getAddress() != null && a.getAddress().isLoopbackAddress();
        }
    }
}
