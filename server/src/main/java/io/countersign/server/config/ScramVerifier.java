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

    private static byte[] base64(String text, String what) {
        try {
            return Base64.getDecoder().decode(text);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("the " + what + " is not valid base64; " + EXPECTED);
        }
    }
}
