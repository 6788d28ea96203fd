package io.countersign.wire.pg;

import io.countersign.wire.spi.AgentCredential;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.HexFormat;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import javax.crypto.Mac;
import javax.crypto.SecretKeyFactory;
import javax.crypto.spec.PBEKeySpec;
import javax.crypto.spec.SecretKeySpec;

/** SCRAM-SHA-256 (RFC 5802 / RFC 7677) primitives, and MD5 password hashing as PostgreSQL does it. */
final class Scram {

    static final SecureRandom RANDOM = new SecureRandom();
    static final int DEFAULT_ITERATIONS = 4096;
    /** Verifiers derived from configured clear passwords: PBKDF2 is costly, so derive once per password. */
    private static final Map<String, AgentCredential.ScramSha256> DERIVED = new ConcurrentHashMap<>();
    /** Salted passwords for Countersign's own backend logins, by salt, iterations and password. */
    private static final Map<String, byte[]> CLIENT_SALTED = new ConcurrentHashMap<>();

    private Scram() {}

    static AgentCredential.ScramSha256 verifier(AgentCredential credential) {
        return switch (credential) {
            case AgentCredential.ScramSha256 v -> v;
            case AgentCredential.Password p -> DERIVED.computeIfAbsent(p.password(), pw -> {
                byte[] salt = new byte[16];
                RANDOM.nextBytes(salt);
                return fromPassword(pw, salt, DEFAULT_ITERATIONS);
            });
            case AgentCredential.BearerToken t -> null; // never reached: token agents are asked for their token
        };
    }

    static AgentCredential.ScramSha256 fromPassword(String password, byte[] salt, int iterations) {
        byte[] salted = saltedPassword(password, salt, iterations);
        byte[] clientKey = hmac(salted, "Client Key");
        return new AgentCredential.ScramSha256(salt, iterations, sha256(clientKey), hmac(salted, "Server Key"));
    }

    static byte[] saltedPassword(String password, byte[] salt, int iterations) {
        try {
            SecretKeyFactory f = SecretKeyFactory.getInstance("PBKDF2WithHmacSHA256");
            return f.generateSecret(new PBEKeySpec(password.toCharArray(), salt, iterations, 256)).getEncoded();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("PBKDF2WithHmacSHA256 unavailable", e);
        }
    }

    static byte[] hmac(byte[] key, String data) {
        return hmac(key, data.getBytes(StandardCharsets.UTF_8));
    }

