package io.countersign.tracking;

import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.util.HexFormat;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * Turns a key's text into HMAC-SHA256 hex, so the audit can answer "who saw customer 42" (hash 42
 * with the same secret, look it up) without holding customer ids in clear.
 */
public final class KeyHasher {

    private static final String ALGORITHM = "HmacSHA256";

    private final SecretKeySpec secret;
    private final ThreadLocal<Mac> macs;

    public KeyHasher(byte[] secret) {
        if (secret == null || secret.length < 16) {
            throw new IllegalArgumentException("tracking key-hash secret must be at least 16 bytes; "
                    + "generate one with e.g. 'openssl rand -hex 32' and configure it");
        }
        this.secret = new SecretKeySpec(secret.clone(), ALGORITHM);
        this.macs = ThreadLocal.withInitial(this::newMac);
    }

    private Mac newMac() {
        try {
            Mac mac = Mac.getInstance(ALGORITHM);
            mac.init(secret);
            return mac;
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("HmacSHA256 is unavailable in this JDK", e);
        }
    }

    /** Lower-case hex of HMAC-SHA256(secret, UTF-8 of {@code key}). */
    public String hash(String key) {
        Mac mac = macs.get();
        return HexFormat.of().formatHex(mac.doFinal(key.getBytes(StandardCharsets.UTF_8)));
    }
}
