package io.countersign.audit;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.Signature;
import java.security.spec.PKCS8EncodedKeySpec;
import java.security.spec.X509EncodedKeySpec;
import java.util.Base64;

/**
 * Ed25519 keys for signing the chain head, as PEM files the JDK reads without extra libraries:
 * the private key as PKCS#8 ({@code -----BEGIN PRIVATE KEY-----}), the public key as X.509
 * ({@code -----BEGIN PUBLIC KEY-----}). OpenSSL makes the same pair:
 * {@code openssl genpkey -algorithm ed25519 -out audit.key && openssl pkey -in audit.key -pubout -out audit.pub}.
 */
public final class SigningKeys {
    private SigningKeys() {}

    /** Reads both halves and checks they belong together (a mismatched pair would sign heads nobody can verify). */
    public static KeyPair readKeyPair(Path privatePem, Path publicPem) throws IOException {
        PrivateKey priv;
        try {
            priv = KeyFactory.getInstance("Ed25519").generatePrivate(new PKCS8EncodedKeySpec(pem(privatePem, "PRIVATE KEY")));
        } catch (GeneralSecurityException e) {
            throw new IllegalArgumentException("audit signing key " + privatePem + " is not an Ed25519 PKCS#8 private key ("
                    + e.getMessage() + "); make one with 'openssl genpkey -algorithm ed25519'", e);
        }
        PublicKey pub = readPublicKey(publicPem);
        try {
            Signature s = Signature.getInstance("Ed25519");
            s.initSign(priv);
            byte[] probe = "countersign-audit-key-check".getBytes(StandardCharsets.UTF_8);
            s.update(probe);
            byte[] sig = s.sign();
            s.initVerify(pub);
            s.update(probe);
            if (!s.verify(sig)) {
                throw new IllegalArgumentException("audit public key " + publicPem + " does not belong to private key " + privatePem
                        + "; derive it with 'openssl pkey -in " + privatePem.getFileName() + " -pubout'");
            }
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("Ed25519 is not available in this JDK", e);
        }
        return new KeyPair(pub, priv);
    }

    public static PublicKey readPublicKey(Path publicPem) throws IOException {
        try {
            return KeyFactory.getInstance("Ed25519").generatePublic(new X509EncodedKeySpec(pem(publicPem, "PUBLIC KEY")));
        } catch (GeneralSecurityException e) {
            throw new IllegalArgumentException("audit public key " + publicPem + " is not an Ed25519 X.509 public key ("
                    + e.getMessage() + ")", e);
        }
    }

    /** Generates a new pair and writes it (the private file readable by its owner only). */
    public static KeyPair generate(Path privatePem, Path publicPem) throws IOException {
        KeyPair kp;
        try {
            kp = KeyPairGenerator.getInstance("Ed25519").generateKeyPair();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("Ed25519 is not available in this JDK", e);
        }
        if (Files.exists(privatePem) || Files.exists(publicPem)) {
            throw new IllegalArgumentException("refusing to overwrite existing key file " + (Files.exists(privatePem) ? privatePem : publicPem));
        }
        Files.writeString(privatePem, toPem("PRIVATE KEY", kp.getPrivate().getEncoded()), StandardCharsets.US_ASCII);
        try {
            Files.setPosixFilePermissions(privatePem, PosixFilePermissions.fromString("rw-------"));
        } catch (UnsupportedOperationException ignored) {
            // not a POSIX file system; the operator secures it
        }
        Files.writeString(publicPem, toPem("PUBLIC KEY", kp.getPublic().getEncoded()), StandardCharsets.US_ASCII);
        return kp;
    }

    private static String toPem(String label, byte[] der) {
        return "-----BEGIN " + label + "-----\n" + Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII)).encodeToString(der)
                + "\n-----END " + label + "-----\n";
    }

    private static byte[] pem(Path file, String label) throws IOException {
        String text = Files.readString(file, StandardCharsets.US_ASCII);
        String begin = "-----BEGIN " + label + "-----";
        String end = "-----END " + label + "-----";
        int b = text.indexOf(begin);
        int e = text.indexOf(end);
        if (b < 0 || e < b) {
            throw new IllegalArgumentException(file + " is not a PEM file with a '" + begin + "' block");
        }
        try {
            return Base64.getMimeDecoder().decode(text.substring(b + begin.length(), e));
        } catch (IllegalArgumentException ex) {
            throw new IllegalArgumentException(file + " has a damaged base64 body: " + ex.getMessage(), ex);
        }
    }
}