    static byte[] hmac(byte[] key, byte[] data) {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(key, "HmacSHA256"));
            return mac.doFinal(data);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("HmacSHA256 unavailable", e);
        }
    }

    static byte[] sha256(byte[] data) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(data);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }

    static String nonce() {
        byte[] n = new byte[18];
        RANDOM.nextBytes(n);
        return Base64.getEncoder().encodeToString(n);
    }

    static byte[] xor(byte[] a, byte[] b) {
        byte[] r = new byte[a.length];
        for (int i = 0; i < a.length; i++) {
            r[i] = (byte) (a[i] ^ b[i]);
        }
        return r;
    }

    /** PostgreSQL's MD5 response: "md5" + md5hex(md5hex(password + user) + salt). */
    static String md5Response(String user, String password, byte[] salt) {
        try {
            MessageDigest md = MessageDigest.getInstance("MD5");
            String inner = HexFormat.of().formatHex(md.digest((password + user).getBytes(StandardCharsets.UTF_8)));
            md.update(inner.getBytes(StandardCharsets.US_ASCII));
            md.update(salt);
            return "md5" + HexFormat.of().formatHex(md.digest());
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Value of attribute {@code name} ("r", "s", ...) in a SCRAM message, or null. */
    static String attribute(String message, char name) {
        for (String part : message.split(",")) {
            if (part.length() >= 2 && part.charAt(0) == name && part.charAt(1) == '=') {
                return part.substring(2);
            }
        }
        return null;
    }

    /** Server side of one SCRAM-SHA-256 exchange. A null verifier runs a fake exchange that always fails. */
    static final class Server {
        private final AgentCredential.ScramSha256 verifier;
        private final byte[] fakeSalt;
        private String clientFirstBare;
        private String serverFirst;
        private String nonce;
        private String gs2Header;

        Server(AgentCredential.ScramSha256 verifier, byte[] fakeSalt) {
            this.verifier = verifier;
            this.fakeSalt = fakeSalt;
        }

        /** Handles client-first-message; returns server-first-message, or null when malformed. */
        String first(String clientFirst) {
            // gs2-header: "n,," or "y,," (no channel binding); "p=" asks for binding we did not offer.
            if (!(clientFirst.startsWith("n,") || clientFirst.startsWith("y,"))) {
                return null;
            }
            int second = clientFirst.indexOf(',', 2);
            if (second < 0) {
                return null;
            }
            gs2Header = clientFirst.substring(0, second + 1);
            clientFirstBare = clientFirst.substring(second + 1);
            String clientNonce = attribute(clientFirstBare, 'r');
            if (clientNonce == null || clientNonce.isEmpty()) {
                return null;
            }
            nonce = clientNonce + nonce();
            byte[] salt = verifier != null ? verifier.salt() : fakeSalt;
            int iterations = verifier != null ? verifier.iterations() : DEFAULT_ITERATIONS;
            serverFirst = "r=" + nonce + ",s=" + Base64.getEncoder().encodeToString(salt) + ",i=" + iterations;
            return serverFirst;
        }

        /** Handles client-final-message; returns server-final-message when the proof is right, else null. */
        String last(String clientFinal) {
            int proofAt = clientFinal.lastIndexOf(",p=");
            if (proofAt < 0 || verifier == null) {
                return null;
            }
            String withoutProof = clientFinal.substring(0, proofAt);
            String channelBinding = attribute(withoutProof, 'c');
            String finalNonce = attribute(withoutProof, 'r');
            String expectedBinding = Base64.getEncoder().encodeToString(gs2Header.getBytes(StandardCharsets.UTF_8));
            if (!expectedBinding.equals(channelBinding) || !nonce.equals(finalNonce)) {
                return null;
            }
            byte[] proof;
            try {
                proof = Base64.getDecoder().decode(clientFinal.substring(proofAt + 3));
            } catch (IllegalArgumentException e) {
                return null;
            }
            String authMessage = clientFirstBare + "," + serverFirst + "," + withoutProof;
            byte[] clientSignature = hmac(verifier.storedKey(), authMessage);
            if (proof.length != clientSignature.length) {
                return null;
            }
            byte[] clientKey = xor(proof, clientSignature);
            if (!MessageDigest.isEqual(sha256(clientKey), verifier.storedKey())) {
                return null;
            }
            return "v=" + Base64.getEncoder().encodeToString(hmac(verifier.serverKey(), authMessage));
        }
    }

    /** Client side, for Countersign's own login to a backend. */
    static final class Client {
        private final String password;
        private final String clientNonce = nonce();
        private String clientFirstBare;
        private byte[] serverSignature;

        Client(String password) {
            this.password = password;
        }

        byte[] first() {
            clientFirstBare = "n=,r=" + clientNonce;
            return ("n,," + clientFirstBare).getBytes(StandardCharsets.UTF_8);
        }

        /** Returns client-final-message, or throws when the server's message is unusable. */
        byte[] last(String serverFirst) {
            String nonce = attribute(serverFirst, 'r');
            String salt = attribute(serverFirst, 's');
            String iterations = attribute(serverFirst, 'i');
            if (nonce == null || salt == null || iterations == null || !nonce.startsWith(clientNonce)) {
                throw new IllegalStateException("malformed SCRAM server-first-message");
            }
            // A backend role's salt and iteration count are fixed, so PBKDF2 runs once per role rather
            // than once per connection (it costs milliseconds of event-loop time).
            byte[] salted = CLIENT_SALTED.computeIfAbsent(salt + "$" + iterations + "$" + password,
                    k -> saltedPassword(password, Base64.getDecoder().decode(salt), Integer.parseInt(iterations)));
            byte[] clientKey = hmac(salted, "Client Key");
            byte[] storedKey = sha256(clientKey);
            String withoutProof = "c=biws,r=" + nonce;
            String authMessage = clientFirstBare + "," + serverFirst + "," + withoutProof;
            byte[] proof = xor(clientKey, hmac(storedKey, authMessage));
            serverSignature = hmac(hmac(salted, "Server Key"), authMessage);
            return (withoutProof + ",p=" + Base64.getEncoder().encodeToString(proof)).getBytes(StandardCharsets.UTF_8);
        }

        boolean verify(String serverFinal) {
            String v = attribute(serverFinal, 'v');
            return v != null && MessageDigest.isEqual(Base64.getDecoder().decode(v), serverSignature);
        }
    }
}
