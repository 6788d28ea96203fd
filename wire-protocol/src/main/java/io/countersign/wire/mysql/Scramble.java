package io.countersign.wire.mysql;

import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.util.Base64;
import javax.crypto.Cipher;

/** The password proofs of mysql_native_password and caching_sha2_password, and their RSA exchange. */
final class Scramble {

    static final String NATIVE = "mysql_native_password";
    static final String CACHING_SHA2 = "caching_sha2_password";
    private static final SecureRandom RANDOM = new SecureRandom();
    private static final String RSA_OAEP = "RSA/ECB/OAEPWithSHA-1AndMGF1Padding";

    private Scramble() {}

    /** 20 random bytes without NUL (the handshake carries them NUL-terminated). */
    static byte[] nonce() {
        byte[] n = new byte[20];
        RANDOM.nextBytes(n);
        for (int i = 0; i < n.length; i++) {
            n[i] = (byte) ((n[i] & 0x7F) == 0 ? 0x41 : (n[i] & 0x7F));
        }
        return n;
    }

    /** SHA1(password) XOR SHA1(nonce + SHA1(SHA1(password))); empty for an empty password. */
    static byte[] nativeProof(byte[] password, byte[] nonce) {
        if (password.length == 0) {
            return new byte[0];
        }
        byte[] h1 = digest("SHA-1", password);
        byte[] h2 = digest("SHA-1", h1);
        return xor(h1, digest("SHA-1", nonce, h2));
    }

    /** SHA256(password) XOR SHA256(SHA256(SHA256(password)) + nonce); empty for an empty password. */
    static byte[] sha2Proof(byte[] password, byte[] nonce) {
        if (password.length == 0) {
            return new byte[0];
        }
        byte[] h1 = digest("SHA-256", password);
        byte[] h2 = digest("SHA-256", h1);
        return xor(h1, digest("SHA-256", h2, nonce));
    }

    static byte[] sha2Double(byte[] password) {
        return digest("SHA-256", digest("SHA-256", password));
    }

    static byte[] proof(String plugin, byte[] password, byte[] nonce) {
        return CACHING_SHA2.equals(plugin) ? sha2Proof(password, nonce) : nativeProof(password, nonce);
    }

    static boolean matches(byte[] expected, byte[] actual) {
        return MessageDigest.isEqual(expected, actual == null ? new byte[0] : actual);
    }

    /** password + NUL, XOR-ed with the nonce repeated: what caching_sha2 encrypts with the server's key. */
    static byte[] maskedPassword(byte[] password, byte[] nonce) {
        byte[] p = new byte[password.length + 1];
        System.arraycopy(password, 0, p, 0, password.length);
        for (int i = 0; i < p.length; i++) {
            p[i] ^= nonce[i % nonce.length];
        }
        return p;
    }

    static byte[] rsaEncrypt(PublicKey key, byte[] plain) throws GeneralSecurityException {
        Cipher c = Cipher.getInstance(RSA_OAEP);
        c.init(Cipher.ENCRYPT_MODE, key);
        return c.doFinal(plain);
    }

    static byte[] rsaDecrypt(PrivateKey key, byte[] encrypted) throws GeneralSecurityException {
        Cipher c = Cipher.getInstance(RSA_OAEP);
        c.init(Cipher.DECRYPT_MODE, key);
        return c.doFinal(encrypted);
    }

    static String pem(PublicKey key) {
        return "-----BEGIN PUBLIC KEY-----\n"
                + Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII)).encodeToString(key.getEncoded())
                + "\n-----END PUBLIC KEY-----\n";
    }

    static PublicKey parsePem(String pem) throws GeneralSecurityException {
        String body = pem.replaceAll("-----[A-Z ]+-----", "").replaceAll("\\s", "");
        byte[] der = Base64.getDecoder().decode(body);
        return java.security.KeyFactory.getInstance("RSA").generatePublic(new java.security.spec.X509EncodedKeySpec(der));
    }

    private static byte[] xor(byte[] a, byte[] b) {
        byte[] out = new byte[a.length];
        for (int i = 0; i < a.length; i++) {
            out[i] = (byte) (a[i] ^ b[i]);
        }
        return out;
    }

    private static byte[] digest(String algorithm, byte[]... parts) {
        try {
            MessageDigest md = MessageDigest.getInstance(algorithm);
            for (byte[] p : parts) {
                md.update(p);
            }
            return md.digest();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(algorithm + " is missing from this JDK", e);
        }
    }
}
