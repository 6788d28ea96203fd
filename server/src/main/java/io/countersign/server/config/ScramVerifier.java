package io.countersign.server.config;

import io.countersign.wire.spi.AgentCredential;
import java.util.Base64;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Reads a SCRAM-SHA-256 verifier in the form PostgreSQL keeps in pg_authid.rolpassword. */
public final class ScramVerifier {

    private static final Pattern FORM = Pattern.compile("SCRAM-SHA-256\\$(\\d+):([^$]+)\\$([^:]+):(.+)");
    private static final String EXPECTED = "expected SCRAM-SHA-256$<iterations>:<salt>$<storedkey>:<serverkey> "
            + "with base64 salt and 32-byte base64 keys (as in pg_authid.rolpassword)";

    private ScramVerifier() {}

    public static AgentCredential.ScramSha256 parse(String verifier) {
        Matcher m = FORM.matcher(verifier.trim());
        if (!m.matches()) {
            throw new IllegalArgumentException("not a SCRAM-SHA-256 verifier; " + EXPECTED);
        }
        int iterations;
        try {
            iterations = Integer.parseInt(m.group(1));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("iteration count " + m.group(1) + " is too large; " + EXPECTED);
        }
        if (iterations < 1) {
            throw new IllegalArgumentException("iteration count must be positive; " + EXPECTED);
        }
        byte[] salt = base64(m.group(2), "salt");
        byte[] storedKey = base64(m.group(3), "stored key");
        byte[] serverKey = base64(m.group(4), "server key");
        if (storedKey.length != 32 || serverKey.length != 32) {
            throw new IllegalArgumentException("stored and server keys must be 32 bytes each (SHA-256); " + EXPECTED);
        }
        return new AgentCredential.ScramSha256(salt, iterations, storedKey, serverKey);
    }

    /**
     * Computes a verifier for {@code password} the way PostgreSQL does (RFC 5802/7677 with SHA-256).
     * Passwords are normalized with Unicode NFKC, the core of SASLprep, so ASCII passwords (and most
     * others) give exactly what PostgreSQL would store.
     */
    public static String create(String password, byte[] salt, int iterations) {
        try {
            String normalized = java.text.Normalizer.normalize(password, java.text.Normalizer.Form.NFKC);
            var spec = new javax.crypto.spec.PBEKeySpec(normalized.toCharArray(), salt, iterations, 256);
            byte[] salted = javax.crypto.SecretKeyFactory.getInstance("PBKDF2WithHmacSHA256").generateSecret(spec).getEncoded();
            byte[] clientKey = hmac(salted, "Client Key");
            byte[] storedKey = java.security.MessageDigest.getInstance("SHA-256").digest(clientKey);
            byte[] serverKey = hmac(salted, "Server Key");
            Base64.Encoder b64 = Base64.getEncoder();
            return "SCRAM-SHA-256$" + iterations + ":" + b64.encodeToString(salt) + "$"
                    + b64.encodeToString(storedKey) + ":" + b64.encodeToString(serverKey);
        } catch (java.security.GeneralSecurityException e) {
            throw new IllegalStateException("this JDK lacks PBKDF2WithHmacSHA256 or HmacSHA256: " + e.getMessage(), e);
        }
    }

    /** A verifier with a fresh random 16-byte salt and PostgreSQL's default 4096 iterations (or more). */
    public static String create(String password, int iterations) {
        byte[] salt = new byte[16];
        new java.security.SecureRandom().nextBytes(salt);
        return create(password, salt, iterations);
    }

    private static byte[] hmac(byte[] key, String message) throws java.security.GeneralSecurityException {
        javax.crypto.Mac mac = javax.crypto.Mac.getInstance("HmacSHA256");
        mac.init(new javax.crypto.spec.SecretKeySpec(key, "HmacSHA256"));
        return mac.doFinal(message.getBytes(java.nio.charset.StandardCharsets.UTF_8));
    }

    private static byte[] base64(String text, String what) {
        try {
            return Base64.getDecoder().decode(text);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("the " + what + " is not valid base64; " + EXPECTED);
        }
    }
}
